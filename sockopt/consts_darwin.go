package sockopt

import "golang.org/x/sys/unix"

// macOS and iOS. SO_LINGER counts clock ticks here, so the linger time in
// seconds goes through SO_LINGER_SEC (tokio-rs/mio#1454; Go's own
// TCPConn.SetLinger passes SO_LINGER). The keepalive idle time is
// TCP_KEEPALIVE. SO_REUSEPORT lets sockets share a port but gives every
// connection to one of them, so ReusePortLB is unsupported.
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: -1,
	linger:      unix.SO_LINGER_SEC,
	keepIdle:    unix.TCP_KEEPALIVE,
	keepIntvl:   unix.TCP_KEEPINTVL,
	keepCnt:     unix.TCP_KEEPCNT,
	userTimeout: -1,
	v6OnlyOff:   true,
}
