package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
)

// maxUDP is the largest payload of a UDP datagram over IPv4: 65,535 bytes
// of IP datagram minus a 20-byte IP header and an 8-byte UDP header.
const maxUDP = 65507

// udpRoundTrip sends p and waits for a reply equal to want, sending again
// after a silence (UDP may drop either datagram; the kernel drops when a
// receive buffer is full). It returns how many sends it took.
func udpRoundTrip(c *net.UDPConn, p, want, prev []byte, buf []byte) (int, error) {
	const tries = 50
	for try := 1; try <= tries; try++ {
		if _, err := c.Write(p); err != nil {
			return try, err
		}
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		for {
			n, err := c.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // lost: send again
			}
			if err != nil {
				return try, err
			}
			switch {
			case bytes.Equal(buf[:n], want):
				return try, nil
			case prev != nil && bytes.Equal(buf[:n], prev):
				// A late reply to the previous datagram, sent twice.
			default:
				return try, fmt.Errorf("reply of %d bytes is neither Upper(request) (%d bytes) nor a late duplicate", n, len(want))
			}
		}
	}
	return tries, fmt.Errorf("no reply after %d sends", tries)
}

// TestLoadUDP runs 50 clients at once, each sending 200 datagrams of 1 B
// to 65,507 bytes (the IPv4 maximum), and checks every reply byte and
// length: nothing is truncated.
func TestLoadUDP(t *testing.T) {
	const clients = 50
	msgs := loadScale(200)
	s := &echo.PacketServer{Transform: echo.Upper}
	addr := echotest.StartPacket(t, s)
	var g group
	for id := range clients {
		c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		g.Go(func() error {
			r := rand.New(rand.NewPCG(7, uint64(id)))
			buf := make([]byte, maxUDP+1)
			var prev []byte
			for i := range msgs {
				n := 1 + r.IntN(maxUDP)
				if i == 0 {
					n = maxUDP // the largest always goes through
				}
				off := r.IntN(len(pattern) - n)
				want := upperPattern[off : off+n]
				if _, err := udpRoundTrip(c, pattern[off:off+n], want, prev, buf); err != nil {
					return fmt.Errorf("client %d datagram %d: %w", id, i, err)
				}
				prev = want
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	// A client can read a reply before the server has counted it.
	waitFor(t, "replies counted", func() bool { return s.Stats().MessagesOut >= clients*uint64(msgs) })
	st := s.Stats()
	if st.Dropped != 0 {
		t.Errorf("%d datagrams dropped, want none", st.Dropped)
	}
	t.Logf("%d datagrams echoed (%d sent more than once), %.1f MB", st.MessagesOut, st.MessagesOut-clients*uint64(msgs), float64(st.BytesOut)/1e6)
}

// wrappedPacketConn hides the *net.UDPConn, so the server takes its plain
// ReadFrom/WriteTo loop, which platforms without recvmmsg use.
type wrappedPacketConn struct{ net.PacketConn }

func TestPacketServer(t *testing.T) {
	t.Parallel()
	boom := func(p []byte) []byte {
		if string(p) == "boom" {
			panic("transform exploded")
		}
		return echo.Upper(p)
	}
	tests := []struct {
		name    string
		network string
		wrap    bool // plain loop instead of batches (Linux)
	}{
		{name: "batched", network: "udp4"},
		{name: "plain loop", network: "udp4", wrap: true},
		{name: "ipv6", network: "udp6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			s := &echo.PacketServer{Network: tt.network, MaxDatagramSize: 1000, Transform: boom, Logger: logger}
			pc, err := s.Listen(context.Background())
			if tt.network == "udp6" && err != nil {
				t.Skipf("skipping: IPv6 unavailable: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			port := pc.LocalAddr().(*net.UDPAddr).Port
			served := make(chan error, 1)
			if tt.wrap {
				go func() { served <- s.Serve(wrappedPacketConn{pc}) }()
			} else {
				go func() { served <- s.Serve(pc) }()
			}
			host := "127.0.0.1"
			if tt.network == "udp6" {
				host = "::1"
			}
			c, err := net.Dial(tt.network, net.JoinHostPort(host, fmt.Sprint(port)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			uc := c.(*net.UDPConn)
			buf := make([]byte, maxUDP+1)
			roundTrip := func(msg []byte) {
				t.Helper()
				if _, err := udpRoundTrip(uc, msg, upper(msg), nil, buf); err != nil {
					t.Fatalf("%d-byte datagram: %v", len(msg), err)
				}
			}
			roundTrip([]byte("hello"))
			roundTrip(pattern[:1000]) // exactly MaxDatagramSize
			// Too large and a panicking transform: dropped, counted,
			// logged; the next datagram is served.
			for _, p := range [][]byte{pattern[:1001], pattern[:maxUDP], []byte("boom")} {
				if _, err := uc.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			roundTrip([]byte("after"))
			st := s.Stats()
			if st.Dropped != 3 || st.Panics != 1 {
				t.Errorf("dropped %d, panics %d; want 3, 1", st.Dropped, st.Panics)
			}
			if n := len(logs.lines("level=WARN", "datagram dropped", "larger than MaxDatagramSize")); n != 1 {
				t.Errorf("%d oversize log lines for 2 oversize datagrams in a second, want 1; log:\n%s", n, logs)
			}
			if n := len(logs.lines("level=ERROR", "transform panicked", "stack=")); n != 1 {
				t.Errorf("%d panic log lines, want 1; log:\n%s", n, logs)
			}
			// The server reads in batches on Linux, unless the socket is
			// hidden behind a wrapper.
			batched := echo.BatchReads(s) > 0
			if want := runtime.GOOS == "linux" && !tt.wrap; batched != want {
				t.Errorf("served through batched reads: %v, want %v", batched, want)
			}
			shutdown(t, s)
			if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("Serve = %v, want ErrServerClosed", err)
			}
			if err := s.Serve(pc); !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
			}
		})
	}
}

// TestPacketServerDualStack sends from IPv4 and IPv6 to one dual-stack
// socket; replies to IPv4 clients go to their IPv4-mapped address, which
// the batched path must write correctly on an AF_INET6 socket.
func TestPacketServerDualStack(t *testing.T) {
	t.Parallel()
	hosts := loopbacksOrSkip(t, "udp")
	s := &echo.PacketServer{Address: ":0", DualStack: true}
	pc, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()
	defer func() {
		shutdown(t, s)
		<-served
	}()
	dp, ok := pc.(*dualstack.PacketConn)
	if !ok {
		t.Fatalf("Listen returned %T, want *dualstack.PacketConn", pc)
	}
	// Both loopbacks work, so both families must be served.
	if mode := dp.Mode(); dualstack.BothFamilies&mode == 0 {
		t.Fatalf("mode %v, want one of %v", mode, dualstack.BothFamilies)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	for _, host := range hosts {
		c, err := net.Dial("udp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			t.Fatalf("client on %s: %v", host, err)
		}
		defer c.Close()
		buf := make([]byte, 64)
		if _, err := udpRoundTrip(c.(*net.UDPConn), []byte("hi "+host), []byte("hi "+host), nil, buf); err != nil {
			t.Errorf("client on %s: %v", host, err)
		}
	}
}

// TestPacketServerClose: Close ends Serve with ErrServerClosed and closes
// the socket Listen made, so nothing can answer on its port. The socket is
// checked itself (reading it fails with net.ErrClosed) and, where the
// kernel says so at once, through a client: on Linux a datagram to a
// closed loopback port draws an ICMP port unreachable, which a connected
// UDP socket reports as ECONNREFUSED on its next read (udp(7), ip(7)).
func TestPacketServerClose(t *testing.T) {
	t.Parallel()
	s := &echo.PacketServer{Address: "127.0.0.1:0"}
	pc, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	if _, err := udpRoundTrip(c.(*net.UDPConn), []byte("before"), []byte("before"), nil, buf); err != nil {
		t.Fatalf("before Close: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if !errors.Is(err, echo.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve still running after Close")
	}
	pc.SetReadDeadline(time.Now().Add(testTimeout)) // bounds the read if the socket were open
	if _, _, err := pc.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("reading the server's socket after Close: %v, want net.ErrClosed", err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if _, err := c.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := c.Read(buf); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("client read after Close: %d bytes, %v; want ECONNREFUSED", n, err)
	}
}
