package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upperServer starts the server the tcp-server example runs (Go forbids
// importing that main package; the e2e test pairs the two programs).
func upperServer(t *testing.T) string {
	return echotest.Start(t, &echo.Server{Transform: echo.Upper}).String()
}

func TestClientPrintsReply(t *testing.T) {
	t.Parallel()
	addr := upperServer(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "default message", args: nil, want: "HELLO, TCP!\n"},
		{name: "own message", args: []string{"-msg", "hello, world"}, want: "HELLO, WORLD\n"},
		{name: "large message", args: []string{"-msg", strings.Repeat("ab", 100_000)}, want: strings.Repeat("AB", 100_000) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := progtest.RunClient(t, run, append([]string{"-addr", addr}, tt.args...)...)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientCannotConnect(t *testing.T) {
	t.Parallel()
	addr := progtest.ClosedAddr(t)
	out, err := progtest.RunClient(t, run, "-addr", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("run = %v, want an error matching ECONNREFUSED", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "cannot connect to "+addr) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line starting %q", msg, "cannot connect to "+addr)
	}
	if out != "" {
		t.Errorf("printed %q, want nothing", out)
	}
}

func TestClientGivesUp(t *testing.T) {
	t.Parallel()
	silent := progtest.SilentListener(t)
	start := time.Now()
	_, err := progtest.RunClient(t, run, "-addr", silent.Addr().String(), "-timeout", "100ms")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("run = %v, want context.DeadlineExceeded wrapping os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v, before the 100ms timeout", d)
	}
}

// TestClientCancel checks that cancelling the context (SIGINT in main)
// unblocks a client waiting for a reply.
func TestClientCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The server reads the whole request, then cancels the client's
	// context instead of answering.
	addr := progtest.Serve(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
		cancel()
	})
	err := run(ctx, []string{"-addr", addr}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
}
