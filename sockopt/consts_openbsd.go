package sockopt

import "golang.org/x/sys/unix"

// OpenBSD has no per-socket keepalive timers (only the system-wide
// net.inet.tcp.keepidle sysctls) and refuses to clear IPV6_V6ONLY: an
// IPv6 socket never accepts IPv4, so dual stack needs two sockets.
var consts = sysConsts{
	reusePort: unix.SO_REUSEPORT,
	linger:    unix.SO_LINGER,
	v6OnlyOff: false,
}
