package sockopt

import "golang.org/x/sys/unix"

// AIX: SO_REUSEPORT shares a port without balancing.
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: -1,
	linger:      unix.SO_LINGER,
	keepIdle:    unix.TCP_KEEPIDLE,
	keepIntvl:   unix.TCP_KEEPINTVL,
	keepCnt:     unix.TCP_KEEPCNT,
	userTimeout: -1,
	v6OnlyOff:   true,
}
