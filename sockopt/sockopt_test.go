package sockopt_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/sockopt"
)

// Portable tests: option values, validation, the capability table and
// Chain. They run on every GOOS that can run tests.

func TestOptionStringAndPhase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opt   sockopt.Option
		str   string
		phase sockopt.Phase
	}{
		{"ReuseAddr", sockopt.ReuseAddr(true), "ReuseAddr(true)", sockopt.BeforeBind},
		{"ReusePort", sockopt.ReusePort(false), "ReusePort(false)", sockopt.BeforeBind},
		{"ReusePortLB", sockopt.ReusePortLB(true), "ReusePortLB(true)", sockopt.BeforeBind},
		{"V6Only", sockopt.V6Only(false), "V6Only(false)", sockopt.BeforeBind},
		{"ReadBuffer", sockopt.ReadBuffer(65536), "ReadBuffer(65536)", sockopt.Inherited},
		{"WriteBuffer", sockopt.WriteBuffer(4096), "WriteBuffer(4096)", sockopt.Inherited},
		{"Linger", sockopt.Linger(5 * time.Second), "Linger(5s)", sockopt.Inherited},
		{"NoDelay", sockopt.NoDelay(false), "NoDelay(false)", sockopt.AfterConnect},
		{"KeepAlive", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}),
			"KeepAlive({Enable:true Idle:30s Interval:5s Count:3})", sockopt.AfterConnect},
		{"UserTimeout", sockopt.UserTimeout(1500 * time.Millisecond), "UserTimeout(1.5s)", sockopt.AfterConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.opt.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := sockopt.PhaseOf(tt.opt); got != tt.phase {
				t.Errorf("PhaseOf(%v) = %v, want %v", tt.opt, got, tt.phase)
			}
		})
	}
}

// unsupportedOn lists, per GOOS, the options Supported must refuse. Every
// other option in capabilityOpts must be supported. This is the table of
// doc.go, as data.
var unsupportedOn = map[string][]string{
	"linux":     {"ExclusiveAddrUse(true)"},
	"android":   {"ExclusiveAddrUse(true)"},
	"windows":   {"ReuseAddr(true)", "ReusePort(true)", "ReusePort(false)", "ReusePortLB(true)", "UserTimeout(1s)"},
	"darwin":    {"ReusePortLB(true)", "UserTimeout(1s)", "ExclusiveAddrUse(true)"},
	"ios":       {"ReusePortLB(true)", "UserTimeout(1s)", "ExclusiveAddrUse(true)"},
	"freebsd":   {"UserTimeout(1s)", "ExclusiveAddrUse(true)"},
	"netbsd":    {"ReusePortLB(true)", "UserTimeout(1s)", "ExclusiveAddrUse(true)"},
	"aix":       {"ReusePortLB(true)", "UserTimeout(1s)", "ExclusiveAddrUse(true)"},
	"openbsd":   {"ReusePortLB(true)", "UserTimeout(1s)", "V6Only(false)", "KeepAlive(timers)", "ExclusiveAddrUse(true)"},
	"dragonfly": {"ReusePortLB(true)", "UserTimeout(1s)", "V6Only(false)", "ExclusiveAddrUse(true)"},
	"solaris":   {"ReusePort(true)", "ReusePort(false)", "ReusePortLB(true)", "UserTimeout(1s)", "KeepAlive(timers)", "ExclusiveAddrUse(true)"},
	"illumos":   {"ReusePort(true)", "ReusePort(false)", "ReusePortLB(true)", "UserTimeout(1s)", "KeepAlive(timers)", "ExclusiveAddrUse(true)"},
}

// capabilityOpts are probed by TestSupported, keyed by the names above.
var capabilityOpts = map[string]sockopt.Option{
	"ReuseAddr(true)":   sockopt.ReuseAddr(true),
	"ReuseAddr(false)":  sockopt.ReuseAddr(false),
	"ReusePort(true)":   sockopt.ReusePort(true),
	"ReusePort(false)":  sockopt.ReusePort(false),
	"ReusePortLB(true)": sockopt.ReusePortLB(true),
	"NoDelay(true)":     sockopt.NoDelay(true),
	"KeepAlive(timers)": sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: time.Minute, Interval: -1, Count: -1}),
	"KeepAlive(on)":     sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}),
	"KeepAlive(off)":    sockopt.KeepAlive(net.KeepAliveConfig{}),
	"ReadBuffer(4096)":  sockopt.ReadBuffer(4096),
	"WriteBuffer(4096)": sockopt.WriteBuffer(4096),
	"Linger(1s)":        sockopt.Linger(time.Second),
	"V6Only(true)":      sockopt.V6Only(true),
	"V6Only(false)":     sockopt.V6Only(false),
	"UserTimeout(1s)":   sockopt.UserTimeout(time.Second),

	"ExclusiveAddrUse(true)": sockopt.ExclusiveAddrUse(true),
}

// Supported is truthful per platform, and an
// unsupported option matches errors.ErrUnsupported, names the option and
// the GOOS. On js, wasip1 and plan9 every option is unsupported.
func TestSupported(t *testing.T) {
	t.Parallel()
	unsupported, known := unsupportedOn[runtime.GOOS]
	if !known {
		// The stub platforms: nothing is supported.
		for name := range capabilityOpts {
			unsupported = append(unsupported, name)
		}
	}
	want := make(map[string]bool)
	for _, name := range unsupported {
		want[name] = true
	}
	for name, opt := range capabilityOpts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sockopt.Supported(opt)
			if !want[name] {
				if err != nil {
					t.Fatalf("Supported(%v) on %s = %v, want nil", opt, runtime.GOOS, err)
				}
				return
			}
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("Supported(%v) on %s = %v, want errors.ErrUnsupported", opt, runtime.GOOS, err)
			}
			prefix := "sockopt: " + opt.String() + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, " on "+runtime.GOOS) {
				t.Errorf("error %q: want it to start %q and name %s", msg, prefix, runtime.GOOS)
			}
			var oe *sockopt.OptionError
			if !errors.As(err, &oe) || oe.Option != opt {
				t.Errorf("error %v is not an *OptionError for %v", err, opt)
			}
		})
	}
}

// The ranges, checked without a socket. Supported reports a
// bad value with ErrRange on every platform, before platform support.
func TestValidate(t *testing.T) {
	t.Parallel()
	const maxKeep = 32767 * time.Second
	tests := []struct {
		name string
		opt  sockopt.Option
		ok   bool
	}{
		{"read buffer 1", sockopt.ReadBuffer(1), true},
		{"read buffer max int32", sockopt.ReadBuffer(1<<31 - 1), true},
		{"read buffer 0", sockopt.ReadBuffer(0), false},
		{"read buffer negative", sockopt.ReadBuffer(-1), false},
		{"write buffer negative", sockopt.WriteBuffer(-4096), false},
		{"linger off", sockopt.Linger(-1), true},
		{"linger reset", sockopt.Linger(0), true},
		{"linger max", sockopt.Linger(maxKeep), true},
		{"linger above max", sockopt.Linger(maxKeep + time.Nanosecond), false},
		{"keepalive idle max", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: maxKeep, Interval: -1, Count: -1}), true},
		{"keepalive idle above max", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: maxKeep + time.Second, Interval: -1, Count: -1}), false},
		{"keepalive idle zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: 0, Interval: -1, Count: -1}), false},
		{"keepalive interval above max", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 24 * time.Hour, Count: -1}), false},
		{"keepalive interval zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 0, Count: -1}), false},
		{"keepalive count max", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: 127}), true},
		{"keepalive count above max", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: 128}), false},
		{"keepalive count zero", sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 0}), false},
		{"keepalive disabled ignores zero timers", sockopt.KeepAlive(net.KeepAliveConfig{}), true},
		{"keepalive disabled but bad count", sockopt.KeepAlive(net.KeepAliveConfig{Count: 1000}), false},
		{"user timeout 0", sockopt.UserTimeout(0), true},
		{"user timeout negative", sockopt.UserTimeout(-time.Millisecond), false},
		{"user timeout above max", sockopt.UserTimeout((1<<31)*time.Millisecond + time.Millisecond), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := sockopt.Supported(tt.opt)
			if tt.ok {
				if errors.Is(err, sockopt.ErrRange) {
					t.Fatalf("Supported(%v) = %v, want in range", tt.opt, err)
				}
				return
			}
			if !errors.Is(err, sockopt.ErrRange) {
				t.Fatalf("Supported(%v) = %v, want ErrRange", tt.opt, err)
			}
			if !strings.Contains(err.Error(), tt.opt.String()) || !strings.Contains(err.Error(), "..") {
				t.Errorf("error %q does not name the option and its range", err)
			}
		})
	}
}

// Listen and Dial refuse invalid options before creating a socket.
func TestHelpersValidateFirst(t *testing.T) {
	t.Parallel()
	bad := sockopt.ReadBuffer(-1)
	ctx := context.Background()
	if l, err := sockopt.Listen(ctx, "tcp", "127.0.0.1:0", bad); !errors.Is(err, sockopt.ErrRange) {
		if l != nil {
			l.Close()
		}
		t.Errorf("Listen(%v) = %v, want ErrRange", bad, err)
	}
	if c, err := sockopt.Dial(ctx, "tcp", "127.0.0.1:1", bad); !errors.Is(err, sockopt.ErrRange) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Dial(%v) = %v, want ErrRange", bad, err)
	}
	var oe *net.OpError
	_, err := sockopt.Listen(ctx, "tcp", "127.0.0.1:0", bad)
	if !errors.As(err, &oe) || oe.Op != "listen" {
		t.Errorf("Listen error %v is not a *net.OpError for listen", err)
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	errStop := errors.New("stop")
	var calls []string
	fn := func(name string, err error) func(string, string, syscall.RawConn) error {
		return func(network, address string, _ syscall.RawConn) error {
			calls = append(calls, name+":"+network+":"+address)
			return err
		}
	}
	tests := []struct {
		name    string
		fns     []func(string, string, syscall.RawConn) error
		wantErr error
		want    []string
	}{
		{"order", []func(string, string, syscall.RawConn) error{fn("a", nil), fn("b", nil)}, nil,
			[]string{"a:tcp4:127.0.0.1:0", "b:tcp4:127.0.0.1:0"}},
		{"nil skipped", []func(string, string, syscall.RawConn) error{nil, fn("a", nil), nil}, nil,
			[]string{"a:tcp4:127.0.0.1:0"}},
		{"stops at first error", []func(string, string, syscall.RawConn) error{fn("a", errStop), fn("b", nil)}, errStop,
			[]string{"a:tcp4:127.0.0.1:0"}},
		{"empty", nil, nil, nil},
	}
	for _, tt := range tests {
		// Not parallel: the subtests share calls.
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			err := sockopt.Chain(tt.fns...)("tcp4", "127.0.0.1:0", nil)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Chain() = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}
