package sockopt

import "golang.org/x/sys/unix"

// macOS and iOS. SO_LINGER counts clock ticks here, so the linger time in
// seconds goes through SO_LINGER_SEC (tokio-rs/mio#1454; Go's own
// TCPConn.SetLinger passes SO_LINGER). The keepalive idle time is
// TCP_KEEPALIVE. SO_REUSEPORT lets sockets share a port but gives every
// connection to one of them, so ReusePortLB is unsupported.
var consts = sysConsts{
	reusePort: unix.SO_REUSEPORT,
	linger:    unix.SO_LINGER_SEC,
	keepAlive: keepAliveTimers{unix.TCP_KEEPALIVE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	v6OnlyOff: true,
}
