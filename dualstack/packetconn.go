package dualstack

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

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
	group
	conns []*net.UDPConn // the sockets of group, typed

	// With two sockets, the goroutine of each socket reads and hands each
	// datagram over readc.
	readc chan *datagram
}

var _ net.PacketConn = (*PacketConn)(nil)

// maxDatagram is the largest UDP payload over IPv6 without jumbograms
// (65535 minus the 8-byte UDP header; RFC 8200 section 4.5 and RFC 2675),
// which covers IPv4's 65507.
const maxDatagram = 65535 - 8

// datagram is one ReadFrom of one socket, handed to PacketConn.ReadFrom;
// buf belongs to the reader until it is sent back on release.
type datagram struct {
	buf     []byte
	n       int
	ap      netip.AddrPort
	err     error
	release chan struct{}
}

func newPacketConn(socks []socket, mode Mode, unmap bool) *PacketConn {
	c := &PacketConn{group: group{mode: mode, unmap: unmap, socks: socks}}
	for _, s := range socks {
		c.conns = append(c.conns, s.c.(*net.UDPConn))
	}
	if len(socks) > 1 {
		c.readc = make(chan *datagram)
		c.start(c.readLoop)
	}
	return c
}

// LocalAddr returns the address of the first socket, as [Listener.Addr]
// does.
func (c *PacketConn) LocalAddr() net.Addr { return c.socks[0].addr }

// UDPConn returns the one socket of a connection in [SingleSocket],
// [IPv4Only] or [IPv6Only] mode, and nil in [TwoSockets] mode. It is there
// for I/O that [net.PacketConn] does not offer, such as batched reads and
// writes (recvmmsg and sendmmsg). Datagrams read from it come without this
// package's address handling: a dual-stack socket reports IPv4 peers as
// IPv4-mapped addresses whatever [ListenConfig.Unmap] says. Closing c
// closes it.
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
	var n int
	var ap netip.AddrPort
	var err error
	if c.readc == nil {
		n, ap, err = c.conns[0].ReadFromUDPAddrPort(p)
	} else {
		d, rerr := receive(&c.group, c.readc)
		if rerr != nil {
			return 0, netip.AddrPort{}, c.opError("read", rerr)
		}
		n = copy(p, d.buf[:d.n])
		ap, err = d.ap, d.err
		d.release <- struct{}{} // the reader may now reuse its buffer
	}
	if c.unmap {
		ap = unmap(ap)
	}
	return n, ap, err
}

// readLoop reads socket i until Close, one datagram ahead of ReadFrom. It
// reads into its own buffer and waits for ReadFrom to copy the datagram
// out before reading the next, so it holds at most one datagram and the
// rest wait in the kernel's receive buffer, as they would for a single
// socket.
func (c *PacketConn) readLoop(i int) {
	// One buffer per socket, reused: ReadFrom copies out of it and then
	// hands it back, so steady-state reads allocate nothing here.
	d := &datagram{buf: make([]byte, maxDatagram), release: make(chan struct{})}
	for {
		// ReadFromUDPAddrPort rather than ReadFrom: it returns the address
		// by value, where ReadFrom would allocate a *net.UDPAddr that
		// ReadFrom's caller may not want.
		d.n, d.ap, d.err = c.conns[i].ReadFromUDPAddrPort(d.buf)
		if d.err != nil && errors.Is(d.err, net.ErrClosed) {
			return
		}
		select {
		case c.readc <- d:
		case <-c.done:
			return
		}
		select {
		case <-d.release:
		case <-c.done:
			return
		}
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
		a := c.socks[0].addr
		return 0, &net.OpError{Op: "write", Net: a.Network(), Source: a, Addr: addr, Err: syscall.EINVAL}
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
	if err := c.setDeadline(t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetWriteDeadline sets the deadline for WriteTo calls on every socket.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	return c.each(func(uc *net.UDPConn) error { return uc.SetWriteDeadline(t) })
}

// SetReadBuffer sets SO_RCVBUF on every socket, as
// [net.UDPConn.SetReadBuffer] does on one; code that tunes a
// [net.PacketConn] by asserting this method (QUIC stacks do) reaches all
// of them. Use [sockopt.ReadBuffer] to learn about a clamp, and
// [sockopt.Get] on [PacketConn.SyscallConns] to read the result back.
func (c *PacketConn) SetReadBuffer(bytes int) error {
	return c.each(func(uc *net.UDPConn) error { return uc.SetReadBuffer(bytes) })
}

// SetWriteBuffer sets SO_SNDBUF on every socket, as SetReadBuffer does
// SO_RCVBUF.
func (c *PacketConn) SetWriteBuffer(bytes int) error {
	return c.each(func(uc *net.UDPConn) error { return uc.SetWriteBuffer(bytes) })
}

// each calls f on every socket and joins the errors.
func (c *PacketConn) each(f func(*net.UDPConn) error) error {
	var errs []error
	for _, uc := range c.conns {
		errs = append(errs, f(uc))
	}
	return errors.Join(errs...)
}

// Close closes every socket and unblocks pending ReadFrom and WriteTo
// calls, which return errors matching [net.ErrClosed]. Only the first
// call closes; later calls return an error matching net.ErrClosed.
func (c *PacketConn) Close() error { return c.close(c.opError("close", net.ErrClosed)) }

// opError wraps err as net wraps the errors of a [net.UDPConn].
func (c *PacketConn) opError(op string, err error) error {
	a := c.socks[0].addr
	return &net.OpError{Op: op, Net: a.Network(), Source: a, Err: err}
}
