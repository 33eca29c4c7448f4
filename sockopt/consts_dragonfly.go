package sockopt

import "golang.org/x/sys/unix"

// DragonFly, like OpenBSD, keeps IPv6 sockets v6-only.
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: -1,
	linger:      unix.SO_LINGER,
	keepIdle:    unix.TCP_KEEPIDLE,
	keepIntvl:   unix.TCP_KEEPINTVL,
	keepCnt:     unix.TCP_KEEPCNT,
	userTimeout: -1,
	v6OnlyOff:   false,
}
