package program_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestServerFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantAddr  string
		wantGrace time.Duration
	}{
		{name: "defaults", args: nil, wantAddr: ":9000", wantGrace: 10 * time.Second},
		{name: "set", args: []string{"-addr", "127.0.0.1:0", "-grace", "1s"}, wantAddr: "127.0.0.1:0", wantGrace: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := program.NewServer("tcp-server", ":9000")
			if err := cmd.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if cmd.Addr != tt.wantAddr || cmd.Grace != tt.wantGrace {
				t.Errorf("-addr %q, -grace %v; want %q, %v", cmd.Addr, cmd.Grace, tt.wantAddr, tt.wantGrace)
			}
		})
	}
}

// TestListening: the first line is one that progtest, the tests' reader
// of it, accepts, with the address as bound.
func TestListening(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	bound := &net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}
	program.Listening(&out, bound)
	if diff := cmp.Diff("listening on [::]:9000\n", out.String()); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if addr, err := progtest.ParseListening(out.String()); err != nil || addr != "[::]:9000" {
		t.Errorf("ParseListening = %q, %v; want [::]:9000", addr, err)
	}
}

// fakeServer stands in for an echo server: Serve blocks until Shutdown,
// which takes as long as its connections (until finished is closed), or
// until its context ends.
type fakeServer struct {
	closed      chan struct{} // closed by Shutdown
	finished    chan struct{} // closed when the connections are done
	shutdownCtx error         // ctx.Err() as Shutdown was called
	hasDeadline bool
}

func newFakeServer(finished bool) *fakeServer {
	s := &fakeServer{closed: make(chan struct{}), finished: make(chan struct{})}
	if finished {
		close(s.finished)
	}
	return s
}

func (s *fakeServer) Serve() error {
	<-s.closed
	return echo.ErrServerClosed
}

func (s *fakeServer) Shutdown(ctx context.Context) error {
	s.shutdownCtx = ctx.Err()
	_, s.hasDeadline = ctx.Deadline()
	close(s.closed)
	select {
	case <-s.finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestServe: Serve runs until its context ends, then gives Shutdown a
// fresh context bounded by -grace, and returns nil only after a clean
// shutdown.
func TestServe(t *testing.T) {
	t.Parallel()
	t.Run("clean shutdown", func(t *testing.T) {
		t.Parallel()
		cmd := program.NewServer("tcp-server", ":9000")
		srv := newFakeServer(true)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the signal has come
		if err := cmd.Serve(ctx, srv.Serve, srv.Shutdown); err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
		if srv.shutdownCtx != nil || !srv.hasDeadline {
			t.Errorf("Shutdown's context: Err %v, deadline %v; want a live context with the grace period as deadline", srv.shutdownCtx, srv.hasDeadline)
		}
	})
	t.Run("grace runs out", func(t *testing.T) {
		t.Parallel()
		cmd := program.NewServer("tcp-server", ":9000")
		cmd.Grace = time.Millisecond
		srv := newFakeServer(false) // a client that never finishes
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := cmd.Serve(ctx, srv.Serve, srv.Shutdown)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "shutdown: cut short after 1ms: ") {
			t.Fatalf("Serve = %v, want \"shutdown: cut short after 1ms: \" and context.DeadlineExceeded", err)
		}
	})
	t.Run("listener fails", func(t *testing.T) {
		t.Parallel()
		cmd := program.NewServer("tcp-server", ":9000")
		broken := errors.New("accept: too many open files")
		shutdown := func(context.Context) error {
			t.Error("Shutdown called, though nothing asked to stop")
			return nil
		}
		// ctx never ends: only serve's own failure can end Serve.
		err := cmd.Serve(context.Background(), func() error { return broken }, shutdown)
		if !errors.Is(err, broken) {
			t.Fatalf("Serve = %v, want %v", err, broken)
		}
	})
	t.Run("listener fails during shutdown", func(t *testing.T) {
		t.Parallel()
		cmd := program.NewServer("tcp-server", ":9000")
		broken := errors.New("accept: connection aborted")
		closed := make(chan struct{})
		serve := func() error {
			<-closed
			return broken
		}
		shutdown := func(context.Context) error {
			close(closed)
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := cmd.Serve(ctx, serve, shutdown); !errors.Is(err, broken) {
			t.Fatalf("Serve = %v, want %v", err, broken)
		}
	})
}
