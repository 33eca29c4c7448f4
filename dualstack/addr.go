package dualstack

import (
	"net"
	"net/netip"
)

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
