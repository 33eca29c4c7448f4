package dualstack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// TestListenServesBothFamilies is the core promise: a wildcard "tcp"
// listen serves 127.0.0.1 and ::1 clients on one port through one Accept,
// whichever mode it achieves, and the peer addresses come out normalised.
func TestListenServesBothFamilies(t *testing.T) {
	runBothFamilyCases(t, func(t *testing.T, tc bothFamilyCase) {
		lc := tc.lc()
		l := mustListen(t, lc, "tcp", ":0")
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
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	// Only a host where the name does not resolve is skipped; once it
	// does, Listen must succeed on one of its addresses.
	addrs, err := net.DefaultResolver.LookupHost(ctx, "localhost")
	if err != nil {
		t.Skipf("skipping: localhost does not resolve here: %v", err)
	}
	l, err := dualstack.Listen(ctx, "tcp", "localhost:0")
	if err != nil {
		t.Fatalf("Listen(tcp, localhost:0) with localhost at %v: %v", addrs, err)
	}
	defer l.Close()
	ap, _ := dualstack.AddrPort(l.Addr())
	want := dualstack.IPv6Only
	if ap.Addr().Is4() {
		want = dualstack.IPv4Only
	}
	if !slices.Contains(addrs, ap.Addr().String()) || l.Mode() != want {
		t.Errorf("Listen(tcp, localhost:0) = %v in mode %v, want one of %v in mode %v", l.Addr(), l.Mode(), addrs, want)
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
			setup:  func(lc *dualstack.ListenConfig) { dualstack.SetHooks(lc, withoutFamily('6')) },
			wantIs: []error{dualstack.ErrMode, syscall.EAFNOSUPPORT},
		},
		{
			name: "both families required, no IPv4, v6only forced", network: "udp", modes: dualstack.BothFamilies,
			setup:  func(lc *dualstack.ListenConfig) { forceV6Only(lc, forced, withoutFamily('4')) },
			wantIs: []error{dualstack.ErrMode, syscall.EAFNOSUPPORT},
		},
		{
			name: "no family at all", network: "tcp",
			setup: func(lc *dualstack.ListenConfig) {
				dualstack.SetHooks(lc, failWhen(func(network, _ string) error { return noFamilyError(network) }))
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
			dualstack.SetHooks(lc, withoutFamily('6'))
			if proto == "tcp" {
				l := mustListen(t, lc, "tcp", ":0")
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
			pc := mustListenPacket(t, lc, "udp", ":0")
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
	forceV6Only(lc, v6OnlyForced[0].err, withoutFamily('4'))
	l := mustListen(t, lc, "tcp", ":0")
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
				p := holdPort(t, proto+tt.taken, loopback(host, 0))

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
					// The hook runs inside Listen, so a failure to steal
					// is reported with Errorf: Fatal would leave Listen's
					// sockets open.
					if proto == "tcp" {
						if hl, err := net.Listen(network, address); err != nil {
							t.Errorf("stealing %s %s: %v", network, address, err)
						} else {
							holders = append(holders, hl.Close)
						}
					} else if hc, err := net.ListenPacket(network, address); err != nil {
						t.Errorf("stealing %s %s: %v", network, address, err)
					} else {
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
