package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientPrintsReply(t *testing.T) {
	t.Parallel()
	// The server the udp-server example runs; the e2e test pairs the
	// programs themselves.
	addr := echotest.StartPacket(t, &echo.PacketServer{Transform: echo.Upper}).String()
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
	out, err := progtest.RunClient(t, run, "-addr", addr, "-tries", "5")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("run = %v, want an error matching ECONNREFUSED", err)
	}
	if strings.Contains(err.Error(), "\n") || out != "" {
		t.Errorf("error %q, output %q: want a one-line error and no output", err, out)
	}
}

// TestClientResends: a server that loses the first datagrams (as a real
// network may) still gets an answer out of the client, which resends.
func TestClientResends(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	served := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				served <- err
				return
			}
			if i < 2 {
				continue // lost
			}
			_, err = pc.WriteTo(bytes.ToUpper(buf[:n]), from)
			served <- err
			return
		}
	}()
	addr := pc.LocalAddr().String()
	got, err := progtest.RunClient(t, run, "-addr", addr, "-wait", "50ms", "-tries", "50")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	// Two datagrams are lost, so the client resends at least twice; a
	// loaded machine may delay the answer to the third past its wait and
	// cause more resends, which are just as correct.
	lines := strings.SplitAfter(got, "\n")
	lines = lines[:len(lines)-1] // after the final newline
	if len(lines) < 3 ||
		lines[0] != "no reply within 50ms, sending again (try 2 of 50)\n" ||
		lines[1] != "no reply within 50ms, sending again (try 3 of 50)\n" ||
		lines[len(lines)-1] != "received from "+addr+": HELLO, UDP!\n" {
		t.Errorf("output:\n%s\nwant two resends, maybe more, then the reply", got)
	}
	for _, l := range lines[2 : len(lines)-1] {
		if !strings.HasPrefix(l, "no reply within 50ms, sending again (try ") {
			t.Errorf("unexpected line %q in:\n%s", l, got)
		}
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestClientGivesUp: a socket that is bound but never answers leaves the
// client to give up after its last try.
func TestClientGivesUp(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	out, err := progtest.RunClient(t, run, "-addr", pc.LocalAddr().String(), "-wait", "20ms", "-tries", "2")
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "after 2 tries 20ms apart") {
		t.Fatalf("run = %v, want os.ErrDeadlineExceeded after 2 tries", err)
	}
	if diff := cmp.Diff("no reply within 20ms, sending again (try 2 of 2)\n", out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestClientCancel: Ctrl-C (cancelling ctx) unblocks the wait at once.
func TestClientCancel(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Cancel once the request has arrived, so the client is waiting.
		if _, _, err := pc.ReadFrom(make([]byte, 64)); err == nil {
			cancel()
		}
	}()
	err = run(ctx, []string{"-addr", pc.LocalAddr().String(), "-wait", "1h"}, io.Discard)
	cancel()
	_ = pc.Close() // ends the reader even if run failed before sending
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want context.Canceled", err)
	}
}
