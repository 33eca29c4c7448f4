package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerUpperCases(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	tests := []struct {
		name, msg string
	}{
		{name: "chapter datagram", msg: "Hello, UDP!"},
		{name: "empty datagram", msg: ""},
		{name: "near the IPv4 maximum", msg: strings.Repeat("z", 65507)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("udp", srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
			if _, err := c.Write([]byte(tt.msg)); err != nil {
				t.Fatalf("write: %v", err)
			}
			buf := make([]byte, 70000)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if got, want := string(buf[:n]), strings.ToUpper(tt.msg); got != want {
				t.Errorf("reply: got %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), want, len(want))
			}
		})
	}
}

func TestServerShutdown(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	c, err := net.Dial("udp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	for i := range 3 {
		if _, err := fmt.Fprintf(c, "datagram %d", i); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("run returned %v after SIGINT, want nil (exit status 0)", err)
	}
	if diff := cmp.Diff("shut down; datagrams echoed: 3, dropped: 0\n", srv.Output()); diff != "" {
		t.Errorf("output after the first line (-want +got):\n%s", diff)
	}
}

// TestChapterPythonClient runs the chapter's UDP client, changed only in
// host and port, against this server.
func TestChapterPythonClient(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	got := progtest.Python(t, "udp_client.py", host, port)
	want := fmt.Sprintf("Received from ('%s', %s): HELLO, UDP!\n", host, port)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("python3 udp_client.py output (-want +got):\n%s", diff)
	}
}

func TestServerFlags(t *testing.T) {
	t.Parallel()
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, args := range [][]string{{"-bogus"}, {"-addr", busy.LocalAddr().String()}, {"-addr", "127.0.0.1:x"}} {
		out, err := progtest.RunClient(t, run, args...)
		if err == nil || out != "" {
			t.Errorf("run(%q) = %v with output %q, want an error and no output", args, err, out)
		}
	}
}
