package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientPrintsReply(t *testing.T) {
	t.Parallel()
	// The server the udp-server example runs; the e2e test pairs the
	// programs themselves.
	addr := echo.StartPacket(t, &echo.PacketServer{Transform: echo.Upper}).String()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "default message", want: fmt.Sprintf("received from %s: HELLO, UDP!\n", addr)},
		{name: "own message", args: []string{"-msg", "datagram"}, want: fmt.Sprintf("received from %s: DATAGRAM\n", addr)},
		// Far beyond the chapter's recvfrom(1024), short of the IPv4 limit.
		{name: "large datagram", args: []string{"-msg", strings.Repeat("u", 60_000)}, want: fmt.Sprintf("received from %s: %s\n", addr, strings.Repeat("U", 60_000))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := progtest.RunClient(t, run, append([]string{"-addr", addr}, tt.args...)...)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%.300s", diff)
			}
		})
	}
}

// TestClientNoServer: with nothing bound to the port, the kernel answers
// with ICMP port unreachable, which the connected socket reports.
func TestClientNoServer(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := progtest.RunClient(t, run, "-addr", addr, "-timeout", "5s")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("run = %v, want an error matching ECONNREFUSED", err)
	}
	if strings.Contains(err.Error(), "\n") || out != "" {
		t.Errorf("error %q, output %q: want a one-line error and no output", err, out)
	}
}

// TestClientTimeout: a socket that is bound but never answers leaves the
// client to its deadline.
func TestClientTimeout(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, err = progtest.RunClient(t, run, "-addr", pc.LocalAddr().String(), "-timeout", "100ms")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("run = %v, want context.DeadlineExceeded wrapping os.ErrDeadlineExceeded", err)
	}
}
