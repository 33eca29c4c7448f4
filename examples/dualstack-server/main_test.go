package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func exchange(t *testing.T, network, addr, msg string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, progtest.Timeout)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// TestBothFamilies reaches one listener over 127.0.0.1 and ::1. A listener
// for both families must bind the wildcard address; only loopback clients
// connect to it, and it lives only as long as the test.
func TestBothFamilies(t *testing.T) {
	t.Parallel()
	if err := program.IPv6Loopback(); err != nil {
		t.Skipf("skipping: IPv6 loopback unavailable: %v", err)
	}
	srv := progtest.StartServer(t, run, "-addr", ":0", "-both")
	_, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exchange(t, "tcp4", net.JoinHostPort("127.0.0.1", port), "over ipv4"), "OVER IPV4"; got != want {
		t.Errorf("over IPv4: got %q, want %q", got, want)
	}
	if got, want := exchange(t, "tcp6", net.JoinHostPort("::1", port), "over ipv6"), "OVER IPV6"; got != want {
		t.Errorf("over IPv6: got %q, want %q", got, want)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("run returned %v after SIGINT, want nil", err)
	}

	// Where the kernel can clear IPV6_V6ONLY, one socket serves both;
	// OpenBSD and DragonFly need two (see package dualstack).
	mode := `SingleSocket, sockets \[\[::\]:` + port + `\]`
	if runtime.GOOS == "openbsd" || runtime.GOOS == "dragonfly" {
		mode = `TwoSockets, sockets \[\[::\]:` + port + ` 0\.0\.0\.0:` + port + `\]`
	}
	// The IPv4 client is reported as 127.0.0.1, not ::ffff:127.0.0.1.
	want := regexp.MustCompile(`^mode ` + mode + `\n` +
		`connection from 127\.0\.0\.1:\d+ over IPv4\n` +
		`connection from \[::1\]:\d+ over IPv6\n` +
		`shut down; connections: 2, bytes in: 18, bytes out: 18\n$`)
	if out := srv.Output(); !want.MatchString(out) {
		t.Errorf("output after the first line:\n%s\ndoes not match %v", out, want)
	}
}

// TestOneFamily: an address with an IPv4 host is IPv4 only, and says so;
// with -both the server refuses to start rather than serve one family.
func TestOneFamily(t *testing.T) {
	t.Parallel()
	srv := progtest.StartServer(t, run, "-addr", "127.0.0.1:0")
	if got := exchange(t, "tcp4", srv.Addr, "v4"); got != "V4" {
		t.Errorf("got %q, want %q", got, "V4")
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if out := srv.Output(); !strings.HasPrefix(out, "mode IPv4Only, sockets [127.0.0.1:") {
		t.Errorf("output after the first line:\n%s\nwant the mode IPv4Only", out)
	}

	out, err := progtest.RunClient(t, run, "-addr", "127.0.0.1:0", "-both")
	if !errors.Is(err, dualstack.ErrMode) || out != "" {
		t.Errorf("-both on an IPv4 address: run = %v, output %q; want dualstack.ErrMode and no output", err, out)
	}
}

// TestAcceptedConnIsTCPConn: the server hands echo each connection as the
// kernel's *net.TCPConn, which echo reads through its socket directly
// (not a wrapper it would serve through Read and Write), and still prints
// an IPv4 client of the dual-stack socket as 127.0.0.1 over IPv4.
func TestAcceptedConnIsTCPConn(t *testing.T) {
	t.Parallel()
	ln, err := listen(context.Background(), ":0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", port), progtest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var out bytes.Buffer
	_ = ln.SetDeadline(time.Now().Add(progtest.Timeout))
	accepted, err := (&announcer{Listener: ln, w: &out}).Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	if _, ok := accepted.(*net.TCPConn); !ok {
		t.Errorf("Accept returned a %T, want a *net.TCPConn", accepted)
	}
	want := fmt.Sprintf("connection from %s over IPv4\n", c.LocalAddr())
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("announcement in mode %v (-want +got):\n%s", ln.Mode(), diff)
	}
}
