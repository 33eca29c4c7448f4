package dualstack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/nettest"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// socketState is what the kernel says about one socket of a listener.
type socketState struct {
	Network string
	V6Only  bool
}

func kernelState(t *testing.T, scs []syscall.Conn) []socketState {
	t.Helper()
	var got []socketState
	for _, sc := range scs {
		s, err := sockopt.Get(sc)
		if err != nil {
			t.Fatalf("sockopt.Get: %v", err)
		}
		got = append(got, socketState{s.Network, s.V6Only})
	}
	return got
}

func addrStrings(addrs []net.Addr) []string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return s
}

// bothFamilyCase is one way a wildcard listen serves both families.
type bothFamilyCase struct {
	name      string
	lc        func() *dualstack.ListenConfig
	wantMode  dualstack.Mode
	wantAddrs []string // with P for the port
	wantState func(proto string) []socketState
}

// sockets is what a *Listener and a *PacketConn both report.
type sockets interface {
	Mode() dualstack.Mode
	Addrs() []net.Addr
	SyscallConns() []syscall.Conn
}

// checkSockets checks the mode, the addresses and the kernel's view of
// the sockets that tc promises for proto ("tcp" or "udp"), and returns
// the port they share.
func checkSockets(t *testing.T, tc bothFamilyCase, proto string, s sockets, addr net.Addr) int {
	t.Helper()
	if got := s.Mode(); got != tc.wantMode {
		t.Fatalf("Mode() = %v, want %v", got, tc.wantMode)
	}
	p := portOf(t, addr)
	want := strings.Split(strings.ReplaceAll(strings.Join(tc.wantAddrs, " "), "P", strconv.Itoa(p)), " ")
	if diff := cmp.Diff(want, addrStrings(s.Addrs())); diff != "" {
		t.Errorf("Addrs() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tc.wantState(proto), kernelState(t, s.SyscallConns())); diff != "" {
		t.Errorf("sockets as the kernel holds them (-want +got):\n%s", diff)
	}
	return p
}

// bothFamilyCases are the ways a wildcard listen serves both families.
func bothFamilyCases() []bothFamilyCase {
	single := func(proto string) []socketState { return []socketState{{proto + "6", false}} }
	two := func(proto string) []socketState { return []socketState{{proto + "6", true}, {proto + "4", false}} }
	type tc = bothFamilyCase
	cases := []tc{
		{"single socket", func() *dualstack.ListenConfig { return &dualstack.ListenConfig{} }, dualstack.SingleSocket, []string{"[::]:P"}, single},
		{"single socket unmapped", func() *dualstack.ListenConfig { return &dualstack.ListenConfig{Unmap: true} }, dualstack.SingleSocket, []string{"[::]:P"}, single},
		{"two sockets requested", func() *dualstack.ListenConfig { return &dualstack.ListenConfig{Modes: dualstack.TwoSockets} }, dualstack.TwoSockets, []string{"[::]:P", "0.0.0.0:P"}, two},
	}
	for _, f := range v6OnlyForced {
		cases = append(cases, tc{"v6only forced, " + f.name, func() *dualstack.ListenConfig {
			lc := &dualstack.ListenConfig{}
			forceV6Only(lc, f.err, dualstack.Hooks{})
			return lc
		}, dualstack.TwoSockets, []string{"[::]:P", "0.0.0.0:P"}, two})
	}
	return cases
}

// TestListenServesBothFamilies is the core promise: a wildcard "tcp"
// listen serves 127.0.0.1 and ::1 clients on one port through one Accept,
// whichever mode it achieves, and the peer addresses come out normalised.
func TestListenServesBothFamilies(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lc := tc.lc()
			l, err := lc.Listen(context.Background(), "tcp", ":0")
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer l.Close()
			p := checkSockets(t, tc, "tcp", l, l.Addr())

			srv4 := roundTrip(t, l, loopback("127.0.0.1", p))
			srv6 := roundTrip(t, l, loopback("::1", p))
			for _, c := range []struct {
				srv  net.Conn
				want netip.Addr
			}{{srv4, netip.MustParseAddr("127.0.0.1")}, {srv6, netip.MustParseAddr("::1")}} {
				if ap, _ := dualstack.AddrPort(c.srv.RemoteAddr()); ap.Addr() != c.want {
					t.Errorf("normalised peer = %v, want %v", ap.Addr(), c.want)
				}
			}

			// What net itself reports for the IPv4 client: mapped on the
			// one dual-stack socket unless Unmap is set. This is the bug
			// AddrPort and Unmap exist for (go.dev/issue/54234).
			raw := srv4.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
			wantMapped := tc.wantMode == dualstack.SingleSocket && !lc.Unmap
			if raw.Is4In6() != wantMapped {
				t.Errorf("RemoteAddr().AddrPort() = %v, mapped %t, want mapped %t", raw, raw.Is4In6(), wantMapped)
			}
			if lc.Unmap {
				c, ok := srv4.(*dualstack.Conn)
				if !ok {
					t.Fatalf("Accept returned %T with Unmap set, want *dualstack.Conn", srv4)
				}
				if got, want := c.LocalAddr().String(), loopback("127.0.0.1", p); got != want {
					t.Errorf("LocalAddr() = %s, want %s", got, want)
				}
				// The wrapper keeps SyscallConn, so sockopt still works.
				if s, err := sockopt.Get(c); err != nil || s.Network != "tcp6" {
					t.Errorf("sockopt.Get(*Conn) = %+v, %v; want the tcp6 socket", s, err)
				}
			}
		})
	}
}

// TestListenPacketServesBothFamilies is TestListenServesBothFamilies for
// UDP: one PacketConn receives from both loopbacks and each reply leaves
// through the socket of its destination's family.
func TestListenPacketServesBothFamilies(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lc := tc.lc()
			pc, err := lc.ListenPacket(context.Background(), "udp", ":0")
			if err != nil {
				t.Fatalf("ListenPacket: %v", err)
			}
			defer pc.Close()
			p := checkSockets(t, tc, "udp", pc, pc.LocalAddr())
			from4 := packetRoundTrip(t, pc, loopback("127.0.0.1", p))
			packetRoundTrip(t, pc, loopback("::1", p))

			// ReadFrom hands out the mapped form exactly when net would
			// and Unmap is not set.
			raw := from4.(*net.UDPAddr).AddrPort().Addr()
			wantMapped := tc.wantMode == dualstack.SingleSocket && !lc.Unmap
			if raw.Is4In6() != wantMapped {
				t.Errorf("ReadFrom address %v mapped %t, want mapped %t", raw, raw.Is4In6(), wantMapped)
			}
		})
	}
}

// TestListenAddressForms checks the table in the package documentation:
// which network and address give which sockets.
func TestListenAddressForms(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	tests := []struct {
		name, network, address string
		wantMode               dualstack.Mode
		wantState              []socketState // with "ip" for the protocol
		wantHost               string        // of Addr, "" to skip
	}{
		{"empty address", "ip", "", dualstack.SingleSocket, []socketState{{"ip6", false}}, "::"},
		{"port only", "ip", ":0", dualstack.SingleSocket, []socketState{{"ip6", false}}, "::"},
		{"IPv4 wildcard", "ip", "0.0.0.0:0", dualstack.SingleSocket, []socketState{{"ip6", false}}, "::"},
		{"IPv6 wildcard", "ip", "[::]:0", dualstack.SingleSocket, []socketState{{"ip6", false}}, "::"},
		{"mapped wildcard", "ip", "[::ffff:0.0.0.0]:0", dualstack.SingleSocket, []socketState{{"ip6", false}}, "::"},
		{"IPv4 host", "ip", "127.0.0.1:0", dualstack.IPv4Only, []socketState{{"ip4", false}}, "127.0.0.1"},
		{"mapped IPv4 host", "ip", "[::ffff:127.0.0.1]:0", dualstack.IPv4Only, []socketState{{"ip4", false}}, "127.0.0.1"},
		{"IPv6 host", "ip", "[::1]:0", dualstack.IPv6Only, []socketState{{"ip6", true}}, "::1"},
		{"v4 network wildcard", "ip4", ":0", dualstack.IPv4Only, []socketState{{"ip4", false}}, "0.0.0.0"},
		{"v6 network wildcard", "ip6", ":0", dualstack.IPv6Only, []socketState{{"ip6", true}}, "::"},
		{"v6 network IPv6 wildcard", "ip6", "[::]:0", dualstack.IPv6Only, []socketState{{"ip6", true}}, "::"},
	}
	for _, proto := range []string{"tcp", "udp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				network := strings.Replace(tt.network, "ip", proto, 1)
				var wantState []socketState
				for _, s := range tt.wantState {
					wantState = append(wantState, socketState{strings.Replace(s.Network, "ip", proto, 1), s.V6Only})
				}
				var (
					mode  dualstack.Mode
					addr  net.Addr
					scs   []syscall.Conn
					close func() error
				)
				if proto == "tcp" {
					l, err := dualstack.Listen(context.Background(), network, tt.address)
					if err != nil {
						t.Fatalf("Listen(%q, %q): %v", network, tt.address, err)
					}
					mode, addr, scs, close = l.Mode(), l.Addr(), l.SyscallConns(), l.Close
				} else {
					pc, err := dualstack.ListenPacket(context.Background(), network, tt.address)
					if err != nil {
						t.Fatalf("ListenPacket(%q, %q): %v", network, tt.address, err)
					}
					mode, addr, scs, close = pc.Mode(), pc.LocalAddr(), pc.SyscallConns(), pc.Close
				}
				defer close()
				if mode != tt.wantMode {
					t.Errorf("Mode() = %v, want %v", mode, tt.wantMode)
				}
				if ap, _ := dualstack.AddrPort(addr); ap.Addr().String() != tt.wantHost {
					t.Errorf("Addr() = %v, want host %s", addr, tt.wantHost)
				}
				if diff := cmp.Diff(wantState, kernelState(t, scs)); diff != "" {
					t.Errorf("sockets as the kernel holds them (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestListenHostName checks that a host name goes to net unchanged and
// the mode follows the family net chose.
func TestListenHostName(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	l, err := dualstack.Listen(context.Background(), "tcp", "localhost:0")
	if err != nil {
		t.Skipf("skipping: localhost does not resolve here: %v", err)
	}
	defer l.Close()
	ap, _ := dualstack.AddrPort(l.Addr())
	want := dualstack.IPv6Only
	if ap.Addr().Is4() {
		want = dualstack.IPv4Only
	}
	if !ap.Addr().IsLoopback() || l.Mode() != want {
		t.Errorf("Listen(tcp, localhost:0) = %v in mode %v, want a loopback address in mode %v", l.Addr(), l.Mode(), want)
	}
}

// TestListenConfigControl checks that the template's Control runs on every
// socket in every mode, and that its error fails Listen with nothing left
// open.
func TestListenConfigControl(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	errControl := errors.New("control says no")
	tests := []struct {
		name     string
		modes    dualstack.Mode
		failOn   string // fail the Control call for this network
		want     []string
		wantMode dualstack.Mode
	}{
		{name: "single socket", want: []string{"tcp6"}, wantMode: dualstack.SingleSocket},
		{name: "two sockets", modes: dualstack.TwoSockets, want: []string{"tcp4", "tcp6"}, wantMode: dualstack.TwoSockets},
		{name: "two sockets, IPv4 Control fails", modes: dualstack.TwoSockets, failOn: "tcp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			seen := map[string]bool{}
			lc := &dualstack.ListenConfig{Modes: tt.modes}
			lc.ListenConfig.Control = func(network, _ string, _ syscall.RawConn) error {
				mu.Lock()
				defer mu.Unlock()
				seen[network] = true
				if network == tt.failOn {
					return errControl
				}
				return nil
			}
			rec := &recorder{}
			rec.wrap(lc)
			mode, err := listenMode(lc, "tcp", ":0")
			if tt.failOn != "" {
				if !errors.Is(err, errControl) {
					t.Errorf("Listen = mode %v, error %v; want the Control error", mode, err)
				}
				rec.requireAllClosed(t)
				return
			}
			if err != nil || mode != tt.wantMode {
				t.Fatalf("Listen = mode %v, error %v; want mode %v", mode, err, tt.wantMode)
			}
			mu.Lock()
			defer mu.Unlock()
			var got []string
			for _, n := range []string{"tcp4", "tcp6"} {
				if seen[n] {
					got = append(got, n)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Control saw networks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListenErrors checks the errors of Listen and ListenPacket that do
// not depend on the kernel.
func TestListenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		network, address string
		modes            dualstack.Mode
		opts             []sockopt.Option
		wantIs           error
		wantText         string
	}{
		{name: "unknown network", network: "unix", address: "/tmp/x", wantText: "unknown network unix"},
		{name: "other protocol", network: "udp", address: ":0", wantText: "unknown network udp"},
		{name: "no port", network: "tcp", address: "127.0.0.1", wantText: "missing port"},
		{name: "bad port", network: "tcp", address: ":65536", wantText: "invalid port"},
		{name: "V6Only option", network: "tcp", address: ":0", opts: []sockopt.Option{sockopt.V6Only(true)}, wantIs: dualstack.ErrV6Only},
		{name: "V6Only(false) option", network: "tcp6", address: ":0", opts: []sockopt.Option{sockopt.ReusePort(true), sockopt.V6Only(false)}, wantIs: dualstack.ErrV6Only},
		{name: "out of range option", network: "tcp", address: ":0", opts: []sockopt.Option{sockopt.ReadBuffer(-1)}, wantIs: sockopt.ErrRange},
		{name: "invalid modes", network: "tcp", address: ":0", modes: 1 << 6, wantText: "invalid ListenConfig.Modes"},
		{name: "tcp4 not allowed", network: "tcp4", address: ":0", modes: dualstack.BothFamilies, wantIs: dualstack.ErrMode},
		{name: "IPv6 host not allowed", network: "tcp", address: "[::1]:0", modes: dualstack.IPv4Only, wantIs: dualstack.ErrMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lc := dualstack.ListenConfig{Modes: tt.modes}
			l, err := lc.Listen(context.Background(), tt.network, tt.address, tt.opts...)
			if err == nil {
				l.Close()
				t.Fatalf("Listen(%q, %q) succeeded, want an error", tt.network, tt.address)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Listen error %q does not match %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Listen error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

// TestListenModes checks ListenConfig.Modes: a restricted set picks the
// mode or fails with ErrMode, never degrades.
func TestListenModes(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	forced := v6OnlyForced[0].err
	tests := []struct {
		name     string
		network  string
		modes    dualstack.Mode
		setup    func(*dualstack.ListenConfig)
		wantMode dualstack.Mode
		wantIs   []error
	}{
		{name: "default", network: "tcp", wantMode: dualstack.SingleSocket},
		{name: "both families", network: "tcp", modes: dualstack.BothFamilies, wantMode: dualstack.SingleSocket},
		{name: "two sockets only", network: "tcp", modes: dualstack.TwoSockets, wantMode: dualstack.TwoSockets},
		{name: "IPv4 only", network: "tcp", modes: dualstack.IPv4Only, wantMode: dualstack.IPv4Only},
		{name: "IPv6 only", network: "tcp", modes: dualstack.IPv6Only, wantMode: dualstack.IPv6Only},
		{
			name: "single socket required, v6only forced", network: "tcp", modes: dualstack.SingleSocket,
			setup:  func(lc *dualstack.ListenConfig) { forceV6Only(lc, forced, dualstack.Hooks{}) },
			wantIs: []error{dualstack.ErrMode, syscall.EINVAL},
		},
		{
			name: "both families required, no IPv6", network: "tcp", modes: dualstack.BothFamilies,
			setup:  func(lc *dualstack.ListenConfig) { dualstack.SetHooks(lc, withoutFamily('6', dualstack.Hooks{})) },
			wantIs: []error{dualstack.ErrMode, syscall.EAFNOSUPPORT},
		},
		{
			name: "both families required, no IPv4, v6only forced", network: "udp", modes: dualstack.BothFamilies,
			setup:  func(lc *dualstack.ListenConfig) { forceV6Only(lc, forced, withoutFamily('4', dualstack.Hooks{})) },
			wantIs: []error{dualstack.ErrMode, syscall.EAFNOSUPPORT},
		},
		{
			name: "no family at all", network: "tcp",
			setup: func(lc *dualstack.ListenConfig) {
				dualstack.SetHooks(lc, dualstack.Hooks{Listen: func(_ context.Context, _ *net.ListenConfig, network, _ string) (net.Listener, error) {
					return nil, noFamilyError(network)
				}})
			},
			wantIs: []error{syscall.EAFNOSUPPORT},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lc := &dualstack.ListenConfig{Modes: tt.modes}
			rec := &recorder{}
			if tt.setup != nil {
				tt.setup(lc)
			}
			rec.wrap(lc)
			mode, err := listenMode(lc, tt.network, ":0")
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				if mode != tt.wantMode {
					t.Errorf("Mode() = %v, want %v", mode, tt.wantMode)
				}
				return
			}
			if err == nil {
				t.Fatalf("Listen succeeded in mode %v, want an error", mode)
			}
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("Listen error %q does not match %v", err, want)
				}
			}
			rec.requireAllClosed(t)
		})
	}
}

// listenMode listens on network ("tcp..." or "udp...") and closes again,
// returning the mode.
func listenMode(lc *dualstack.ListenConfig, network, address string) (dualstack.Mode, error) {
	if strings.HasPrefix(network, "udp") {
		pc, err := lc.ListenPacket(context.Background(), network, address)
		if err != nil {
			return 0, err
		}
		return pc.Mode(), pc.Close()
	}
	l, err := lc.Listen(context.Background(), network, address)
	if err != nil {
		return 0, err
	}
	return l.Mode(), l.Close()
}

// recorder wraps a ListenConfig's hooks to keep every socket they open,
// so a test can check a failed Listen closed all of them.
type recorder struct {
	mu    sync.Mutex
	socks []interface{ SetDeadline(time.Time) error }
	addrs []net.Addr
}

func (r *recorder) add(s interface{ SetDeadline(time.Time) error }, a net.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.socks = append(r.socks, s)
	r.addrs = append(r.addrs, a)
}

// wrap installs recording around whatever hooks lc has.
func (r *recorder) wrap(lc *dualstack.ListenConfig) {
	h := dualstack.CurrentHooks(lc)
	listen, listenPacket := h.Listen, h.ListenPacket
	h.Listen = func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.Listener, error) {
		l, err := listen(ctx, nlc, network, address)
		if err == nil {
			r.add(l.(*net.TCPListener), l.Addr())
		}
		return l, err
	}
	h.ListenPacket = func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.PacketConn, error) {
		pc, err := listenPacket(ctx, nlc, network, address)
		if err == nil {
			r.add(pc, pc.LocalAddr())
		}
		return pc, err
	}
	dualstack.SetHooks(lc, h)
}

// requireAllClosed fails the test if a recorded socket is still open. A
// closed socket fails SetDeadline with net.ErrClosed.
func (r *recorder) requireAllClosed(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.socks {
		if err := s.SetDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("socket %v left open after failed Listen (SetDeadline: %v)", r.addrs[i], err)
		}
	}
}

// TestListenWithoutIPv6 runs the fallback for a kernel without AF_INET6
// (socket(2) fails with EAFNOSUPPORT, as with ipv6.disable=1): one IPv4
// socket that serves IPv4 clients.
func TestListenWithoutIPv6(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			lc := &dualstack.ListenConfig{}
			dualstack.SetHooks(lc, withoutFamily('6', dualstack.Hooks{}))
			if proto == "tcp" {
				l, err := lc.Listen(context.Background(), "tcp", ":0")
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				defer l.Close()
				if l.Mode() != dualstack.IPv4Only {
					t.Fatalf("Mode() = %v, want IPv4Only", l.Mode())
				}
				p := portOf(t, l.Addr())
				if diff := cmp.Diff([]string{loopback("0.0.0.0", p)}, addrStrings(l.Addrs())); diff != "" {
					t.Errorf("Addrs() mismatch (-want +got):\n%s", diff)
				}
				roundTrip(t, l, loopback("127.0.0.1", p))
				return
			}
			pc, err := lc.ListenPacket(context.Background(), "udp", ":0")
			if err != nil {
				t.Fatalf("ListenPacket: %v", err)
			}
			defer pc.Close()
			if pc.Mode() != dualstack.IPv4Only {
				t.Fatalf("Mode() = %v, want IPv4Only", pc.Mode())
			}
			p := portOf(t, pc.LocalAddr())
			packetRoundTrip(t, pc, loopback("127.0.0.1", p))
			// A mapped destination must still go out of the IPv4 socket.
			if _, err := pc.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), uint16(p))); err != nil {
				t.Errorf("WriteToUDPAddrPort(mapped address) on IPv4Only: %v", err)
			}
		})
	}
}

// TestListenWithoutIPv4 runs the fallback for a kernel that cannot clear
// IPV6_V6ONLY and has no AF_INET: the IPv6 socket alone.
func TestListenWithoutIPv4(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	lc := &dualstack.ListenConfig{}
	forceV6Only(lc, v6OnlyForced[0].err, withoutFamily('4', dualstack.Hooks{}))
	l, err := lc.Listen(context.Background(), "tcp", ":0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	if l.Mode() != dualstack.IPv6Only {
		t.Fatalf("Mode() = %v, want IPv6Only", l.Mode())
	}
	if diff := cmp.Diff([]socketState{{"tcp6", true}}, kernelState(t, l.SyscallConns())); diff != "" {
		t.Errorf("sockets as the kernel holds them (-want +got):\n%s", diff)
	}
	p := portOf(t, l.Addr())
	roundTrip(t, l, loopback("::1", p))
}

// TestListenPortTaken checks that a port held on one family fails Listen
// with EADDRINUSE, in every mode, and leaves nothing listening.
func TestListenPortTaken(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	tests := []struct {
		name     string
		forced   bool
		taken    string // the family whose wildcard is taken: "4" or "6"
		wantText string
	}{
		{"single socket, IPv4 taken", false, "4", "SingleSocket: PROTO6 [::]:"},
		{"single socket, IPv6 taken", false, "6", "SingleSocket: PROTO6 [::]:"},
		{"two sockets, IPv4 taken", true, "4", "TwoSockets: PROTO4 0.0.0.0:"},
		{"two sockets, IPv6 taken", true, "6", "TwoSockets: PROTO6 [::]:"},
	}
	for _, proto := range []string{"tcp", "udp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				// Hold the wildcard of one family: an IPv4 socket, or an
				// IPv6 one with IPV6_V6ONLY set so IPv4 stays free.
				host := "0.0.0.0"
				if tt.taken == "6" {
					host = "::"
				}
				holder := net.ListenConfig{Control: sockopt.Control(sockopt.V6Only(true))}
				var p int
				if proto == "tcp" {
					hl, err := holder.Listen(context.Background(), proto+tt.taken, loopback(host, 0))
					if err != nil {
						t.Fatal(err)
					}
					defer hl.Close()
					p = portOf(t, hl.Addr())
				} else {
					hc, err := holder.ListenPacket(context.Background(), proto+tt.taken, loopback(host, 0))
					if err != nil {
						t.Fatal(err)
					}
					defer hc.Close()
					p = portOf(t, hc.LocalAddr())
				}

				lc := &dualstack.ListenConfig{}
				if tt.forced {
					forceV6Only(lc, v6OnlyForced[0].err, dualstack.Hooks{})
				}
				rec := &recorder{}
				rec.wrap(lc)
				address := loopback("", p)
				mode, err := listenMode(lc, proto, address)
				if err == nil {
					t.Fatalf("Listen(%q) succeeded in mode %v with the IPv%s port taken", address, mode, tt.taken)
				}
				checkListenError(t, err, proto, address, syscall.EADDRINUSE)
				// The cause names the mode and the socket that failed.
				if want := "dualstack: " + strings.ReplaceAll(tt.wantText, "PROTO", proto); !strings.Contains(err.Error(), want) {
					t.Errorf("Listen error %q does not say %q", err, want)
				}
				rec.requireAllClosed(t)
				// And the kernel agrees: the free family's wildcard
				// can be bound on that port.
				free, freeHost := "6", "::"
				if tt.taken == "6" {
					free, freeHost = "4", "0.0.0.0"
				}
				if err := canBind(t, proto+free, loopback(freeHost, p)); err != nil {
					t.Errorf("port %d still held on IPv%s after failed Listen: %v", p, free, err)
				}
			})
		}
	}
}

// TestTwoSocketsOnePort checks that TwoSockets on port 0 ends with one
// port for both families even when another socket takes the port the
// kernel picked on IPv4 first, and that it gives up after a bound number
// of attempts.
func TestTwoSocketsOnePort(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	tests := []struct {
		name       string
		steal      int // how many IPv4 binds lose the race
		port       int // -1: use a taken explicit port
		wantErr    bool
		wantTries4 int
	}{
		{name: "no race", steal: 0, wantTries4: 1},
		{name: "lose twice", steal: 2, wantTries4: 3},
		{name: "lose every time", steal: dualstack.MaxPortAttempts, wantErr: true, wantTries4: dualstack.MaxPortAttempts},
		{name: "explicit port taken", steal: 1, port: -1, wantErr: true, wantTries4: 1},
	}
	for _, proto := range []string{"tcp", "udp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var (
					mu      sync.Mutex
					tries4  int
					stolen  = map[int]bool{}
					holders []func() error
				)
				defer func() {
					for _, h := range holders {
						h()
					}
				}()
				// steal plays the other process: before our IPv4 bind, it
				// binds the same IPv4 address itself, so ours fails with a
				// real EADDRINUSE from the kernel.
				steal := func(network, address string) {
					mu.Lock()
					defer mu.Unlock()
					if !strings.HasSuffix(network, "4") {
						return
					}
					tries4++
					if tries4 > tt.steal {
						return
					}
					_, ps, _ := net.SplitHostPort(address)
					p, _ := strconv.Atoi(ps)
					stolen[p] = true
					if proto == "tcp" {
						if hl, err := net.Listen(network, address); err == nil {
							holders = append(holders, hl.Close)
						}
					} else if hc, err := net.ListenPacket(network, address); err == nil {
						holders = append(holders, hc.Close)
					}
				}
				lc := &dualstack.ListenConfig{}
				forceV6Only(lc, v6OnlyForced[0].err, dualstack.Hooks{
					Listen: func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.Listener, error) {
						steal(network, address)
						return nlc.Listen(ctx, network, address)
					},
					ListenPacket: func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.PacketConn, error) {
						steal(network, address)
						return nlc.ListenPacket(ctx, network, address)
					},
				})
				rec := &recorder{}
				rec.wrap(lc)
				address := ":0"
				if tt.port == -1 {
					// An explicit port: free on IPv6, so the IPv6 bind
					// succeeds and the stolen IPv4 bind fails.
					pl, err := net.Listen("tcp6", "[::1]:0")
					if err != nil {
						t.Fatal(err)
					}
					address = loopback("", portOf(t, pl.Addr()))
					pl.Close()
				}

				var addrs []net.Addr
				var err error
				if proto == "tcp" {
					var l *dualstack.Listener
					if l, err = lc.Listen(context.Background(), "tcp", address); err == nil {
						defer l.Close()
						addrs = l.Addrs()
					}
				} else {
					var pc *dualstack.PacketConn
					if pc, err = lc.ListenPacket(context.Background(), "udp", address); err == nil {
						defer pc.Close()
						addrs = pc.Addrs()
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if tries4 != tt.wantTries4 {
					t.Errorf("IPv4 binds attempted = %d, want %d", tries4, tt.wantTries4)
				}
				if tt.wantErr {
					if err == nil {
						t.Fatalf("Listen succeeded on %v, want an error", addrs)
					}
					if !errors.Is(err, syscall.EADDRINUSE) {
						t.Errorf("Listen error %q does not match EADDRINUSE", err)
					}
					rec.requireAllClosed(t)
					return
				}
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				if len(addrs) != 2 {
					t.Fatalf("Addrs() = %v, want two", addrs)
				}
				p6, p4 := portOf(t, addrs[0]), portOf(t, addrs[1])
				if p6 != p4 || stolen[p6] {
					t.Errorf("ports: IPv6 %d, IPv4 %d (stolen: %v); want one port, not a stolen one", p6, p4, stolen)
				}
			})
		}
	}
}

// TestListenerClose checks that Close closes every socket, unblocks a
// pending Accept with net.ErrClosed and ends the package's goroutines
// (goleak in TestMain checks the last).
func TestListenerClose(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := tc.lc().Listen(context.Background(), "tcp", ":0")
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			p := portOf(t, l.Addr())

			// A connection queued but never accepted must not outlive
			// Close: its client sees EOF or a reset, not a hang.
			cli, err := net.DialTimeout("tcp", loopback("127.0.0.1", p), ioTimeout)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer cli.Close()

			// Take the queued connection, then block in Accept.
			srv := accept(t, l)
			srv.Close()
			errc := goBlocked(t, "dualstack.(*Listener).Accept", func() error {
				_, err := l.Accept()
				return err
			})
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("pending Accept returned %v, want net.ErrClosed", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("Close did not unblock Accept")
			}
			if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
			}
			if err := l.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close = %v, want net.ErrClosed", err)
			}
			// Both families' wildcards are free again on that port.
			for _, a := range []struct{ network, host string }{{"tcp6", "::"}, {"tcp4", "0.0.0.0"}} {
				if err := canBind(t, a.network, loopback(a.host, p)); err != nil {
					t.Errorf("%s port %d still held after Close: %v", a.network, p, err)
				}
			}
		})
	}
}

// TestListenerDeadline checks SetDeadline in every mode: a past deadline
// fails Accept with a timeout, moving it wakes a pending Accept, and
// clearing it makes the listener accept again.
func TestListenerDeadline(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := tc.lc().Listen(context.Background(), "tcp", ":0")
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer l.Close()
			if err := l.SetDeadline(time.Now().Add(-time.Second)); err != nil {
				t.Fatalf("SetDeadline: %v", err)
			}
			_, err = l.Accept()
			var ne net.Error
			if !errors.Is(err, errDeadline) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("Accept past deadline = %v, want a timeout matching os.ErrDeadlineExceeded", err)
			}

			l.SetDeadline(time.Now().Add(time.Hour))
			errc := goBlocked(t, "dualstack.(*Listener).Accept", func() error {
				_, err := l.Accept()
				return err
			})
			l.SetDeadline(time.Now())
			select {
			case err := <-errc:
				if !errors.Is(err, errDeadline) {
					t.Errorf("pending Accept after SetDeadline(now) = %v, want timeout", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("SetDeadline(now) did not wake Accept")
			}

			l.SetDeadline(time.Time{})
			p := portOf(t, l.Addr())
			roundTrip(t, l, loopback("::1", p))
			roundTrip(t, l, loopback("127.0.0.1", p))
			l.Close()
			if err := l.SetDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
				t.Errorf("SetDeadline after Close = %v, want net.ErrClosed", err)
			}
		})
	}
}

// failingListener fails its first Accept with EMFILE, as a process out of
// file descriptors does, then accepts normally.
type failingListener struct {
	net.Listener
	once sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	var failed bool
	l.once.Do(func() { failed = true })
	if failed {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorTwoSockets checks that in TwoSockets mode an accept error
// on one socket reaches the caller once and stops neither socket.
func TestAcceptErrorTwoSockets(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	lc := &dualstack.ListenConfig{Modes: dualstack.TwoSockets}
	dualstack.SetHooks(lc, dualstack.Hooks{Listen: func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.Listener, error) {
		l, err := nlc.Listen(ctx, network, address)
		if err == nil && network == "tcp4" {
			return &failingListener{Listener: l}, nil
		}
		return l, err
	}})
	l, err := lc.Listen(context.Background(), "tcp", ":0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer l.Close()
	if _, err := l.Accept(); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("first Accept = %v, want the IPv4 socket's EMFILE", err)
	}
	p := portOf(t, l.Addr())
	roundTrip(t, l, loopback("127.0.0.1", p))
	roundTrip(t, l, loopback("::1", p))
}

// TestListenerCloseHeldConn checks that in TwoSockets mode a connection an
// accept goroutine took but Accept never returned is closed by Close.
func TestListenerCloseHeldConn(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	l, err := (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).Listen(context.Background(), "tcp", ":0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	p := portOf(t, l.Addr())
	var clis []net.Conn
	for _, host := range []string{"127.0.0.1", "::1"} {
		cli, err := net.DialTimeout("tcp", loopback(host, p), ioTimeout)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer cli.Close()
		clis = append(clis, cli)
	}
	l.Close()
	for _, cli := range clis {
		cli.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := cli.Read(make([]byte, 1)); err == nil || errors.Is(err, errDeadline) {
			t.Errorf("client %v: Read after listener Close = %v, want EOF or reset", cli.LocalAddr(), err)
		}
	}
}

var errDeadline = os.ErrDeadlineExceeded

// TestPacketConnDeadlinesAndClose checks that Close unblocks ReadFrom, later calls
// fail with net.ErrClosed, and read deadlines wake a pending ReadFrom, in
// every mode.
func TestPacketConnDeadlinesAndClose(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pc, err := tc.lc().ListenPacket(context.Background(), "udp", ":0")
			if err != nil {
				t.Fatalf("ListenPacket: %v", err)
			}
			defer pc.Close()
			buf := make([]byte, 64)

			// A deadline in the past fails at once with a timeout.
			pc.SetReadDeadline(time.Now().Add(-time.Second))
			_, _, err = pc.ReadFrom(buf)
			var ne net.Error
			if !errors.Is(err, errDeadline) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("ReadFrom past deadline = %v, want a timeout matching os.ErrDeadlineExceeded", err)
			}

			// Moving the deadline into the past wakes a pending ReadFrom.
			pc.SetReadDeadline(time.Now().Add(time.Hour))
			errc := goBlocked(t, "dualstack.(*PacketConn).ReadFrom", func() error {
				_, _, err := pc.ReadFrom(buf)
				return err
			})
			pc.SetReadDeadline(time.Now())
			select {
			case err := <-errc:
				if !errors.Is(err, errDeadline) {
					t.Errorf("pending ReadFrom after SetReadDeadline(now) = %v, want timeout", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("SetReadDeadline(now) did not wake ReadFrom")
			}

			// Clearing the deadline makes the socket usable again.
			pc.SetReadDeadline(time.Time{})
			p := portOf(t, pc.LocalAddr())
			packetRoundTrip(t, pc, loopback("127.0.0.1", p))

			// Close unblocks a pending ReadFrom.
			errc = goBlocked(t, "dualstack.(*PacketConn).ReadFrom", func() error {
				_, _, err := pc.ReadFrom(buf)
				return err
			})
			if err := pc.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("pending ReadFrom after Close = %v, want net.ErrClosed", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("Close did not unblock ReadFrom")
			}
			if _, err := pc.WriteTo(buf, &net.UDPAddr{IP: net.IPv6loopback, Port: p}); !errors.Is(err, net.ErrClosed) {
				t.Errorf("WriteTo after Close = %v, want net.ErrClosed", err)
			}
			if err := pc.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close = %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestPacketConnTwoSockets covers what only the two-socket PacketConn
// does itself: truncating to the caller's buffer and refusing an address
// that is not UDP.
func TestPacketConnTwoSockets(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	pc, err := (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	defer pc.Close()
	p := portOf(t, pc.LocalAddr())
	cli, err := net.Dial("udp", loopback("::1", p))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 4)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "0123" {
		t.Errorf("ReadFrom into 4 bytes = %q, %v; want %q", buf[:n], err, "0123")
	}
	if _, err := pc.WriteTo([]byte("x"), &net.UnixAddr{Name: "/x", Net: "unix"}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("WriteTo(UnixAddr) = %v, want EINVAL", err)
	}
}

// TestConnConformance runs x/net's net.Conn conformance suite on the
// unmapping *Conn wrapper.
func TestConnConformance(t *testing.T) {
	requireBothStacks(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		l, err := (&dualstack.ListenConfig{Unmap: true}).Listen(context.Background(), "tcp", ":0")
		if err != nil {
			return nil, nil, nil, err
		}
		defer l.Close()
		cli, err := net.Dial("tcp", loopback("127.0.0.1", portOf(t, l.Addr())))
		if err != nil {
			return nil, nil, nil, err
		}
		srv, err := l.Accept()
		if err != nil {
			cli.Close()
			return nil, nil, nil, err
		}
		if _, ok := srv.(*dualstack.Conn); !ok {
			t.Fatalf("Accept returned %T, want *dualstack.Conn", srv)
		}
		return srv, cli, func() { srv.Close(); cli.Close() }, nil
	})
}

func TestAddrPort(t *testing.T) {
	t.Parallel()
	var nilTCP *net.TCPAddr
	tests := []struct {
		name   string
		addr   net.Addr
		want   netip.AddrPort
		wantOK bool
	}{
		{"mapped TCP", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 80}, mustAddrPort("127.0.0.1:80"), true},
		{"16-byte IPv4 TCP", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, mustAddrPort("10.0.0.1:1"), true},
		{"4-byte IPv4 TCP", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1).To4(), Port: 1}, mustAddrPort("10.0.0.1:1"), true},
		{"IPv6 TCP", &net.TCPAddr{IP: net.IPv6loopback, Port: 443}, mustAddrPort("[::1]:443"), true},
		{"IPv6 zone", &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 53, Zone: "eth0"}, mustAddrPort("[fe80::1%eth0]:53"), true},
		{"mapped UDP", &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 9}, mustAddrPort("192.0.2.1:9"), true},
		{"other type", stringAddr("[::ffff:192.0.2.1]:7"), mustAddrPort("192.0.2.1:7"), true},
		{"unix", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, netip.AddrPort{}, false},
		{"nil", nil, netip.AddrPort{}, false},
		{"nil TCPAddr", nilTCP, netip.AddrPort{}, false},
		{"no IP", &net.TCPAddr{Port: 80}, netip.AddrPort{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := dualstack.AddrPort(tt.addr)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("AddrPort(%v) = %v, %t; want %v, %t", tt.addr, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

type stringAddr string

func (a stringAddr) Network() string { return "test" }
func (a stringAddr) String() string  { return string(a) }

func TestModeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode dualstack.Mode
		want string
	}{
		{dualstack.SingleSocket, "SingleSocket"},
		{dualstack.TwoSockets, "TwoSockets"},
		{dualstack.IPv4Only, "IPv4Only"},
		{dualstack.IPv6Only, "IPv6Only"},
		{dualstack.BothFamilies, "SingleSocket|TwoSockets"},
		{0, "Mode(0)"},
		{1 << 7, "Mode(128)"},
	}
	for _, tt := range tests {
		if got := tt.mode.String(); got != tt.want {
			t.Errorf("Mode(%d).String() = %q, want %q", uint8(tt.mode), got, tt.want)
		}
	}
}

// TestPacketConnUDPConn checks that UDPConn gives the one socket of a
// single-socket PacketConn, whose reads report an IPv4 peer as the kernel
// does (mapped), and nothing in TwoSockets mode.
func TestPacketConnUDPConn(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	pc, err := (&dualstack.ListenConfig{Modes: dualstack.SingleSocket, Unmap: true}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	defer pc.Close()
	uc := pc.UDPConn()
	if uc == nil {
		t.Fatal("UDPConn() = nil in SingleSocket mode")
	}
	if diff := cmp.Diff(addrStrings(pc.Addrs()), []string{uc.LocalAddr().String()}); diff != "" {
		t.Errorf("UDPConn's address is not the PacketConn's (-want +got):\n%s", diff)
	}
	cli, err := net.Dial("udp", loopback("127.0.0.1", portOf(t, pc.LocalAddr())))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	uc.SetReadDeadline(time.Now().Add(ioTimeout))
	_, from, err := uc.ReadFromUDPAddrPort(make([]byte, 8))
	if err != nil {
		t.Fatalf("ReadFromUDPAddrPort: %v", err)
	}
	if !from.Addr().Is4In6() || from.Addr().Unmap() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("peer read from the raw socket = %v, want ::ffff:127.0.0.1", from)
	}

	two, err := (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket TwoSockets: %v", err)
	}
	defer two.Close()
	if got := two.UDPConn(); got != nil {
		t.Errorf("UDPConn() in TwoSockets mode = %v, want nil", got.LocalAddr())
	}
}
