package echotest_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/frame"
	"github.com/framesock/framesock/sockopt"
)

// testTimeout bounds every blocking step of a test.
const testTimeout = 30 * time.Second

// fakeTB records what Start reports, and runs the cleanups it registers
// when the test says so.
type fakeTB struct {
	mu       sync.Mutex
	errors   []string
	fatals   []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

// Fatalf records the failure and returns, where testing.T's would end the
// goroutine: Start must return nil after it.
func (f *fakeTB) Fatalf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, a...))
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

// loopbackOrSkip skips the test when network's loopback is unavailable.
func loopbackOrSkip(t *testing.T, network string) {
	t.Helper()
	host := "127.0.0.1"
	if strings.HasSuffix(network, "6") {
		host = "::1"
	}
	l, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("skipping, %s loopback unavailable: %v", host, err)
	}
	l.Close()
}

// TestStart: Start and StartPacket listen on the loopback address of the
// server's network whatever its Address and DualStack say, and serve; the
// cleanup they register stops the server: Serve has returned
// ErrServerClosed and the port is free again.
func TestStart(t *testing.T) {
	t.Parallel()
	// An Address that Start would fail to bind, and DualStack, which
	// would bind every interface: neither is used.
	const unused = "192.0.2.1:1"
	tcp := func(network string) func(echotest.TB) net.Addr {
		return func(tb echotest.TB) net.Addr {
			return echotest.Start(tb, &echo.Server{Network: network, Address: unused, DualStack: true, Transform: echo.Upper})
		}
	}
	udp := func(network string) func(echotest.TB) net.Addr {
		return func(tb echotest.TB) net.Addr {
			return echotest.StartPacket(tb, &echo.PacketServer{Network: network, Address: unused, DualStack: true, Transform: echo.Upper})
		}
	}
	tests := []struct {
		name    string
		start   func(echotest.TB) net.Addr
		network string // the clients'
		wantIP  string
	}{
		{name: "Start", start: tcp(""), network: "tcp", wantIP: "127.0.0.1"},
		{name: "Start tcp4", start: tcp("tcp4"), network: "tcp4", wantIP: "127.0.0.1"},
		{name: "Start tcp6", start: tcp("tcp6"), network: "tcp6", wantIP: "::1"},
		{name: "StartPacket", start: udp(""), network: "udp", wantIP: "127.0.0.1"},
		{name: "StartPacket udp4", start: udp("udp4"), network: "udp4", wantIP: "127.0.0.1"},
		{name: "StartPacket udp6", start: udp("udp6"), network: "udp6", wantIP: "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loopbackOrSkip(t, tt.network)
			tb := new(fakeTB)
			addr := tt.start(tb)
			if addr == nil {
				t.Fatalf("returned nil; Fatalf: %q", tb.fatals)
			}
			ap, err := netip.ParseAddrPort(addr.String())
			if err != nil || ap.Addr().String() != tt.wantIP {
				t.Errorf("listened on %v, want %s", addr, tt.wantIP)
			}
			c, err := net.DialTimeout(tt.network, addr.String(), testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(testTimeout))
			c.Write([]byte("hi"))
			buf := make([]byte, 2)
			_, err = io.ReadFull(c, buf)
			c.Close()
			if err != nil || string(buf) != "HI" {
				t.Fatalf("echo: %q, %v", buf, err)
			}

			tb.runCleanups()
			if len(tb.errors) != 0 || len(tb.fatals) != 0 {
				t.Errorf("cleanup reported %q, Fatalf %q", tb.errors, tb.fatals)
			}
			if err := bind(tt.network, addr.String()); err != nil {
				t.Errorf("port still bound after the cleanup: %v", err)
			}
		})
	}
}

// bind binds address and closes it again.
func bind(network, address string) error {
	var c io.Closer
	var err error
	if strings.HasPrefix(network, "udp") {
		c, err = net.ListenPacket(network, address)
	} else {
		c, err = net.Listen(network, address)
	}
	if err == nil {
		c.Close()
	}
	return err
}

// TestStartFatal: an option that cannot be set, or frame options that
// Serve would refuse, make Start and StartPacket call Fatalf, register no
// cleanup, and return nil.
func TestStartFatal(t *testing.T) {
	t.Parallel()
	bad := []sockopt.Option{sockopt.ReadBuffer(-1)}
	badFrame := []frame.Option{frame.WithLayout(frame.Layout{Offset: -1})}
	tests := []struct {
		name  string
		fn    string // the function that must report it
		start func(echotest.TB) net.Addr
	}{
		{name: "Start", fn: "Start", start: func(tb echotest.TB) net.Addr { return echotest.Start(tb, &echo.Server{Options: bad}) }},
		{name: "Start frame options", fn: "Start", start: func(tb echotest.TB) net.Addr {
			return echotest.Start(tb, &echo.Server{Framed: true, FrameOptions: badFrame})
		}},
		{name: "StartPacket", fn: "StartPacket", start: func(tb echotest.TB) net.Addr {
			return echotest.StartPacket(tb, &echo.PacketServer{Options: bad})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := new(fakeTB)
			if addr := tt.start(tb); addr != nil {
				t.Errorf("returned %v, want nil", addr)
			}
			if len(tb.fatals) != 1 || !strings.HasPrefix(tb.fatals[0], "echotest: "+tt.fn+": ") {
				t.Errorf("Fatalf calls: %q, want one from %s", tb.fatals, tt.fn)
			}
			if len(tb.cleanups) != 0 {
				t.Errorf("%d cleanups registered, want none", len(tb.cleanups))
			}
		})
	}
}

// TestStartServerClosedEarly: a test may close the server itself; the
// cleanup then reports nothing.
func TestStartServerClosedEarly(t *testing.T) {
	t.Parallel()
	tb := new(fakeTB)
	s := &echo.Server{}
	addr := echotest.Start(tb, s)
	if addr == nil {
		t.Fatalf("Start returned nil; Fatalf: %q", tb.fatals)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tb.runCleanups()
	if len(tb.errors) != 0 {
		t.Errorf("cleanup reported %q after the test closed the server", tb.errors)
	}
}
