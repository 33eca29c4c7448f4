package sockopt

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Linux: every option of the package, SO_REUSEPORT balancing connections
// across the sockets that share a port (socket(7)), and TCP_USER_TIMEOUT
// (tcp(7)).
var consts = sysConsts{
	reusePort:   unix.SO_REUSEPORT,
	reusePortLB: unix.SO_REUSEPORT,
	linger:      unix.SO_LINGER,
	keepIdle:    unix.TCP_KEEPIDLE,
	keepIntvl:   unix.TCP_KEEPINTVL,
	keepCnt:     unix.TCP_KEEPCNT,
	userTimeout: unix.TCP_USER_TIMEOUT,
	v6OnlyOff:   true,
}

// bufferClamp reports a buffer request the kernel shrank. socket(7):
// "The kernel doubles this value (to allow space for bookkeeping overhead)
// when it is set using setsockopt(2), and this doubled value is returned
// by getsockopt(2)"; a request above net.core.rmem_max (wmem_max for
// SO_SNDBUF) is silently reduced to the maximum, and setsockopt succeeds.
// Reading the value back is the only way to notice.
func bufferClamp(k kind, req, got int) error {
	if got/2 >= req {
		return nil
	}
	return fmt.Errorf("kernel holds %d bytes (2 x %d, the %s limit), not 2 x %d: %w",
		got, got/2, bufferSysctl(k), req, ErrClamped)
}

func bufferSysctl(k kind) string {
	if k == kindWriteBuffer {
		return "net.core.wmem_max"
	}
	return "net.core.rmem_max"
}

// bufferHint adds nothing on Linux: setsockopt never fails for size.
func bufferHint(_ kind, err error) error { return err }

// isMPTCP reports whether the socket is IPPROTO_MPTCP, which net uses for
// listeners by default since Go 1.24 (SO_PROTOCOL, socket(7)).
func isMPTCP(fd uintptr) bool {
	p, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	return err == nil && p == unix.IPPROTO_MPTCP
}
