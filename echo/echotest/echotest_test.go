package echotest_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
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

// TestStart: Start listens on the loopback address of the server's
// network whatever its Address and DualStack say, serves, and its cleanup
// stops the server: Serve has returned and the port refuses connections.
func TestStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, network string
		wantIP        string
	}{
		{name: "default", network: "", wantIP: "127.0.0.1"},
		{name: "tcp4", network: "tcp4", wantIP: "127.0.0.1"},
		{name: "tcp6", network: "tcp6", wantIP: "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loopbackOrSkip(t, tt.network)
			tb := new(fakeTB)
			// An Address Start would fail to bind, and DualStack, which
			// would bind every interface: both are not used.
			s := &echo.Server{Network: tt.network, Address: "192.0.2.1:1", DualStack: true, Transform: echo.Upper}
			addr := echotest.Start(tb, s)
			if addr == nil {
				t.Fatalf("Start returned nil; Fatalf: %q", tb.fatals)
			}
			if got := addr.(*net.TCPAddr).IP.String(); got != tt.wantIP {
				t.Errorf("Start listened on %v, want %s", addr, tt.wantIP)
			}
			c, err := net.DialTimeout("tcp", addr.String(), testTimeout)
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
			// The cleanup waited for Serve, and reported (above) anything
			// but ErrServerClosed; the listener is closed.
			if c, err := net.DialTimeout("tcp", addr.String(), testTimeout); err == nil {
				c.Close()
				t.Errorf("%v still accepts connections after the cleanup", addr)
			}
		})
	}
}

// TestStartPacket is TestStart for a PacketServer.
func TestStartPacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, network string
		wantIP        string
	}{
		{name: "default", network: "", wantIP: "127.0.0.1"},
		{name: "udp4", network: "udp4", wantIP: "127.0.0.1"},
		{name: "udp6", network: "udp6", wantIP: "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loopbackOrSkip(t, tt.network)
			tb := new(fakeTB)
			s := &echo.PacketServer{Network: tt.network, Address: "192.0.2.1:1", DualStack: true, Transform: echo.Upper}
			addr := echotest.StartPacket(tb, s)
			if addr == nil {
				t.Fatalf("StartPacket returned nil; Fatalf: %q", tb.fatals)
			}
			if got := addr.(*net.UDPAddr).IP.String(); got != tt.wantIP {
				t.Errorf("StartPacket listened on %v, want %s", addr, tt.wantIP)
			}
			c, err := net.Dial("udp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			c.Write([]byte("ping"))
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "PING" {
				t.Fatalf("echo: %q, %v", buf[:n], err)
			}

			tb.runCleanups()
			if len(tb.errors) != 0 || len(tb.fatals) != 0 {
				t.Errorf("cleanup reported %q, Fatalf %q", tb.errors, tb.fatals)
			}
			// The socket is closed: its port can be bound again.
			pc, err := net.ListenPacket("udp", addr.String())
			if err != nil {
				t.Fatalf("port still bound after the cleanup: %v", err)
			}
			pc.Close()
		})
	}
}

// TestStartFatal: an option that cannot be set makes Start and
// StartPacket call Fatalf, register no cleanup, and return nil.
func TestStartFatal(t *testing.T) {
	t.Parallel()
	bad := []sockopt.Option{sockopt.ReadBuffer(-1)}
	tests := []struct {
		name  string
		start func(echotest.TB) net.Addr
	}{
		{name: "Start", start: func(tb echotest.TB) net.Addr { return echotest.Start(tb, &echo.Server{Options: bad}) }},
		{name: "StartPacket", start: func(tb echotest.TB) net.Addr { return echotest.StartPacket(tb, &echo.PacketServer{Options: bad}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := new(fakeTB)
			if addr := tt.start(tb); addr != nil {
				t.Errorf("returned %v, want nil", addr)
			}
			if len(tb.fatals) != 1 || !strings.HasPrefix(tb.fatals[0], "echotest: "+tt.name+": ") {
				t.Errorf("Fatalf calls: %q, want one from %s", tb.fatals, tt.name)
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
