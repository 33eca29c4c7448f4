package sockopt

import "golang.org/x/sys/unix"

// OpenBSD has no per-socket keepalive timers (only the system-wide
// net.inet.tcp.keepidle sysctls) and refuses to clear IPV6_V6ONLY: an
// IPv6 socket never accepts IPv4, so dual stack needs two sockets.
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: -1,
	linger:      unix.SO_LINGER,
	keepIdle:    -1,
	keepIntvl:   -1,
	keepCnt:     -1,
	userTimeout: -1,
	v6OnlyOff:   false,
}
