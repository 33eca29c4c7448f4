package sockopt

import "golang.org/x/sys/unix"

// DragonFly, like OpenBSD, keeps IPv6 sockets v6-only.
var consts = sysConsts{
	reusePort: unix.SO_REUSEPORT,
	linger:    unix.SO_LINGER,
	keepAlive: keepAliveTimers{unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	v6OnlyOff: false,
}
