package sockopt

import "golang.org/x/sys/unix"

// isMPTCP reports whether the socket is IPPROTO_MPTCP, which net uses for
// listeners by default since Go 1.24 (SO_PROTOCOL, socket(7)).
func isMPTCP(fd uintptr) bool {
	p, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	return err == nil && p == unix.IPPROTO_MPTCP
}
