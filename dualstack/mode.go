package dualstack

import "strconv"

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
