package dualstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// Mode says which sockets a [Listener] or [PacketConn] holds, and so which
// address families it serves. A listener reports exactly one mode; the
// constants are bits so that [ListenConfig.Modes] can name a set of them.
type Mode uint8

const (
	// SingleSocket is one AF_INET6 socket on [::]:port with IPV6_V6ONLY
	// cleared. IPv6 clients connect as themselves and IPv4 clients as
	// IPv4-mapped addresses (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2),
	// which [AddrPort] and [ListenConfig.Unmap] turn back into a.b.c.d.
	SingleSocket Mode = 1 << iota

	// TwoSockets is an AF_INET6 socket on [::]:port with IPV6_V6ONLY set
	// and an AF_INET socket on 0.0.0.0:port, the same port. Listen falls
	// back to it where the kernel refuses to clear IPV6_V6ONLY (OpenBSD,
	// DragonFly). One Accept or ReadFrom serves both sockets.
	TwoSockets

	// IPv4Only is one AF_INET socket: "tcp4" or "udp4", an IPv4 host, or a
	// wildcard on a host whose kernel has no AF_INET6 (EAFNOSUPPORT).
	IPv4Only

	// IPv6Only is one AF_INET6 socket with IPV6_V6ONLY set: "tcp6" or
	// "udp6", an IPv6 host, or a wildcard on a host with no AF_INET.
	IPv6Only
)

// BothFamilies is the set of modes that serve IPv4 and IPv6 clients alike.
// Set [ListenConfig.Modes] to it to make Listen fail rather than serve one
// family.
const BothFamilies = SingleSocket | TwoSockets

const allModes = SingleSocket | TwoSockets | IPv4Only | IPv6Only

var modeNames = [...]string{"SingleSocket", "TwoSockets", "IPv4Only", "IPv6Only"}

// String returns the name of the mode, or the names of a set of modes
// joined by "|" as in "SingleSocket|TwoSockets".
func (m Mode) String() string {
	if m == 0 || m&^allModes != 0 {
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
	var b []byte
	for i, name := range modeNames {
		if m&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, name...)
		}
	}
	return string(b)
}

// Errors returned by [Listen] and [ListenPacket], wrapped with details;
// match them with [errors.Is].
var (
	// ErrMode reports that none of the modes in [ListenConfig.Modes] could
	// be achieved on this host. The error also wraps the reason each
	// allowed mode failed (for example an error matching
	// syscall.EAFNOSUPPORT when IPv6 is missing).
	ErrMode = errors.New("dualstack: no allowed mode is possible")

	// ErrV6Only reports a [sockopt.V6Only] option passed to Listen or
	// ListenPacket. This package sets IPV6_V6ONLY itself on every socket,
	// because the mode it reports depends on it; choose the families with
	// the network ("tcp", "tcp4", "tcp6") or [ListenConfig.Modes] instead.
	ErrV6Only = errors.New("dualstack: V6Only is set by dualstack; choose families with the network or ListenConfig.Modes")
)

// A ListenConfig contains options for listening on both address families.
// The zero value is valid and is what [Listen] and [ListenPacket] use:
// every mode allowed, peer addresses as the kernel reports them, and net's
// defaults for everything else.
type ListenConfig struct {
	// Modes is the set of modes Listen may achieve. Zero means all four.
	// A mode outside the set is never attempted: with Modes set to
	// [BothFamilies], a host without IPv6 makes Listen fail with an error
	// matching [ErrMode] instead of falling back to [IPv4Only]; with Modes
	// set to [TwoSockets], Listen opens two sockets even where one would
	// do. A network or address that names one family ("tcp4", "::1")
	// fails with ErrMode unless Modes includes that family's mode.
	Modes Mode

	// Unmap makes every peer and local address this package hands out
	// report IPv4 endpoints as IPv4: Accept returns a [*Conn] whose
	// RemoteAddr is 127.0.0.1:port rather than [::ffff:127.0.0.1]:port,
	// and [PacketConn.ReadFrom] returns unmapped addresses. Use it when
	// addresses feed allow-lists, rate limiters or logs, so one IPv4
	// client is not seen under two names depending on the mode.
	Unmap bool

	// ListenConfig is the template for every socket Listen creates, so
	// its KeepAlive, KeepAliveConfig and multipath TCP setting
	// ([net.ListenConfig.SetMultipathTCP]) apply as net documents them.
	// Its Control, if not nil, runs on every socket after the options
	// given to Listen have been set and before IPV6_V6ONLY is set; like a
	// [sockopt.Control] function it must be idempotent, because net calls
	// it twice when a multipath TCP socket fails and net retries with TCP.
	ListenConfig net.ListenConfig

	// sys is the seam between the package and the kernel; nil means the
	// real one. Only export_test.go sets it, so tests can make socket
	// creation or IPV6_V6ONLY fail the way other kernels do.
	sys *sysHooks
}

// Listen listens on address for stream connections of both families; see
// [ListenConfig.Listen].
func Listen(ctx context.Context, network, address string, opts ...sockopt.Option) (*Listener, error) {
	var lc ListenConfig
	return lc.Listen(ctx, network, address, opts...)
}

// ListenPacket listens on address for datagrams of both families; see
// [ListenConfig.ListenPacket].
func ListenPacket(ctx context.Context, network, address string, opts ...sockopt.Option) (*PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(ctx, network, address, opts...)
}

// Listen announces on the local network address. The network must be
// "tcp", "tcp4" or "tcp6". With "tcp" and a wildcard host ("", "0.0.0.0",
// "::") it serves both families, trying [SingleSocket], then
// [TwoSockets], then [IPv4Only] and [IPv6Only] as the package overview
// describes; any other network or host listens on what it names. The
// listener's [Listener.Mode] says which sockets it holds.
//
// Every option in opts is checked with [sockopt.Supported] before a socket
// is created. The before-bind and inherited ones are set through Control
// on every socket Listen creates, and the after-connect ones
// ([sockopt.NoDelay], [sockopt.KeepAlive], [sockopt.UserTimeout]), which
// net overwrites on each new connection, are applied to each accepted
// connection as [sockopt.NewListener] does. A [sockopt.V6Only] option is
// refused with [ErrV6Only].
//
// If a step fails for a reason other than a missing family or a kernel that
// cannot clear IPV6_V6ONLY (a port in use, permission denied, an option
// error), Listen returns that error with every socket it opened closed:
// nothing is left listening. The context is used for resolving the port
// and host, as in [net.ListenConfig.Listen].
func (lc *ListenConfig) Listen(ctx context.Context, network, address string, opts ...sockopt.Option) (*Listener, error) {
	socks, mode, err := lc.open(ctx, "tcp", network, address, opts)
	if err != nil {
		return nil, err
	}
	return newListener(socks, mode, lc.Unmap, opts), nil
}

// ListenPacket announces on the local network address for datagrams. The
// network must be "udp", "udp4" or "udp6"; modes, fallbacks and options
// are those of [ListenConfig.Listen], except that TCP-only options are
// skipped, as [sockopt.Control] skips them on datagram sockets. In
// [TwoSockets] mode the returned [PacketConn] reads from both sockets and
// sends each datagram through the socket of its destination's family.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string, opts ...sockopt.Option) (*PacketConn, error) {
	socks, mode, err := lc.open(ctx, "udp", network, address, opts)
	if err != nil {
		return nil, err
	}
	return newPacketConn(socks, mode, lc.Unmap), nil
}

// AddrPort returns the IP address and port of a [*net.TCPAddr],
// [*net.UDPAddr], or any [net.Addr] whose String is "host:port" with an IP
// host, with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) unmapped to
// a.b.c.d. It reports false for a nil address or one without an IP and
// port, such as a [*net.UnixAddr].
//
// A dual-stack socket reports IPv4 peers as IPv4-mapped addresses;
// [net.TCPAddr.String] prints them as IPv4 but [net.TCPAddr.AddrPort]
// keeps them mapped (go.dev/issue/54234), so an allow-list entry for
// 127.0.0.1 does not match. Compare addresses after AddrPort.
func AddrPort(a net.Addr) (netip.AddrPort, bool) {
	var ap netip.AddrPort
	switch a := a.(type) {
	case nil:
		return netip.AddrPort{}, false
	case *net.TCPAddr:
		if a == nil {
			return netip.AddrPort{}, false
		}
		ap = a.AddrPort()
	case *net.UDPAddr:
		if a == nil {
			return netip.AddrPort{}, false
		}
		ap = a.AddrPort()
	default:
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return netip.AddrPort{}, false
		}
	}
	if !ap.Addr().IsValid() {
		return netip.AddrPort{}, false
	}
	return unmap(ap), true
}

// unmap turns ::ffff:a.b.c.d:port into a.b.c.d:port and leaves other
// addresses alone.
func unmap(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}

// Listener is a [net.Listener] on one or two sockets; see [Mode]. Its
// methods are safe for concurrent use.
type Listener struct {
	mode  Mode
	unmap bool
	raw   []net.Listener // the sockets, IPv6 first; closed by Close
	lns   []net.Listener // raw, wrapped to apply after-connect options
	addrs []net.Addr

	// With two sockets, one goroutine per socket accepts and hands each
	// connection over acceptc; done is closed by Close to stop them.
	acceptc chan acceptResult
	done    chan struct{}
	adl     deadline
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ net.Listener = (*Listener)(nil)

// Mode returns the mode the listener achieved.
func (l *Listener) Mode() Mode { return l.mode }

// Addr returns the address of the first socket: [::]:port for
// [SingleSocket] and [TwoSockets], so its port is the port of both.
func (l *Listener) Addr() net.Addr { return l.addrs[0] }

// Addrs returns the address of each socket, IPv6 first: one address except
// in [TwoSockets] mode, where it is [[::]:port 0.0.0.0:port].
func (l *Listener) Addrs() []net.Addr { return append([]net.Addr(nil), l.addrs...) }

// SyscallConns returns the listening sockets, IPv6 first, for reading their
// options with [sockopt.Get] or setting inherited ones with
// [sockopt.Apply]. Closing the listener closes them.
func (l *Listener) SyscallConns() []syscall.Conn {
	scs := make([]syscall.Conn, 0, len(l.raw))
	for _, ln := range l.raw {
		if sc, ok := ln.(syscall.Conn); ok {
			scs = append(scs, sc)
		}
	}
	return scs
}

// Accept waits for and returns the next connection on any of the sockets,
// with the after-connect options given to Listen applied. With
// [ListenConfig.Unmap] set, a TCP connection is returned as a [*Conn].
// After Close, Accept returns an error matching [net.ErrClosed]; Close
// unblocks a pending Accept.
//
// In [TwoSockets] mode each socket has a goroutine that accepts a
// connection as soon as one is queued and holds it until Accept is called,
// so at most one connection per socket is taken off the kernel's backlog
// early. An accept error of one socket (such as EMFILE) is returned by one
// Accept call and does not stop the other socket.
func (l *Listener) Accept() (net.Conn, error) {
	var c net.Conn
	if l.acceptc == nil {
		var err error
		if c, err = l.lns[0].Accept(); err != nil {
			return nil, err
		}
	} else {
		// Check done first: a select between a ready acceptc and a closed
		// done picks at random, and Accept after Close must fail.
		select {
		case <-l.done:
			return nil, l.closedError("accept")
		case <-l.adl.wait():
			return nil, l.opError("accept", os.ErrDeadlineExceeded)
		default:
		}
		select {
		case r := <-l.acceptc:
			if r.err != nil {
				return nil, r.err
			}
			c = r.c
		case <-l.done:
			return nil, l.closedError("accept")
		case <-l.adl.wait():
			return nil, l.opError("accept", os.ErrDeadlineExceeded)
		}
	}
	if l.unmap {
		if tc, ok := c.(*net.TCPConn); ok {
			return NewConn(tc), nil
		}
	}
	return c, nil
}

// SetDeadline sets the deadline for Accept calls, pending ones included,
// as [net.TCPListener.SetDeadline] does: after it, Accept fails with an
// error matching [os.ErrDeadlineExceeded] until the deadline is moved. A
// zero value means no deadline.
func (l *Listener) SetDeadline(t time.Time) error {
	if l.acceptc == nil {
		dl, ok := l.raw[0].(interface{ SetDeadline(time.Time) error })
		if !ok {
			return l.opError("set", errors.ErrUnsupported)
		}
		return dl.SetDeadline(t)
	}
	select {
	case <-l.done:
		return l.closedError("set")
	default:
	}
	l.adl.set(t)
	return nil
}

// Close closes every socket of the listener and unblocks a pending
// Accept. Connections already accepted stay open. Only the first call
// closes; later calls return an error matching [net.ErrClosed].
func (l *Listener) Close() error {
	err := l.closedError("close")
	l.closeOnce.Do(func() {
		if l.done != nil {
			close(l.done)
		}
		var errs []error
		for _, ln := range l.raw {
			errs = append(errs, ln.Close())
		}
		// The accept goroutines return once their socket is closed; any
		// connection one of them held is closed by it, not leaked.
		l.wg.Wait()
		l.adl.stop()
		l.closeErr = errors.Join(errs...)
		err = l.closeErr
	})
	return err
}

func (l *Listener) closedError(op string) error { return l.opError(op, net.ErrClosed) }

func (l *Listener) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: l.addrs[0].Network(), Addr: l.addrs[0], Err: err}
}

// Conn is a TCP connection whose LocalAddr and RemoteAddr report an IPv4
// endpoint of a dual-stack socket as IPv4 (127.0.0.1:port) rather than as
// an IPv4-mapped IPv6 address ([::ffff:127.0.0.1]:port), so that
// RemoteAddr().(*net.TCPAddr).AddrPort() is the address the client dialed
// from. Every other method is the embedded [*net.TCPConn]'s, so a Conn
// keeps SyscallConn (for [sockopt.Apply] and [sockopt.Get]), CloseWrite,
// and the ReadFrom and WriteTo that let io.Copy splice.
type Conn struct {
	*net.TCPConn
	laddr, raddr *net.TCPAddr
}

var (
	_ net.Conn                        = (*Conn)(nil)
	_ syscall.Conn                    = (*Conn)(nil)
	_ interface{ CloseWrite() error } = (*Conn)(nil)
)

// NewConn returns c with unmapped addresses. The addresses are computed
// once, here.
func NewConn(c *net.TCPConn) *Conn {
	return &Conn{TCPConn: c, laddr: unmapTCP(c.LocalAddr()), raddr: unmapTCP(c.RemoteAddr())}
}

// LocalAddr returns the local address, unmapped.
func (c *Conn) LocalAddr() net.Addr { return addrOrNil(c.laddr) }

// RemoteAddr returns the peer's address, unmapped.
func (c *Conn) RemoteAddr() net.Addr { return addrOrNil(c.raddr) }

// addrOrNil avoids returning a non-nil interface holding a nil pointer,
// as net does for a conn without an address.
func addrOrNil(a *net.TCPAddr) net.Addr {
	if a == nil {
		return nil
	}
	return a
}

func unmapTCP(a net.Addr) *net.TCPAddr {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return nil
	}
	if ip4 := ta.IP.To4(); ip4 != nil && len(ta.IP) == net.IPv6len {
		return &net.TCPAddr{IP: ip4, Port: ta.Port}
	}
	return ta
}

// PacketConn is a [net.PacketConn] on one or two UDP sockets; see [Mode].
// Its methods are safe for concurrent use, as those of [net.UDPConn] are.
//
// In [TwoSockets] mode a goroutine per socket reads one datagram ahead into
// a 64 KiB buffer and ReadFrom copies it out, so a datagram longer than
// the caller's buffer is truncated as [net.UDPConn.ReadFrom] truncates it;
// WriteTo sends through the IPv4 socket when the destination is IPv4 or
// IPv4-mapped, and through the IPv6 socket otherwise. In the other modes
// every call goes straight to the one socket.
type PacketConn struct {
	mode  Mode
	unmap bool
	conns []*net.UDPConn // IPv6 first
	addrs []net.Addr

	// TwoSockets only.
	readc chan *datagram
	done  chan struct{}
	rdl   deadline
	wg    sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ net.PacketConn = (*PacketConn)(nil)

// Mode returns the mode the connection achieved.
func (c *PacketConn) Mode() Mode { return c.mode }

// LocalAddr returns the address of the first socket, as [Listener.Addr]
// does.
func (c *PacketConn) LocalAddr() net.Addr { return c.addrs[0] }

// Addrs returns the address of each socket, IPv6 first.
func (c *PacketConn) Addrs() []net.Addr { return append([]net.Addr(nil), c.addrs...) }

// SyscallConns returns the sockets, IPv6 first, for [sockopt.Get] and
// [sockopt.Apply]. Closing c closes them.
func (c *PacketConn) SyscallConns() []syscall.Conn {
	scs := make([]syscall.Conn, len(c.conns))
	for i, uc := range c.conns {
		scs[i] = uc
	}
	return scs
}

// UDPConn returns the one socket of a connection in [SingleSocket],
// [IPv4Only] or [IPv6Only] mode, and nil in [TwoSockets] mode. It is there
// for I/O that [net.PacketConn] does not offer, such as batched reads and
// writes (recvmmsg and sendmmsg through golang.org/x/net/ipv6). Datagrams
// read from it come without this package's address handling: a
// dual-stack socket reports IPv4 peers as IPv4-mapped addresses whatever
// [ListenConfig.Unmap] says. Closing c closes it.
func (c *PacketConn) UDPConn() *net.UDPConn {
	if len(c.conns) != 1 {
		return nil
	}
	return c.conns[0]
}

// ReadFrom reads a datagram from any socket into p and returns the number
// of bytes copied and the sender's address, unmapped if
// [ListenConfig.Unmap] is set.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.readc == nil && !c.unmap {
		// The fast path: exactly net.UDPConn.ReadFrom.
		return c.conns[0].ReadFrom(p)
	}
	n, ap, err := c.ReadFromUDPAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// ReadFromUDPAddrPort is ReadFrom returning the sender as a
// [netip.AddrPort], without allocating in [SingleSocket], [IPv4Only] and
// [IPv6Only] modes.
func (c *PacketConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	if c.readc == nil {
		n, ap, err := c.conns[0].ReadFromUDPAddrPort(p)
		if c.unmap {
			ap = unmap(ap)
		}
		return n, ap, err
	}
	select {
	case <-c.done:
		return 0, netip.AddrPort{}, c.opError("read", net.ErrClosed)
	case <-c.rdl.wait():
		return 0, netip.AddrPort{}, c.opError("read", os.ErrDeadlineExceeded)
	default:
	}
	select {
	case d := <-c.readc:
		n := copy(p, d.buf[:d.n])
		ap, err := d.ap, d.err
		d.release <- struct{}{} // the reader may now reuse its buffer
		if c.unmap {
			ap = unmap(ap)
		}
		return n, ap, err
	case <-c.done:
		return 0, netip.AddrPort{}, c.opError("read", net.ErrClosed)
	case <-c.rdl.wait():
		return 0, netip.AddrPort{}, c.opError("read", os.ErrDeadlineExceeded)
	}
}

// WriteTo sends p to addr, a [*net.UDPAddr] or any address [AddrPort]
// accepts, through the socket of addr's family.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok && len(c.conns) == 1 {
		return c.conns[0].WriteTo(p, ua)
	}
	ap, ok := AddrPort(addr)
	if !ok {
		// The error net.UDPConn.WriteTo gives for an address it cannot use.
		return 0, &net.OpError{Op: "write", Net: c.addrs[0].Network(), Source: c.addrs[0], Addr: addr, Err: syscall.EINVAL}
	}
	return c.WriteToUDPAddrPort(p, ap)
}

// WriteToUDPAddrPort is WriteTo with a [netip.AddrPort] destination; it
// does not allocate.
func (c *PacketConn) WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	uc := c.conns[0]
	if c.mode == IPv4Only || len(c.conns) == 2 && (addr.Addr().Is4() || addr.Addr().Is4In6()) {
		// An AF_INET socket needs the 4-byte form and refuses a mapped
		// address; an AF_INET6 one maps a 4-byte address itself.
		addr = unmap(addr)
		uc = c.conns[len(c.conns)-1]
	}
	return uc.WriteToUDPAddrPort(p, addr)
}

// SetDeadline sets the read and write deadlines, as
// [net.PacketConn.SetDeadline] does.
func (c *PacketConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// SetReadDeadline sets the deadline for ReadFrom calls, pending ones
// included.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if c.readc == nil {
		return c.conns[0].SetReadDeadline(t)
	}
	select {
	case <-c.done:
		return c.opError("set", net.ErrClosed)
	default:
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for WriteTo calls on every socket.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	var errs []error
	for _, uc := range c.conns {
		errs = append(errs, uc.SetWriteDeadline(t))
	}
	return errors.Join(errs...)
}

// SetReadBuffer sets SO_RCVBUF on every socket, as
// [net.UDPConn.SetReadBuffer] does on one; code that tunes a
// [net.PacketConn] by asserting this method (QUIC stacks do) reaches all
// of them. Use [sockopt.ReadBuffer] to learn about a clamp, and
// [sockopt.Get] on [PacketConn.SyscallConns] to read the result back.
func (c *PacketConn) SetReadBuffer(bytes int) error {
	var errs []error
	for _, uc := range c.conns {
		errs = append(errs, uc.SetReadBuffer(bytes))
	}
	return errors.Join(errs...)
}

// SetWriteBuffer sets SO_SNDBUF on every socket, as SetReadBuffer does
// SO_RCVBUF.
func (c *PacketConn) SetWriteBuffer(bytes int) error {
	var errs []error
	for _, uc := range c.conns {
		errs = append(errs, uc.SetWriteBuffer(bytes))
	}
	return errors.Join(errs...)
}

// Close closes every socket and unblocks pending ReadFrom and WriteTo
// calls, which return errors matching [net.ErrClosed]. Only the first
// call closes; later calls return an error matching net.ErrClosed.
func (c *PacketConn) Close() error {
	err := c.opError("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		if c.done != nil {
			close(c.done)
		}
		var errs []error
		for _, uc := range c.conns {
			errs = append(errs, uc.Close())
		}
		c.wg.Wait()
		c.rdl.stop()
		c.closeErr = errors.Join(errs...)
		err = c.closeErr
	})
	return err
}

func (c *PacketConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.addrs[0].Network(), Source: c.addrs[0], Err: err}
}

// errorf prefixes an error with the package name and the listen call it
// belongs to.
func errorf(network, address string, format string, args ...any) error {
	return fmt.Errorf("dualstack: listen "+network+" "+address+": "+format, args...)
}
