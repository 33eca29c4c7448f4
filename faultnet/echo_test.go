package faultnet_test

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// serveEcho serves a framed echo.Server on a loopback listener wrapped
// with opts, and returns its address; the server is closed when the test
// ends.
func serveEcho(t *testing.T, opts ...faultnet.Option) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echo.Server{Framed: true}
	served := make(chan error, 1)
	go func() { served <- s.Serve(faultnet.WrapListener(l, opts...)) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// TestEchoServerFragmented aims fragments at an echo.Server: requests
// arrive in pieces of 1 to 3 bytes, replies leave 2 bytes per write, and
// every message still comes back whole.
func TestEchoServerFragmented(t *testing.T) {
	t.Parallel()
	addr := serveEcho(t, faultnet.Inbound(faultnet.RandomFragments(3)), faultnet.Outbound(faultnet.Fragment(2)))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(soon())
	for _, msg := range [][]byte{[]byte("hello"), {}, pattern(5000)} {
		if err := frame.SendMessage(c, msg); err != nil {
			t.Fatal(err)
		}
		got, err := frame.RecvMessage(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}
}

// TestEchoServerReset: a connection the server's side resets mid-message
// is reset for the client too, and the server goes on serving others.
func TestEchoServerReset(t *testing.T) {
	t.Parallel()
	addr := serveEcho(t, faultnet.Inbound(faultnet.ResetAfter(100)))
	victim, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	victim.SetDeadline(soon())
	if err := frame.SendMessage(victim, pattern(200)); err != nil {
		t.Fatal(err)
	}
	if _, err := frame.RecvMessage(victim); !isConnReset(err) {
		t.Fatalf("client of the reset connection: %v, want ECONNRESET", err)
	}

	other, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetDeadline(soon())
	if err := frame.SendMessage(other, []byte("still there?")); err != nil {
		t.Fatal(err)
	}
	if got, err := frame.RecvMessage(other); err != nil || string(got) != "still there?" {
		t.Fatalf("another client: %q, %v", got, err)
	}
}
