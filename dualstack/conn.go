package dualstack

import (
	"net"
	"syscall"
)

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
