package dualstack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// ioTimeout bounds every wait on the network in these tests; loopback
// answers in microseconds, so reaching it means a bug, not a slow host.
const ioTimeout = 10 * time.Second

// stacks probes the loopback addresses once, as nettest does, so tests can
// skip on hosts without one of them.
var stacks = sync.OnceValues(func() (v4, v6 error) {
	probe := func(addr string) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		return l.Close()
	}
	return probe("127.0.0.1:0"), probe("[::1]:0")
})

func requireBothStacks(t *testing.T) {
	t.Helper()
	v4, v6 := stacks()
	if v4 != nil {
		t.Skipf("skipping: IPv4 loopback unavailable: %v", v4)
	}
	if v6 != nil {
		t.Skipf("skipping: IPv6 loopback unavailable: %v", v6)
	}
}

// The ways a kernel can refuse to clear IPV6_V6ONLY: OpenBSD's kernel
// returns EINVAL from setsockopt(2), and sockopt refuses V6Only(false) on
// OpenBSD and DragonFly before any system call.
var v6OnlyForced = []struct {
	name string
	err  error
}{
	{"kernel EINVAL", os.NewSyscallError("setsockopt", syscall.EINVAL)},
	{"sockopt unsupported", &sockopt.OptionError{Option: sockopt.V6Only(false), Err: fmt.Errorf("%w on openbsd", errors.ErrUnsupported)}},
}

// forceV6Only makes lc see a kernel that cannot clear IPV6_V6ONLY.
func forceV6Only(lc *dualstack.ListenConfig, err error, h dualstack.Hooks) {
	h.ClearV6Only = func(string, string, syscall.RawConn) error { return err }
	dualstack.SetHooks(lc, h)
}

// sysError is what net returns when the system call named call fails
// with errno for a socket of network.
func sysError(network, call string, errno syscall.Errno) error {
	return &net.OpError{Op: "listen", Net: network, Err: os.NewSyscallError(call, errno)}
}

// noFamilyError is what net returns when socket(2) fails for a family the
// kernel lacks.
func noFamilyError(network string) error { return sysError(network, "socket", syscall.EAFNOSUPPORT) }

// failWhen returns hooks under which a socket fails with the error fail
// returns for its network and address, and is opened for real when fail
// returns nil.
func failWhen(fail func(network, address string) error) dualstack.Hooks {
	return dualstack.Hooks{
		Listen: func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.Listener, error) {
			if err := fail(network, address); err != nil {
				return nil, err
			}
			return lc.Listen(ctx, network, address)
		},
		ListenPacket: func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.PacketConn, error) {
			if err := fail(network, address); err != nil {
				return nil, err
			}
			return lc.ListenPacket(ctx, network, address)
		},
	}
}

// withoutFamily returns hooks under which creating a socket of the family
// ('4' or '6') fails with EAFNOSUPPORT, as on a kernel built or booted
// without it.
func withoutFamily(family byte) dualstack.Hooks {
	return failWhen(func(network, _ string) error {
		if network[len(network)-1] == family {
			return noFamilyError(network)
		}
		return nil
	})
}

func portOf(t *testing.T, a net.Addr) int {
	t.Helper()
	ap, ok := dualstack.AddrPort(a)
	if !ok {
		t.Fatalf("AddrPort(%v) failed", a)
	}
	return int(ap.Port())
}

func loopback(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// accept runs l.Accept bounded by ioTimeout.
func accept(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(ioTimeout):
		// Closing the listener ends the goroutine above.
		l.Close()
		t.Fatalf("Accept did not return within %v", ioTimeout)
		return nil
	}
}

// roundTrip dials addr, accepts the connection on l, and sends a message
// each way. It returns the accepted connection.
func roundTrip(t *testing.T, l net.Listener, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: ioTimeout}
	cli, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	t.Cleanup(func() { cli.Close() })
	srv := accept(t, l)
	deadline := time.Now().Add(ioTimeout)
	cli.SetDeadline(deadline)
	srv.SetDeadline(deadline)

	ping, pong := []byte("ping from "+cli.LocalAddr().String()), []byte("pong")
	if _, err := cli.Write(ping); err != nil {
		t.Fatalf("client Write: %v", err)
	}
	got := make([]byte, len(ping))
	if _, err := io.ReadFull(srv, got); err != nil || !bytes.Equal(got, ping) {
		t.Fatalf("server read %q, %v; want %q", got, err, ping)
	}
	if _, err := srv.Write(pong); err != nil {
		t.Fatalf("server Write: %v", err)
	}
	got = make([]byte, len(pong))
	if _, err := io.ReadFull(cli, got); err != nil || !bytes.Equal(got, pong) {
		t.Fatalf("client read %q, %v; want %q", got, err, pong)
	}
	// The server must see the client's own address, normalised.
	want, _ := dualstack.AddrPort(cli.LocalAddr())
	if got, ok := dualstack.AddrPort(srv.RemoteAddr()); !ok || got != want {
		t.Errorf("server sees peer %v (AddrPort %v, %t); client is %v", srv.RemoteAddr(), got, ok, want)
	}
	return srv
}

// packetRoundTrip sends a datagram from a new client socket to addr,
// receives it on pc, replies through pc to the address ReadFrom returned,
// and checks the client gets the reply from pc's port. It returns the
// sender address ReadFrom reported.
func packetRoundTrip(t *testing.T, pc net.PacketConn, addr string) net.Addr {
	t.Helper()
	cli, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatalf("Dial(udp, %q): %v", addr, err)
	}
	defer cli.Close()
	deadline := time.Now().Add(ioTimeout)
	cli.SetDeadline(deadline)
	pc.SetReadDeadline(deadline)
	defer pc.SetReadDeadline(time.Time{})

	msg := []byte("datagram from " + cli.LocalAddr().String())
	if _, err := cli.Write(msg); err != nil {
		t.Fatalf("client Write: %v", err)
	}
	buf := make([]byte, 1500)
	n, from, err := pc.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("ReadFrom = %q, %v, %v; want %q", buf[:n], from, err, msg)
	}
	want, _ := dualstack.AddrPort(cli.LocalAddr())
	if got, ok := dualstack.AddrPort(from); !ok || got != want {
		t.Errorf("ReadFrom sender %v (AddrPort %v, %t); client is %v", from, got, ok, want)
	}
	reply := []byte("reply to " + cli.LocalAddr().String())
	if _, err := pc.WriteTo(reply, from); err != nil {
		t.Fatalf("WriteTo(%v): %v", from, err)
	}
	n, err = cli.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], reply) {
		t.Fatalf("client Read = %q, %v; want %q", buf[:n], err, reply)
	}
	return from
}

// canBind binds a socket to address and closes it again, to prove that
// nothing else holds the address. An IPv6 socket gets IPV6_V6ONLY, so a
// socket holding the port on IPv4 only does not count.
func canBind(t *testing.T, network, address string) error {
	t.Helper()
	lc := net.ListenConfig{Control: sockopt.Control(sockopt.V6Only(true))}
	if network[:3] == "udp" {
		pc, err := lc.ListenPacket(context.Background(), network, address)
		if err == nil {
			pc.Close()
		}
		return err
	}
	l, err := lc.Listen(context.Background(), network, address)
	if err == nil {
		l.Close()
	}
	return err
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// goid returns the calling goroutine's id, as runtime.Stack prints it.
func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// goBlocked runs call in a new goroutine and waits until that goroutine is
// parked inside fn (such as "dualstack.(*Listener).Accept"), so the test
// knows the call is pending before it acts on it. It reads the goroutine's
// state from runtime.Stack and yields between reads; ioTimeout bounds it.
// The call's error arrives on the returned channel.
func goBlocked(t *testing.T, fn string, call func() error) <-chan error {
	t.Helper()
	idc, errc := make(chan string, 1), make(chan error, 1)
	go func() {
		idc <- goid()
		errc <- call()
	}()
	prefix := "goroutine " + <-idc + " ["
	deadline := time.Now().Add(ioTimeout)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if !strings.HasPrefix(g, prefix) {
				continue
			}
			header, _, _ := strings.Cut(g, "\n")
			parked := strings.Contains(header, "[IO wait") || strings.Contains(header, "[select") || strings.Contains(header, "[chan receive")
			if parked && strings.Contains(g, fn+"(") {
				return errc
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("the call did not block in %s within %v", fn, ioTimeout)
	return nil
}

// checkListenError checks that err is the one kind of error Listen and
// ListenPacket return: a *net.OpError with Op "listen", the network and
// address asked for (address "" for none), and no *net.OpError inside it,
// whose cause matches each of wantIs.
func checkListenError(t *testing.T, err error, network, address string, wantIs ...error) {
	t.Helper()
	oe, ok := err.(*net.OpError)
	if !ok {
		t.Fatalf("Listen error %q is a %T, want a *net.OpError", err, err)
	}
	got := struct{ Op, Net, Addr string }{oe.Op, oe.Net, ""}
	if oe.Addr != nil {
		got.Addr = oe.Addr.String()
	}
	want := struct{ Op, Net, Addr string }{"listen", network, address}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Listen error %q: OpError fields (-want +got):\n%s", err, diff)
	}
	if oe.Addr != nil && oe.Addr.Network() != network[:3] {
		t.Errorf("Listen error %q: Addr is a %T, want a %s address", err, oe.Addr, network[:3])
	}
	var inner *net.OpError
	if errors.As(oe.Err, &inner) {
		t.Errorf("Listen error %q holds another *net.OpError: %q", err, inner)
	}
	for _, w := range wantIs {
		if !errors.Is(err, w) {
			t.Errorf("Listen error %q does not match %v", err, w)
		}
	}
}

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

// listenMode listens on network ("tcp..." or "udp...") and closes again,
// returning the mode.
func listenMode(lc *dualstack.ListenConfig, network, address string) (dualstack.Mode, error) {
	return listenOn(context.Background(), lc, network[:3], network, address)
}

// listenOn calls Listen for proto "tcp" and ListenPacket for "udp", closes
// what it opened, and returns the mode.
func listenOn(ctx context.Context, lc *dualstack.ListenConfig, proto, network, address string, opts ...sockopt.Option) (dualstack.Mode, error) {
	if proto == "udp" {
		pc, err := lc.ListenPacket(ctx, network, address, opts...)
		if err != nil {
			return 0, err
		}
		return pc.Mode(), pc.Close()
	}
	l, err := lc.Listen(ctx, network, address, opts...)
	if err != nil {
		return 0, err
	}
	return l.Mode(), l.Close()
}

// holdPort binds a socket to address for the rest of the test and returns
// its port. An IPv6 socket gets IPV6_V6ONLY, so it holds the port on IPv6
// alone.
func holdPort(t *testing.T, network, address string) int {
	t.Helper()
	lc := net.ListenConfig{Control: sockopt.Control(sockopt.V6Only(true))}
	var c io.Closer
	var addr net.Addr
	if strings.HasPrefix(network, "udp") {
		pc, err := lc.ListenPacket(context.Background(), network, address)
		if err != nil {
			t.Fatalf("holding %s %s: %v", network, address, err)
		}
		c, addr = pc, pc.LocalAddr()
	} else {
		l, err := lc.Listen(context.Background(), network, address)
		if err != nil {
			t.Fatalf("holding %s %s: %v", network, address, err)
		}
		c, addr = l, l.Addr()
	}
	t.Cleanup(func() { c.Close() })
	return portOf(t, addr)
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

var errDeadline = os.ErrDeadlineExceeded

// runBothFamilyCases runs f as a parallel subtest for each of
// bothFamilyCases, on a host with both loopbacks.
func runBothFamilyCases(t *testing.T, f func(t *testing.T, tc bothFamilyCase)) {
	requireBothStacks(t)
	t.Parallel()
	for _, tc := range bothFamilyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f(t, tc)
		})
	}
}

// mustListen listens with lc and closes the listener when the test ends.
func mustListen(t *testing.T, lc *dualstack.ListenConfig, network, address string) *dualstack.Listener {
	t.Helper()
	l, err := lc.Listen(context.Background(), network, address)
	if err != nil {
		t.Fatalf("Listen(%q, %q): %v", network, address, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// mustListenPacket is mustListen for ListenPacket.
func mustListenPacket(t *testing.T, lc *dualstack.ListenConfig, network, address string) *dualstack.PacketConn {
	t.Helper()
	pc, err := lc.ListenPacket(context.Background(), network, address)
	if err != nil {
		t.Fatalf("ListenPacket(%q, %q): %v", network, address, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}
