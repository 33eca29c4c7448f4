package echo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/framesock/framesock/echo"
)

// tracker is a Server or PacketServer as TestListenCloseCycles drives it;
// S is its socket type.
type tracker[S io.Closer] struct {
	listen   func(context.Context) (S, error)
	serve    func(S) error
	tracked  func() int
	shutdown func(context.Context) error
}

// TestListenCloseCycles: a server stops tracking a socket from Listen once
// Serve has served it to the end, or once it was closed without being
// served (swept at the next Listen), so that a program that listens and
// closes in a loop does not grow the server; Shutdown leaves none.
func TestListenCloseCycles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		address string
		dual    bool
	}{
		{name: "loopback", address: "127.0.0.1:0"},
		// dualstack's sockets, which echo finds closed through
		// SyscallConns.
		{name: "dual-stack", address: ":0", dual: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/tcp", func(t *testing.T) {
			t.Parallel()
			testListenCloseCycles(t, func() tracker[net.Listener] {
				s := &echo.Server{Address: tt.address, DualStack: tt.dual}
				return tracker[net.Listener]{s.Listen, s.Serve, func() int { return echo.TrackedSockets(s) }, s.Shutdown}
			})
		})
		t.Run(tt.name+"/udp", func(t *testing.T) {
			t.Parallel()
			testListenCloseCycles(t, func() tracker[net.PacketConn] {
				s := &echo.PacketServer{Address: tt.address, DualStack: tt.dual}
				return tracker[net.PacketConn]{s.Listen, s.Serve, func() int { return echo.TrackedPacketSockets(s) }, s.Shutdown}
			})
		})
	}
}

func testListenCloseCycles[S io.Closer](t *testing.T, newServer func() tracker[S]) {
	const cycles = 50
	t.Run("served to the end", func(t *testing.T) {
		t.Parallel()
		s := newServer()
		for i := range cycles {
			sock, err := s.listen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.serve(sock) }()
			sock.Close() // Serve ends with its next Accept or read
			if err := <-served; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("cycle %d: Serve = %v, want net.ErrClosed", i, err)
			}
			if n := s.tracked(); n != 0 {
				t.Fatalf("after %d cycles, %d sockets tracked, want 0", i+1, n)
			}
		}
		shutdown(t, s)
	})
	t.Run("closed unserved", func(t *testing.T) {
		t.Parallel()
		s := newServer()
		for i := range cycles {
			sock, err := s.listen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sock.Close()
			if n := s.tracked(); n != 1 {
				t.Fatalf("after %d cycles, %d sockets tracked, want 1 (the one just closed)", i+1, n)
			}
		}
		shutdown(t, s)
		if n := s.tracked(); n != 0 {
			t.Errorf("after Shutdown, %d sockets tracked, want 0", n)
		}
	})
}

func (tr tracker[S]) Shutdown(ctx context.Context) error { return tr.shutdown(ctx) }
