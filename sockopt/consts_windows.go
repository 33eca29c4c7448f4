package sockopt

import "golang.org/x/sys/windows"

// Windows. Winsock has no SO_REUSEPORT, and its SO_REUSEADDR lets any
// socket bind over a port already bound, which is port hijacking rather
// than the Unix meaning (valyala/fasthttp#2254); Windows already rebinds
// over TIME_WAIT without it. So ReusePort is unsupported and is never
// mapped to SO_REUSEADDR, and only ReuseAddr(false) is supported.
// ExclusiveAddrUse sets SO_EXCLUSIVEADDRUSE, the guard Windows offers
// instead (bitcoin/bitcoin#36169 adopted it for the same reason).
// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT need Windows 10 1709 or
// later; older versions fail with the Winsock error, which is kept.
var consts = sysConsts{
	exclusiveAddrUse:   ^windows.SO_REUSEADDR, // SO_EXCLUSIVEADDRUSE (ws2def.h), not in x/sys
	linger:             windows.SO_LINGER,
	keepAlive:          keepAliveTimers{windows.TCP_KEEPIDLE, windows.TCP_KEEPINTVL, windows.TCP_KEEPCNT},
	v6OnlyOff:          true,
	reuseAddrTakesOver: true,
}
