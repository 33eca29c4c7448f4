package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReplyInTime(t *testing.T) {
	t.Parallel()
	// The server the tcp-server example runs.
	addr := echotest.Start(t, &echo.Server{Transform: echo.Upper}).String()
	got, err := progtest.RunClient(t, run, "-addr", addr, "-timeout", "10s")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if diff := cmp.Diff("HELLO, TIMEOUTS!\n", got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestTimesOut is the chapter's except socket.timeout branch on loopback:
// the server accepts (in the kernel backlog) and never answers.
func TestTimesOut(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name string
		args []string
	}{
		{name: "silent listener from the test", args: []string{"-addr", progtest.SilentListener(t).Addr().String()}},
		{name: "-silent", args: []string{"-silent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, err := progtest.RunClient(t, run, append(tt.args, "-timeout", timeout.String())...)
			elapsed := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("run = %v, want an error matching os.ErrDeadlineExceeded", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("run = %v, want a net.Error whose Timeout() is true", err)
			}
			if !strings.HasPrefix(err.Error(), "timed out after 200ms waiting for a reply from 127.0.0.1:") {
				t.Errorf("error %q does not say it timed out waiting for the reply", err)
			}
			if elapsed < timeout {
				t.Errorf("gave up after %v, before the %v timeout", elapsed, timeout)
			}
			if out != "" {
				t.Errorf("printed %q, want nothing", out)
			}
		})
	}
}

// TestCancelUnblocks checks the context half of the example: cancelling
// ctx (Ctrl-C in main) unblocks the read long before the timeout.
func TestCancelUnblocks(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := progtest.Serve(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // the whole request, then silence
		cancel()
	})
	start := time.Now()
	err := run(ctx, []string{"-addr", addr, "-timeout", "1h"}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > progtest.Timeout {
		t.Errorf("cancellation took %v", d)
	}
}

// TestChapterSettimeoutClient runs the chapter's settimeout client against
// the same silent server: it prints the chapter's message after its 5 s.
func TestChapterSettimeoutClient(t *testing.T) {
	t.Parallel()
	host, port, err := net.SplitHostPort(progtest.SilentListener(t).Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got := progtest.Python(t, "timeout_client.py", host, port)
	if diff := cmp.Diff("Connection timed out!\n", got); diff != "" {
		t.Errorf("python3 timeout_client.py output (-want +got):\n%s", diff)
	}
}
