package sockopt

import "golang.org/x/sys/unix"

// Solaris and illumos: x/sys has no SO_REUSEPORT here, and the keepalive
// timers differ between Solaris (TCP_KEEPALIVE_THRESHOLD, milliseconds,
// with Interval and Count tied together) and illumos, so only
// SO_KEEPALIVE itself is offered.
var consts = sysConsts{
	reusePort:   -1,
	reusePortLB: -1,
	linger:      unix.SO_LINGER,
	keepIdle:    -1,
	keepIntvl:   -1,
	keepCnt:     -1,
	userTimeout: -1,
	v6OnlyOff:   true,
}
