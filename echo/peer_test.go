package echo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/faultnet"
)

// checkRemote fails unless the server logged, under msg, the peer want as a
// netip.AddrPort: an IPv4 client as a.b.c.d:port, never as the
// IPv4-mapped [::ffff:a.b.c.d]:port that a dual-stack socket reports. The
// value is checked, not its text, since *net.UDPAddr and *net.TCPAddr
// print a mapped address as IPv4 too, while a handler that reads the value
// (AddrPort, an allow-list) would see it mapped.
func checkRemote(t *testing.T, rec *recorder, msg string, want netip.AddrPort) {
	t.Helper()
	got := rec.attrs(msg, "remote")
	if len(got) != 1 {
		t.Fatalf("%d %q records with a remote, want 1: %v", len(got), msg, got)
	}
	ap, ok := got[0].(netip.AddrPort)
	if !ok || ap != want || !ap.Addr().Is4() {
		t.Errorf("remote = %v (%T), want netip.AddrPort %v", got[0], got[0], want)
	}
}

// dualPacket listens on a dual-stack UDP socket made outside echo, in
// mode, or skips.
func dualPacket(t *testing.T, mode dualstack.Mode) net.PacketConn {
	t.Helper()
	lc := dualstack.ListenConfig{Modes: mode}
	pc, err := lc.ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Skipf("skipping, %v unavailable here: %v", mode, err)
	}
	return pc
}

// TestPacketServerLogsPeersUnmapped: an IPv4 client of a dual-stack
// PacketServer is logged as a.b.c.d:port on every path: the batched one
// (Linux) on the single socket Listen made, the plain loop through a
// dual-stack PacketConn made elsewhere on one socket or two, and the loop
// through ReadFrom's net.Addr.
func TestPacketServerLogsPeersUnmapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		listen  func(*testing.T, *echo.PacketServer) net.PacketConn
		batched bool // on Linux
	}{
		{name: "Listen, dual-stack", batched: true, listen: func(t *testing.T, s *echo.PacketServer) net.PacketConn {
			s.Address, s.DualStack = ":0", true
			pc, err := s.Listen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("mode %v", pc.(*dualstack.PacketConn).Mode())
			return pc
		}},
		{name: "SingleSocket made elsewhere", listen: func(t *testing.T, _ *echo.PacketServer) net.PacketConn {
			return dualPacket(t, dualstack.SingleSocket)
		}},
		{name: "TwoSockets made elsewhere", listen: func(t *testing.T, _ *echo.PacketServer) net.PacketConn {
			return dualPacket(t, dualstack.TwoSockets)
		}},
		{name: "SingleSocket through ReadFrom", listen: func(t *testing.T, _ *echo.PacketServer) net.PacketConn {
			return wrappedPacketConn{dualPacket(t, dualstack.SingleSocket)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := new(recorder)
			s := &echo.PacketServer{MaxDatagramSize: 16, Logger: slog.New(rec)}
			pc := tt.listen(t, s)
			served := make(chan error, 1)
			go func() { served <- s.Serve(pc) }()
			defer func() {
				shutdown(t, s)
				if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
					t.Errorf("Serve = %v, want ErrServerClosed", err)
				}
			}()

			port := pc.LocalAddr().(*net.UDPAddr).Port
			c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Too large: dropped and logged. The reply to the next
			// datagram, read after it, comes after that log line.
			if _, err := c.Write(pattern[:17]); err != nil {
				t.Fatal(err)
			}
			if _, err := udpRoundTrip(c, []byte("ping"), []byte("ping"), nil, make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
			checkRemote(t, rec, "datagram dropped", c.LocalAddr().(*net.UDPAddr).AddrPort())
			batched := echo.BatchReads(s) > 0
			if want := tt.batched && runtime.GOOS == "linux"; batched != want {
				t.Errorf("served through batched reads: %v, want %v", batched, want)
			}
		})
	}
}

// TestServerLogsPeersUnmapped: an IPv4 client of a dual-stack Server is
// logged as a.b.c.d:port whether its connection is read through its raw
// socket (the listener of Listen) or through net.Conn (a wrapper of a
// dual-stack listener made elsewhere).
func TestServerLogsPeersUnmapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		listen func(*testing.T, *echo.Server) net.Listener
	}{
		{name: "Listen, dual-stack", listen: func(t *testing.T, s *echo.Server) net.Listener {
			s.Address, s.DualStack = ":0", true
			l, err := s.Listen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("mode %v", l.(*dualstack.Listener).Mode())
			return l
		}},
		{name: "wrapped connections", listen: func(t *testing.T, _ *echo.Server) net.Listener {
			lc := dualstack.ListenConfig{Modes: dualstack.SingleSocket}
			l, err := lc.Listen(context.Background(), "tcp", ":0")
			if err != nil {
				t.Skipf("skipping, SingleSocket unavailable here: %v", err)
			}
			// Without faults, faultnet's wrapper only hides the
			// *net.TCPConn: the server serves it through net.Conn.
			return faultnet.WrapListener(l)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := new(recorder)
			s := &echo.Server{Framed: true, Logger: slog.New(rec)}
			l := tt.listen(t, s)
			served := make(chan error, 1)
			go func() { served <- s.Serve(l) }()
			defer func() {
				shutdown(t, s)
				if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
					t.Errorf("Serve = %v, want ErrServerClosed", err)
				}
			}()

			port := l.Addr().(*net.TCPAddr).Port
			c := dial(t, "tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
			// A header claiming 4 GiB - 1: a protocol error, logged
			// before the server closes the connection.
			if _, err := c.Write([]byte{0xff, 0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
				t.Fatalf("reading to the close: %v", err)
			}
			checkRemote(t, rec, "protocol error", c.LocalAddr().(*net.TCPAddr).AddrPort())
		})
	}
}
