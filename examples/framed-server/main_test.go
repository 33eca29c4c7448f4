package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/progtest"
	"github.com/framesock/framesock/frame"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, progtest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	return c
}

// TestServerWithChapterFunctions talks to the server with the chapter's
// own functions, frame.SendMessage and frame.RecvMessage.
func TestServerWithChapterFunctions(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	tests := []struct {
		name string
		msgs []string
	}{
		{name: "one message", msgs: []string{"hello"}},
		{name: "empty message", msgs: []string{""}},
		{name: "pipelined", msgs: []string{"one", "", "three", strings.Repeat("m", 100_000)}},
		{name: "largest allowed", msgs: []string{strings.Repeat("q", frame.DefaultMaxSize)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			sent := make(chan error, 1)
			go func() {
				for _, m := range tt.msgs {
					if err := frame.SendMessage(c, []byte(m)); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			for i, m := range tt.msgs {
				got, err := frame.RecvMessage(c)
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				if want := strings.ToUpper(m); string(got) != want {
					t.Errorf("reply %d: got %.20q (%d bytes), want %.20q (%d bytes)", i, got, len(got), want, len(want))
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServerRefusesOversize: a header above -max closes the connection
// before the server reads or buffers the payload; other clients go on.
func TestServerRefusesOversize(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0", "-max", "10")
	tests := []struct {
		name string
		send []byte
	}{
		{name: "one byte over", send: frameOf(strings.Repeat("a", 11))},
		{name: "an HTTP request", send: []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")},
		{name: "4 GiB claim", send: []byte{0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv.Addr)
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			// The server closes without a reply.
			if got, err := io.ReadAll(c); len(got) != 0 || (err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err)) {
				t.Errorf("after an oversize header: read %q, %v; want the connection closed with no reply", got, err)
			}
		})
	}
	// A message at the limit still works on a new connection.
	c := dial(t, srv.Addr)
	if err := frame.SendMessage(c, []byte("abcdefghij")); err != nil {
		t.Fatal(err)
	}
	if got, err := frame.RecvMessage(c); err != nil || string(got) != "ABCDEFGHIJ" {
		t.Errorf("message at the limit: got %q, %v; want \"ABCDEFGHIJ\"", got, err)
	}
}

func frameOf(s string) []byte {
	var b bytes.Buffer
	_ = frame.SendMessage(&b, []byte(s))
	return b.Bytes()
}

// isReset reports a connection reset: closing a socket with unread data
// sends RST (RFC 1122 section 4.2.2.13), which the client may see instead
// of EOF when its request was not all read.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestServerShutdown(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	c := dial(t, srv.Addr)
	for _, m := range []string{"a", "b"} {
		if err := frame.SendMessage(c, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, err := frame.RecvMessage(c); err != nil {
			t.Fatal(err)
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	// A clean close between messages is io.EOF.
	if _, err := frame.RecvMessage(c); !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: %v, want io.EOF", err)
	}
	_ = c.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v after SIGINT, want nil (exit status 0)", err)
	}
	if diff := cmp.Diff("shut down; connections: 1, messages echoed: 2\n", srv.Output()); diff != "" {
		t.Errorf("output after the first line (-want +got):\n%s", diff)
	}
}

// TestChapterPythonFraming runs the chapter's recv_exactly, send_message
// and recv_message against this server.
func TestChapterPythonFraming(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	got := progtest.Python(t, "framing.py", host, port)
	want := "14 HELLO, FRAMING\n0 \n1000000 XXXXXXXXXXXXXXXXXXXX\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("python3 framing.py output (-want +got):\n%s", diff)
	}
}
