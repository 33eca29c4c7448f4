package sockopt

import "golang.org/x/sys/unix"

// FreeBSD. SO_REUSEPORT shares a port without balancing; SO_REUSEPORT_LB
// (FreeBSD 12+) balances connections across the sockets, the behaviour of
// Linux's SO_REUSEPORT (libp2p/go-reuseport#105).
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: unix.SO_REUSEPORT_LB,
	linger:      unix.SO_LINGER,
	keepAlive:   keepAliveTimers{unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	v6OnlyOff:   true,
}
