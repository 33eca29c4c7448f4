package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exchange is the chapter's client: connect, sendall, then read the reply
// until the server closes (after our half-close).
func exchange(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, progtest.Timeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("close write: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(got)
}

func TestServerUpperCases(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	tests := []struct {
		name, msg, want string
	}{
		{name: "chapter request", msg: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", want: "GET / HTTP/1.1\r\nHOST: EXAMPLE.COM\r\n\r\n"},
		{name: "ASCII only, like bytes.upper", msg: "héllo wörld 123", want: "HéLLO WöRLD 123"},
		{name: "empty", msg: "", want: ""},
		{name: "larger than a socket read", msg: strings.Repeat("abc", 200_000), want: strings.Repeat("ABC", 200_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := exchange(t, srv.Addr, tt.msg)
			if got != tt.want {
				t.Errorf("reply to %.40q: got %.40q (%d bytes), want %.40q (%d bytes)", tt.msg, got, len(got), tt.want, len(tt.want))
			}
		})
	}
}

func TestServerManyClientsAtOnce(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	const clients = 20
	// Every client connects before any sends, so the server must hold them
	// all open at once: the chapter's one-at-a-time loop could not.
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", srv.Addr, progtest.Timeout)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
		conns[i] = c
	}
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("client %d", i)
			if _, err := io.WriteString(c, msg); err != nil {
				errs[i] = err
				return
			}
			_ = c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err == nil && string(got) != strings.ToUpper(msg) {
				err = fmt.Errorf("got %q, want %q", got, strings.ToUpper(msg))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

// TestServerShutdownIsGraceful checks the contract behind exit status 0:
// cancelling run (SIGINT) with a client still connected lets that client
// read its reply and then EOF, and run returns nil.
func TestServerShutdownIsGraceful(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	c, err := net.DialTimeout("tcp", srv.Addr, progtest.Timeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	if _, err := io.WriteString(c, "before shutdown"); err != nil {
		t.Fatalf("write: %v", err)
	}
	// Read the reply first, so the server has certainly read our bytes.
	buf := make([]byte, len("BEFORE SHUTDOWN"))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read reply: %v", err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	// The server half-closes: we read EOF with the connection still open,
	// and the server waits for us to close before it is done.
	if n, err := c.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: read %d bytes, %v; want 0, EOF", n, err)
	}
	_ = c.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v after SIGINT, want nil (exit status 0)", err)
	}
	out := srv.Output()
	for _, want := range []string{"connection from 127.0.0.1:", "shut down; connections: 1, bytes in: 15, bytes out: 15\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output after the first line lacks %q:\n%s", want, out)
		}
	}
}

func TestServerFlags(t *testing.T) {
	t.Parallel()
	busy := progtest.SilentListener(t) // a port that is certainly taken
	tests := []struct {
		name    string
		args    []string
		wantErr error // nil: any non-nil error
	}{
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp},
		{name: "unknown flag", args: []string{"-bogus"}},
		{name: "port in use", args: []string{"-addr", busy.Addr().String()}},
		{name: "bad address", args: []string{"-addr", "127.0.0.1:notaport"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := progtest.RunClient(t, run, tt.args...)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("run(%q) = %v, want an error matching %v", tt.args, err, tt.wantErr)
			}
			if diff := cmp.Diff("", out); diff != "" {
				t.Errorf("run(%q) printed on stdout (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestChapterPythonClients runs the chapter's own TCP client and its
// settimeout client, changed only in host and port, against this server.
func TestChapterPythonClients(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, script, want string
	}{
		// print(response.decode()) adds a newline after the reply's own CRLFs.
		{name: "TCP client", script: "tcp_client.py", want: "GET / HTTP/1.1\r\nHOST: EXAMPLE.COM\r\n\r\n\n"},
		// The reply comes well within settimeout(5.0): nothing printed.
		{name: "settimeout client", script: "timeout_client.py", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := progtest.Python(t, tt.script, host, port)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("python3 %s output (-want +got):\n%s", tt.script, diff)
			}
		})
	}
}
