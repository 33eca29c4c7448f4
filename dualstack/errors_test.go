package dualstack_test

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// errorEnv is what one case of TestListenErrors listens with; the case's
// setup may change any of it.
type errorEnv struct {
	proto   string // "tcp" or "udp"
	lc      *dualstack.ListenConfig
	ctx     context.Context
	address string
	opts    []sockopt.Option
	port    int // stands for P in the case's wantAddr
}

// asCheck is an errors.As check for one error type.
type asCheck struct {
	name string
	ok   func(error) bool
}

func isA[T error]() asCheck {
	return asCheck{reflect.TypeFor[T]().String(), func(err error) bool {
		var target T
		return errors.As(err, &target)
	}}
}

// TestListenErrors drives every way Listen and ListenPacket can fail and
// checks that each error is the one documented kind: a *net.OpError with
// Op "listen", the network and address asked for, and no other OpError
// inside, whose cause errors.Is and errors.As find. It also checks that a
// failed Listen leaves no socket open.
func TestListenErrors(t *testing.T) {
	t.Parallel()
	// Each hook fails with what net reports for the failing system call.
	failAll := func(call string, errno syscall.Errno) func(*testing.T, *errorEnv) {
		return func(_ *testing.T, e *errorEnv) {
			dualstack.SetHooks(e.lc, failWhen(func(network, _ string) error { return sysError(network, call, errno) }))
		}
	}
	failFamily := func(family byte, call string, errno syscall.Errno) func(*testing.T, *errorEnv) {
		return func(_ *testing.T, e *errorEnv) {
			dualstack.SetHooks(e.lc, failWhen(func(network, _ string) error {
				if network[len(network)-1] == family {
					return sysError(network, call, errno)
				}
				return nil
			}))
		}
	}
	// hold takes a port on network ("ip" for the protocol) and host
	// before Listen runs, so that Listen finds it in use.
	hold := func(network, host string) func(*testing.T, *errorEnv) {
		return func(t *testing.T, e *errorEnv) {
			requireBothStacks(t)
			e.port = holdPort(t, strings.Replace(network, "ip", e.proto, 1), loopback(host, 0))
		}
	}
	control := func(err error) func(*testing.T, *errorEnv) {
		return func(t *testing.T, e *errorEnv) {
			requireBothStacks(t)
			e.lc.ListenConfig.Control = func(string, string, syscall.RawConn) error { return err }
		}
	}
	// A host name, resolved by the hooks, so that no resolver is asked.
	const name = "dualstack.test:0"
	resolved := func(proto string) net.Addr {
		if proto == "udp" {
			return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		}
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}

	tests := []struct {
		name     string
		network  string // "ip" stands for the protocol, "other" for the other protocol
		address  string
		modes    dualstack.Mode
		opts     []sockopt.Option
		setup    func(*testing.T, *errorEnv)
		wantAddr string // the OpError's Addr, "" for nil; P is the port, "opened" the first socket's
		wantIs   []error
		wantAs   []asCheck
		wantText string
	}{
		// Before any socket: the network, the address, the modes, the options.
		{name: "unknown network", network: "unix", address: "/tmp/x", wantAs: []asCheck{isA[net.UnknownNetworkError]()}, wantText: "unknown network unix"},
		{name: "other protocol", network: "other", address: ":0", wantAs: []asCheck{isA[net.UnknownNetworkError]()}},
		{name: "no port", network: "ip", address: "127.0.0.1", wantAs: []asCheck{isA[*net.AddrError]()}, wantText: "missing port"},
		{name: "bad port", network: "ip", address: ":65536", wantAs: []asCheck{isA[*net.AddrError]()}, wantText: "invalid port"},
		{name: "unknown service", network: "ip", address: ":no-such-service", wantAs: []asCheck{isA[*net.DNSError]()}},
		{name: "invalid modes", network: "ip", address: ":0", modes: 1 << 6, wantAddr: ":0", wantIs: []error{dualstack.ErrMode}, wantText: "invalid ListenConfig.Modes"},
		{name: "V6Only option", network: "ip", address: ":0", opts: []sockopt.Option{sockopt.V6Only(true)}, wantAddr: ":0", wantIs: []error{dualstack.ErrV6Only}},
		{name: "V6Only(false) option", network: "ip6", address: ":0", opts: []sockopt.Option{sockopt.ReusePort(true), sockopt.V6Only(false)}, wantAddr: ":0", wantIs: []error{dualstack.ErrV6Only}},
		{name: "out of range option", network: "ip", address: ":0", opts: []sockopt.Option{sockopt.ReadBuffer(-1)}, wantAddr: ":0", wantIs: []error{sockopt.ErrRange}, wantAs: []asCheck{isA[*sockopt.OptionError]()}},
		{
			name: "unsupported option", network: "ip", address: ":0", wantAddr: ":0",
			setup: func(t *testing.T, e *errorEnv) {
				for _, o := range []sockopt.Option{sockopt.ExclusiveAddrUse(true), sockopt.ReusePortLB(true), sockopt.UserTimeout(1)} {
					if errors.Is(sockopt.Supported(o), errors.ErrUnsupported) {
						e.opts = []sockopt.Option{o}
						return
					}
				}
				t.Skipf("skipping: %s supports every option this test could use", runtime.GOOS)
			},
			wantIs: []error{errors.ErrUnsupported}, wantAs: []asCheck{isA[*sockopt.OptionError]()},
		},
		{name: "IPv4 network not allowed", network: "ip4", address: ":0", modes: dualstack.BothFamilies, wantAddr: ":0", wantIs: []error{dualstack.ErrMode}},
		{name: "IPv6 host not allowed", network: "ip", address: "[::1]:0", modes: dualstack.IPv4Only, wantAddr: "[::1]:0", wantIs: []error{dualstack.ErrMode}},
		{name: "mapped IPv4 host not allowed", network: "ip", address: "[::ffff:127.0.0.1]:0", modes: dualstack.IPv6Only, wantAddr: "127.0.0.1:0", wantIs: []error{dualstack.ErrMode}},

		// A socket fails.
		{name: "port in use, single socket", network: "ip", address: ":P", setup: hold("ip4", "0.0.0.0"), wantAddr: ":P", wantIs: []error{syscall.EADDRINUSE}, wantText: "SingleSocket"},
		{name: "port in use, two sockets", network: "ip", modes: dualstack.TwoSockets, address: ":P", setup: hold("ip4", "0.0.0.0"), wantAddr: ":P", wantIs: []error{syscall.EADDRINUSE}, wantText: "TwoSockets"},
		{name: "port in use, IPv4 only", network: "ip", modes: dualstack.IPv4Only, address: ":P", setup: hold("ip4", "0.0.0.0"), wantAddr: ":P", wantIs: []error{syscall.EADDRINUSE}, wantText: "IPv4Only"},
		{name: "port in use, IPv6 only", network: "ip", modes: dualstack.IPv6Only, address: ":P", setup: hold("ip6", "::"), wantAddr: ":P", wantIs: []error{syscall.EADDRINUSE}, wantText: "IPv6Only"},
		{name: "port in use, IPv4 network", network: "ip4", address: ":P", setup: hold("ip4", "0.0.0.0"), wantAddr: ":P", wantIs: []error{syscall.EADDRINUSE}},
		{name: "port in use, IPv6 host", network: "ip", address: "[::1]:P", setup: hold("ip6", "::1"), wantAddr: "[::1]:P", wantIs: []error{syscall.EADDRINUSE}},
		{name: "permission denied", network: "ip", address: ":0", setup: failAll("bind", syscall.EACCES), wantAddr: ":0", wantIs: []error{syscall.EACCES}},
		{name: "permission denied, IPv4 only", network: "ip", address: ":0", modes: dualstack.IPv4Only, setup: failAll("bind", syscall.EACCES), wantAddr: ":0", wantIs: []error{syscall.EACCES}},
		{name: "permission denied, IPv6 network", network: "ip6", address: "[::]:0", setup: failAll("bind", syscall.EACCES), wantAddr: "[::]:0", wantIs: []error{syscall.EACCES}},
		{name: "permission denied on IPv6, two sockets", network: "ip", address: ":0", modes: dualstack.TwoSockets, setup: failFamily('6', "bind", syscall.EACCES), wantAddr: ":0", wantIs: []error{syscall.EACCES}},
		{name: "no address family at all", network: "ip", address: ":0", setup: failAll("socket", syscall.EAFNOSUPPORT), wantAddr: ":0", wantIs: []error{syscall.EAFNOSUPPORT}},
		{
			name: "no IPv6, both families required", network: "ip", address: ":0", modes: dualstack.BothFamilies, wantAddr: ":0",
			setup:  func(_ *testing.T, e *errorEnv) { dualstack.SetHooks(e.lc, withoutFamily('6')) },
			wantIs: []error{dualstack.ErrMode, syscall.EAFNOSUPPORT},
		},
		{
			name: "IPV6_V6ONLY cannot be cleared, single socket required", network: "ip", address: ":0", modes: dualstack.SingleSocket, wantAddr: ":0",
			setup: func(t *testing.T, e *errorEnv) {
				requireBothStacks(t)
				forceV6Only(e.lc, v6OnlyForced[0].err, dualstack.Hooks{})
			},
			wantIs: []error{dualstack.ErrMode, syscall.EINVAL},
		},
		{name: "two sockets, every port taken on IPv4", network: "ip", address: ":0", modes: dualstack.TwoSockets, setup: failFamily('4', "bind", syscall.EADDRINUSE), wantAddr: ":0", wantIs: []error{syscall.EADDRINUSE}, wantText: "after " + strconv.Itoa(dualstack.MaxPortAttempts) + " attempts"},
		{
			name: "two sockets, context cancelled while retrying", network: "ip", address: ":0", modes: dualstack.TwoSockets, wantAddr: ":0",
			setup: func(_ *testing.T, e *errorEnv) {
				ctx, cancel := context.WithCancel(context.Background())
				e.ctx = ctx
				dualstack.SetHooks(e.lc, failWhen(func(network, _ string) error {
					if strings.HasSuffix(network, "4") {
						cancel()
						return sysError(network, "bind", syscall.EADDRINUSE)
					}
					return nil
				}))
			},
			wantIs: []error{context.Canceled, syscall.EADDRINUSE},
		},
		{name: "Control fails", network: "ip", address: ":0", setup: control(os.NewSyscallError("setsockopt", syscall.EPERM)), wantAddr: ":0", wantIs: []error{syscall.EPERM}},
		{
			name: "Control fails with an OpError", network: "ip", address: ":0", wantAddr: ":0",
			setup:  control(&net.OpError{Op: "set", Net: "tcp", Err: os.NewSyscallError("setsockopt", syscall.ENOPROTOOPT)}),
			wantIs: []error{syscall.ENOPROTOOPT},
		},
		{
			name: "buffer clamped by the kernel", network: "ip", address: ":0", wantAddr: ":0",
			setup: func(t *testing.T, e *errorEnv) {
				requireBothStacks(t)
				// socket(7): Linux caps SO_RCVBUF at net.core.rmem_max,
				// which sockopt reports as a clamp.
				if runtime.GOOS != "linux" {
					t.Skipf("skipping: the clamp to net.core.rmem_max is Linux's; %s fails or clamps otherwise", runtime.GOOS)
				}
				max, err := os.ReadFile("/proc/sys/net/core/rmem_max")
				n, _ := strconv.Atoi(strings.TrimSpace(string(max)))
				if err != nil || n >= math.MaxInt32/2 {
					t.Skipf("skipping: net.core.rmem_max is %q (%v), too large to exceed", max, err)
				}
				e.opts = []sockopt.Option{sockopt.ReadBuffer(math.MaxInt32)}
			},
			wantIs: []error{sockopt.ErrClamped}, wantAs: []asCheck{isA[*sockopt.OptionError]()},
		},

		// A host name: net resolves it, here the hooks.
		{
			name: "host name of a family not allowed", network: "ip", address: name, modes: dualstack.IPv6Only, wantAddr: "opened",
			setup: func(t *testing.T, e *errorEnv) {
				requireBothStacks(t)
				dualstack.SetHooks(e.lc, dualstack.Hooks{
					Listen: func(ctx context.Context, lc *net.ListenConfig, network, _ string) (net.Listener, error) {
						return lc.Listen(ctx, network, "127.0.0.1:0")
					},
					ListenPacket: func(ctx context.Context, lc *net.ListenConfig, network, _ string) (net.PacketConn, error) {
						return lc.ListenPacket(ctx, network, "127.0.0.1:0")
					},
				})
			},
			wantIs: []error{dualstack.ErrMode},
		},
		{
			name: "host name, permission denied", network: "ip", address: name, wantAddr: "127.0.0.1:0",
			setup: func(_ *testing.T, e *errorEnv) {
				dualstack.SetHooks(e.lc, failWhen(func(network, _ string) error {
					return &net.OpError{Op: "listen", Net: network, Addr: resolved(e.proto), Err: os.NewSyscallError("bind", syscall.EACCES)}
				}))
			},
			wantIs: []error{syscall.EACCES},
		},
	}
	for _, proto := range []string{"tcp", "udp"} {
		other := map[string]string{"tcp": "udp", "udp": "tcp"}[proto]
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				e := &errorEnv{proto: proto, lc: &dualstack.ListenConfig{Modes: tt.modes}, ctx: context.Background(), address: tt.address, opts: tt.opts}
				if tt.setup != nil {
					tt.setup(t, e)
				}
				e.address = strings.Replace(e.address, "P", strconv.Itoa(e.port), 1)
				rec := &recorder{}
				rec.wrap(e.lc)
				network := strings.Replace(strings.Replace(tt.network, "other", other, 1), "ip", proto, 1)
				mode, err := listenOn(e.ctx, e.lc, proto, network, e.address, e.opts...)
				if err == nil {
					t.Fatalf("Listen(%q, %q) succeeded in mode %v, want an error", network, e.address, mode)
				}
				wantAddr := strings.Replace(tt.wantAddr, "P", strconv.Itoa(e.port), 1)
				if wantAddr == "opened" {
					if len(rec.addrs) == 0 {
						t.Fatalf("Listen error %q: no socket was opened", err)
					}
					wantAddr = rec.addrs[0].String()
				}
				checkListenError(t, err, network, wantAddr, tt.wantIs...)
				for _, as := range tt.wantAs {
					if !as.ok(err) {
						t.Errorf("Listen error %q holds no %s", err, as.name)
					}
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("Listen error %q does not say %q", err, tt.wantText)
				}
				rec.requireAllClosed(t)
			})
		}
	}
}
