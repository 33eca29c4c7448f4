package sockopt

import "golang.org/x/sys/unix"

// Solaris and illumos: x/sys has no SO_REUSEPORT here, and the keepalive
// timers differ between Solaris (TCP_KEEPALIVE_THRESHOLD, milliseconds,
// with Interval and Count tied together) and illumos, so only
// SO_KEEPALIVE itself is offered.
var consts = sysConsts{
	linger:    unix.SO_LINGER,
	v6OnlyOff: true,
}
