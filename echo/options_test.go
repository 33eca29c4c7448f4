package echo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/sockopt"
)

// TestServerOptions: Options reach the listening socket, and Listen hands
// back the listener itself, so its socket can be inspected.
func TestServerOptions(t *testing.T) {
	t.Parallel()
	const size = 96 << 10
	s := &echo.Server{Address: "127.0.0.1:0", Options: []sockopt.Option{sockopt.ReadBuffer(size), sockopt.NoDelay(true)}}
	l, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sl, ok := l.(*sockopt.Listener)
	if !ok {
		t.Fatalf("Listen returned %T, want *sockopt.Listener", l)
	}
	got, err := sockopt.Get(sl.Listener.(syscall.Conn))
	if err != nil {
		t.Fatal(err)
	}
	// Linux reports twice the size set (socket(7)); others report it.
	if got.ReadBuffer < size {
		t.Errorf("listener SO_RCVBUF = %d, want at least %d", got.ReadBuffer, size)
	}
}

func TestServerOptionError(t *testing.T) {
	t.Parallel()
	s := &echo.Server{Address: "127.0.0.1:0", Options: []sockopt.Option{sockopt.ReadBuffer(-1)}}
	l, err := s.Listen(context.Background())
	if err == nil {
		l.Close()
		t.Fatal("Listen with an invalid option succeeded")
	}
	if !errors.Is(err, sockopt.ErrRange) {
		t.Errorf("Listen = %v, want an error matching sockopt.ErrRange", err)
	}
}

func TestPacketServerOptions(t *testing.T) {
	t.Parallel()
	const size = 96 << 10
	s := &echo.PacketServer{Address: "127.0.0.1:0", Options: []sockopt.Option{sockopt.ReadBuffer(size)}}
	pc, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := sockopt.Get(pc.(syscall.Conn))
	if err != nil {
		t.Fatal(err)
	}
	if got.ReadBuffer < size {
		t.Errorf("SO_RCVBUF = %d, want at least %d", got.ReadBuffer, size)
	}
}

// TestServerDualStack serves IPv4 and IPv6 clients on one port and
// reports the mode dualstack achieved.
func TestServerDualStack(t *testing.T) {
	t.Parallel()
	hosts := loopbacksOrSkip(t, "tcp")
	s := &echo.Server{Address: ":0", DualStack: true, Transform: echo.Upper}
	l, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dl, ok := l.(*dualstack.Listener)
	if !ok {
		t.Fatalf("Listen returned %T, want *dualstack.Listener", l)
	}
	// Both loopbacks work, so both families must be served.
	if mode := dl.Mode(); dualstack.BothFamilies&mode == 0 {
		t.Fatalf("mode %v, want one of %v", mode, dualstack.BothFamilies)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	defer func() {
		shutdown(t, s)
		if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	for _, host := range hosts {
		c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("dial %s: %v", host, err)
		}
		c.Write([]byte("hi"))
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		c.Close()
		if err != nil || string(buf) != "HI" {
			t.Errorf("client on %s: %q, %v", host, buf, err)
		}
	}
}
