package sockopt

import "golang.org/x/sys/unix"

// Linux: every option of the package, SO_REUSEPORT balancing connections
// across the sockets that share a port (socket(7)), and TCP_USER_TIMEOUT
// (tcp(7)).
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: unix.SO_REUSEPORT,
	linger:      unix.SO_LINGER,
	keepAlive:   keepAliveTimers{unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	userTimeout: unix.TCP_USER_TIMEOUT,
	v6OnlyOff:   true,
}
