package sockopt

import "golang.org/x/sys/unix"

// AIX: SO_REUSEPORT shares a port without balancing.
var consts = sysConsts{
	reusePort: unix.SO_REUSEPORT,
	linger:    unix.SO_LINGER,
	keepAlive: keepAliveTimers{unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	v6OnlyOff: true,
}
