//go:build unix && !darwin && !freebsd && !linux && !openbsd && !solaris

package sockopt

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// The Unix systems without a table of their own: AIX, DragonFly and
// NetBSD. SO_REUSEPORT shares a port without balancing, and the keepalive
// timers are named as on Linux. DragonFly, like OpenBSD, keeps IPv6
// sockets v6-only.
var consts = sysConsts{
	reusePort: unix.SO_REUSEPORT,
	linger:    unix.SO_LINGER,
	keepAlive: keepAliveTimers{unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL, unix.TCP_KEEPCNT},
	v6OnlyOff: runtime.GOOS != "dragonfly",
}
