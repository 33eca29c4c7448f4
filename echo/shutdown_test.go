package echo_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"go.uber.org/goleak"
)

// streamer is a client that sends messages (sizes 1 B..16 KiB, a seeded
// sequence) while another goroutine reads and checks the replies, until
// the server closes the connection. With a window, the sender stays at
// most that many messages ahead of the replies, so 100 streamers share
// the CPU fairly; without one it sends until the server stops reading.
type streamer struct {
	c        net.Conn
	framed   bool
	segs     []segment
	window   chan struct{} // a token per message in flight; nil: no window
	done     chan struct{} // closed when check returns
	received atomic.Int64  // reply bytes (raw) or messages (framed) checked
	replied  chan struct{} // closed at the first reply
}

func newStreamer(t *testing.T, addr net.Addr, framed bool, id, window int) *streamer {
	r := rand.New(rand.NewPCG(9, uint64(id)))
	segs := make([]segment, 1<<12) // more than the test sends before it stops
	for i := range segs {
		n := 1 + r.IntN(16<<10)
		segs[i] = segment{off: r.IntN(len(pattern) - n), n: n}
	}
	s := &streamer{c: dial(t, "tcp", addr), framed: framed, segs: segs, done: make(chan struct{}), replied: make(chan struct{})}
	if window > 0 {
		s.window = make(chan struct{}, window)
	}
	return s
}

// send writes until a write fails (the connection was closed) or check
// returns.
func (s *streamer) send() {
	var hdr [4]byte
	for _, sg := range s.segs {
		if s.window != nil {
			select {
			case s.window <- struct{}{}:
			case <-s.done:
				return
			}
		}
		p := pattern[sg.off : sg.off+sg.n]
		var err error
		if s.framed {
			binary.BigEndian.PutUint32(hdr[:], uint32(sg.n))
			bufs := net.Buffers{hdr[:], p}
			_, err = bufs.WriteTo(s.c)
		} else {
			_, err = s.c.Write(p)
		}
		if err != nil {
			return
		}
	}
}

// check reads replies until EOF, checks each against Upper of what was
// sent, in order, and then closes the connection. A framed reply cut
// short is an error: the server must finish a reply it starts.
func (s *streamer) check() error {
	defer close(s.done)
	defer s.c.Close()
	ack := func() {
		if s.window != nil {
			<-s.window
		}
	}
	buf := make([]byte, 64<<10)
	seg, pos := 0, 0
	first := true
	for {
		var got []byte
		var err error
		if s.framed {
			got, err = readFrame(s.c)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reply %d: %w", seg, err)
			}
			sg := s.segs[seg]
			if string(got) != string(upperPattern[sg.off:sg.off+sg.n]) {
				return fmt.Errorf("reply %d differs from Upper(request %d)", seg, seg)
			}
			seg++
			ack()
			s.received.Add(1)
		} else {
			n, rerr := s.c.Read(buf)
			got, err = buf[:n], rerr
			s.received.Add(int64(n))
			for len(got) > 0 {
				sg := s.segs[seg]
				want := upperPattern[sg.off+pos : sg.off+sg.n]
				k := min(len(want), len(got))
				if string(got[:k]) != string(want[:k]) {
					return fmt.Errorf("message %d offset %d differs from Upper(request)", seg, pos)
				}
				got, pos = got[k:], pos+k
				if pos == sg.n {
					seg, pos = seg+1, 0
					ack()
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if first && s.received.Load() > 0 {
			first = false
			close(s.replied)
		}
	}
}

// TestShutdownGraceful shuts a server down under 100 streaming clients and
// one that has stopped reading. Shutdown stops accepting at once, waits
// while the laggard holds replies back, and returns nil once every byte
// or message the server read has been echoed; nothing leaks, and the port
// can be bound again.
//
// Not parallel: goleak.VerifyNone needs the process to itself.
func TestShutdownGraceful(t *testing.T) {
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			testShutdownGraceful(t, framed)
			goleak.VerifyNone(t)
		})
	}
}

func testShutdownGraceful(t *testing.T, framed bool) {
	const clients = 100
	s := &echo.Server{Framed: framed, Transform: echo.Upper}
	l, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr()
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	var checks group
	var streamers []*streamer
	for id := range clients {
		streamers = append(streamers, newStreamer(t, addr, framed, id, 4))
	}
	// The laggard sends without a window and reads only after Shutdown
	// began, so the server is stuck writing to it meanwhile.
	laggard := newStreamer(t, addr, framed, clients, 0)
	streamers = append(streamers, laggard)
	for _, st := range streamers {
		go st.send()
		if st != laggard {
			checks.Go(st.check)
		}
	}
	waitFor(t, "the laggard to fill its buffers", func() bool { return s.Stats().BytesIn > 1<<20 })
	for _, st := range streamers[:clients] {
		<-st.replied
	}

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// New connections are refused while Shutdown still waits for the
	// laggard.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", addr.String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a client still had replies to read", err)
	default:
	}
	checks.Go(laggard.check)
	if err := checks.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}

	// Everything the server read was echoed and reached a client.
	var received int64
	for _, st := range streamers {
		received += st.received.Load()
	}
	stats := s.Stats()
	if framed {
		if stats.MessagesIn != uint64(received) || stats.MessagesOut != uint64(received) {
			t.Errorf("server read %d messages, wrote %d; clients got %d", stats.MessagesIn, stats.MessagesOut, received)
		}
	} else if stats.BytesIn != uint64(received) || stats.BytesOut != uint64(received) {
		t.Errorf("server read %d bytes, wrote %d; clients got %d", stats.BytesIn, stats.BytesOut, received)
	}
	if stats.ActiveConns != 0 {
		t.Errorf("%d connections still active", stats.ActiveConns)
	}
	if err := s.Serve(l); !errors.Is(err, echo.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	rebind(t, addr)
	t.Logf("%d clients got %d %s back", clients+1, received, map[bool]string{false: "bytes", true: "messages"}[framed])
}

// rebind checks that addr's port is free again.
func rebind(t *testing.T, addr net.Addr) {
	t.Helper()
	l, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("port not free after shutdown: %v", err)
	}
	l.Close()
}

// TestShutdownDeadline: when ctx ends before a connection finishes (its
// client never reads), Shutdown closes it and returns ctx's error, and
// nothing is left behind.
func TestShutdownDeadline(t *testing.T) {
	s := &echo.Server{}
	l, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	c := dial(t, "tcp", l.Addr())
	// Push until the server is stuck writing replies nobody reads: until
	// a write of ours times out, the buffers both ways being full. (A
	// fixed amount may fit in the buffers, which autotuning can make tens
	// of MiB; the server then echoes it all and waits for input with
	// nothing in flight, and Shutdown has nothing to wait for.)
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Write(chunk); errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil || i == 10_000 {
			t.Fatalf("filling the buffers: %v after %d writes", err, i)
		}
	}
	// The server has read more than it could echo: its write waits.
	waitFor(t, "the server's write to wait", func() bool { st := s.Stats(); return st.BytesIn > st.BytesOut })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	// The client finds its connection closed: reading drains the
	// replies sent before the close and then fails or ends, no timeout.
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("client's connection still open after Shutdown gave up: %v", err)
	}
	if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	waitFor(t, "handlers to exit", func() bool { return s.Stats().ActiveConns == 0 })
	c.Close()
	goleak.VerifyNone(t)
	rebind(t, l.Addr())
}
