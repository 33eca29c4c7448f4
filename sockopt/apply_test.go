package sockopt_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/sockopt"
)

// What Apply refuses, on every platform with sockets. Each test skips the
// options this platform lacks (all of them on js, wasip1 and plan9, where
// TestStubUnsupported checks the refusal instead).

// A before-bind option given to Apply on a bound socket is an error naming
// the option, never a silent success: after bind Linux accepts
// SO_REUSEPORT and changes nothing, and fails IPV6_V6ONLY with EINVAL
// (ipv6(7)). Nothing of the call is applied.
func TestApplyTooLate(t *testing.T) {
	t.Parallel()
	skipUnsupported(t, sockopt.ReadBuffer(8192))
	l := listenTCP4(t)
	c, _ := dialPair(t, l)
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	type sock struct {
		name string
		open func(t *testing.T) syscall.Conn
	}
	socks := []sock{
		{"listener", func(*testing.T) syscall.Conn { return l.(syscall.Conn) }},
		{"dialed", func(*testing.T) syscall.Conn { return c.(syscall.Conn) }},
		{"udp", func(*testing.T) syscall.Conn { return u.(syscall.Conn) }},
		// As *os.File the sockets are not net's types, so the phase is
		// read from the kernel: getsockname's port, or SO_ACCEPTCONN for
		// a Unix domain socket.
		{"listener file", func(t *testing.T) syscall.Conn {
			return socketFile(t, l.(interface{ File() (*os.File, error) }))
		}},
		{"unix listener file", func(t *testing.T) syscall.Conn {
			dir, err := os.MkdirTemp("", "sockopt")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			ul, err := net.Listen("unix", filepath.Join(dir, "s"))
			if err != nil {
				t.Skipf("skipping: no Unix domain sockets here: %v", err)
			}
			t.Cleanup(func() { ul.Close() })
			return socketFile(t, ul.(*net.UnixListener))
		}},
	}
	opts := []sockopt.Option{
		sockopt.ReuseAddr(true), sockopt.ReuseAddr(false), sockopt.ReusePort(true),
		sockopt.ReusePortLB(false), sockopt.ExclusiveAddrUse(true),
	}
	for _, opt := range opts {
		for _, s := range socks {
			t.Run(s.name+"/"+opt.String(), func(t *testing.T) {
				t.Parallel()
				skipUnsupported(t, opt)
				sc := s.open(t)
				before := get(t, sc)
				// A valid option in front: nothing may be half-applied.
				err := sockopt.Apply(sc, sockopt.ReadBuffer(8192), opt)
				if !errors.Is(err, sockopt.ErrTooLate) {
					t.Fatalf("Apply(%v) on a bound socket = %v, want ErrTooLate", opt, err)
				}
				if !strings.Contains(err.Error(), opt.String()) {
					t.Errorf("error %q does not name %v", err, opt)
				}
				if diff := cmp.Diff(before, get(t, sc)); diff != "" {
					t.Errorf("socket changed by a failed Apply (-before +after):\n%s", diff)
				}
			})
		}
	}
	for _, opt := range []sockopt.Option{sockopt.V6Only(false), sockopt.V6Only(true)} {
		t.Run("tcp6 listener/"+opt.String(), func(t *testing.T) {
			t.Parallel()
			skipUnsupported(t, opt)
			skipWithoutIPv6(t)
			l6, err := net.Listen("tcp6", "[::1]:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l6.Close()
			err = sockopt.Apply(l6.(syscall.Conn), opt)
			if !errors.Is(err, sockopt.ErrTooLate) {
				t.Fatalf("Apply(%v) on a bound tcp6 listener = %v, want ErrTooLate", opt, err)
			}
			// The package prefix is said once, before the option's name.
			if want := "sockopt: " + opt.String() + ": option takes effect only before bind"; !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error text %q, want it to end in %q", err, want)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "set" {
				t.Errorf("error %v is not a *net.OpError with Op \"set\"", err)
			}
		})
	}
}

// socketFile returns a duplicate of the socket behind f as an *os.File,
// skipping t where the platform cannot (Windows has no File for sockets).
func socketFile(t *testing.T, f interface{ File() (*os.File, error) }) *os.File {
	t.Helper()
	file, err := f.File()
	if err != nil {
		t.Skipf("skipping: %T.File: %v", f, err)
	}
	t.Cleanup(func() { file.Close() })
	return file
}

// Apply refuses a TCP option on a UDP socket (V6Only on an unbound IPv4
// socket is in TestRealFamily; on a bound one it is ErrTooLate first).
func TestApplyNotApplicable(t *testing.T) {
	t.Parallel()
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: no UDP socket: %v", err)
	}
	t.Cleanup(func() { u.Close() })
	for _, opt := range []sockopt.Option{sockopt.NoDelay(true), sockopt.KeepAlive(keepAlive3053), sockopt.UserTimeout(time.Second)} {
		t.Run(opt.String(), func(t *testing.T) {
			t.Parallel()
			skipUnsupported(t, opt)
			err := sockopt.Apply(u.(syscall.Conn), opt)
			if !errors.Is(err, sockopt.ErrNotApplicable) || !strings.Contains(err.Error(), opt.String()) {
				t.Errorf("Apply(%v) on udp4 = %v, want ErrNotApplicable naming the option", opt, err)
			}
		})
	}
}

// Apply and Get on a closed connection report net.ErrClosed, not a zero
// result.
func TestClosed(t *testing.T) {
	t.Parallel()
	opt := sockopt.NoDelay(false)
	skipUnsupported(t, opt)
	l := listenTCP4(t)
	c, _ := dialPair(t, l)
	c.Close()
	if err := sockopt.Apply(c.(syscall.Conn), opt); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Apply on closed conn = %v, want net.ErrClosed", err)
	}
	if _, err := sockopt.Get(c.(syscall.Conn)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Get on closed conn = %v, want net.ErrClosed", err)
	}
}

// Bad values fail before any system call, naming the option and the
// range, and the valid options around them are not applied either.
func TestValidationBeforeSyscall(t *testing.T) {
	t.Parallel()
	around := []sockopt.Option{sockopt.NoDelay(false), sockopt.Linger(3 * time.Second)}
	bad := []struct {
		name   string
		opt    sockopt.Option
		range_ string
	}{
		{"negative read buffer", sockopt.ReadBuffer(-1), "1..2147483647"},
		{"zero write buffer", sockopt.WriteBuffer(0), "1..2147483647"},
		{"idle zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: 0, Interval: -1, Count: -1}), "idle 0s outside 1s..9h6m7s"},
		{"idle above 32767s", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: 32768 * time.Second, Interval: -1, Count: -1}), "idle 9h6m8s outside 1s..9h6m7s"},
		{"interval zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 0, Count: -1}), "interval 0s outside 1s..9h6m7s"},
		{"interval above 32767s", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 10 * time.Hour, Count: -1}), "interval 10h0m0s outside 1s..9h6m7s"},
		{"count zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: 0}), "count 0 outside 1..127"},
		{"count above 127", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: 128}), "count 128 outside 1..127"},
		{"linger above 32767s", sockopt.Linger(32768 * time.Second), "9h6m7s"},
		{"negative user timeout", sockopt.UserTimeout(-time.Second), "0.."},
	}
	skipUnsupported(t, around...)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := listenTCP4(t)
			c, _ := dialPair(t, l)
			sc := c.(syscall.Conn)
			before := get(t, sc)
			err := sockopt.Apply(sc, around[0], tt.opt, around[1])
			if !errors.Is(err, sockopt.ErrRange) {
				t.Fatalf("Apply(%v) = %v, want ErrRange", tt.opt, err)
			}
			for _, want := range []string{tt.opt.String(), tt.range_} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if diff := cmp.Diff(before, get(t, sc)); diff != "" {
				t.Errorf("socket changed by a rejected Apply (-before +after):\n%s", diff)
			}
			if err := sockopt.Supported(tt.opt); !errors.Is(err, sockopt.ErrRange) {
				t.Errorf("Supported(%v) = %v, want ErrRange", tt.opt, err)
			}
			// Listen refuses before creating a socket.
			if _, err := sockopt.Listen(testContext(t), "tcp4", "127.0.0.1:0", tt.opt); !errors.Is(err, sockopt.ErrRange) {
				t.Errorf("Listen with %v = %v, want ErrRange", tt.opt, err)
			}
		})
	}
}
