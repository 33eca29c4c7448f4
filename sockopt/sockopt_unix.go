//go:build unix

package sockopt

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The Unix primitives of sockopt_posix.go. What differs between Linux and
// the other Unix systems is the option numbers (consts_*.go), how a buffer
// request maps to what the kernel reports (buffer_linux.go and
// buffer_unix.go), and whether a socket can be multipath TCP
// (mptcp_linux.go and mptcp_unix.go).

// soAcceptConn is SO_ACCEPTCONN, named in each platform file because
// syscall does not define it for Windows.
const soAcceptConn = unix.SO_ACCEPTCONN

// datagramLinger is true: Unix keeps SO_LINGER on datagram sockets too.
const datagramLinger = true

func sysInfo(fd uintptr) (sockInfo, error) {
	var si sockInfo
	typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return si, os.NewSyscallError("getsockopt", err)
	}
	// SOCK_STREAM covers TCP and MPTCP (IPPROTO_MPTCP, which takes the
	// same SOL_TCP options on Linux); the protocol is not needed.
	si.stream = typ == unix.SOCK_STREAM
	// getsockname reports the real family even before bind (with port 0),
	// which is the only trustworthy source: a "tcp" listen on "0.0.0.0"
	// may get an AF_INET6 socket, and the address string says otherwise.
	sa, err := unix.Getsockname(int(fd))
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		si.family, si.port = 4, sa.Port
	case *unix.SockaddrInet6:
		si.family, si.port = 6, sa.Port
	default:
		if err != nil && err != unix.EAFNOSUPPORT {
			return si, os.NewSyscallError("getsockname", err)
		}
	}
	return si, nil
}

func setInt(fd uintptr, level, name, v int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(int(fd), level, name, v))
}

func getInt(fd uintptr, level, name int) (int, error) {
	v, err := unix.GetsockoptInt(int(fd), level, name)
	return v, os.NewSyscallError("getsockopt", err)
}

func setLinger(fd uintptr, on bool, secs int) error {
	l := unix.Linger{Linger: int32(secs)}
	if on {
		l.Onoff = 1
	}
	return os.NewSyscallError("setsockopt", unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, consts.linger, &l))
}

func getLinger(fd uintptr) (on bool, secs int, err error) {
	l, err := unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, consts.linger)
	if err != nil {
		return false, 0, os.NewSyscallError("getsockopt", err)
	}
	return l.Onoff != 0, int(l.Linger), nil
}

func sysSet(fd uintptr, o option) error {
	err := setOption(fd, o)
	// Linux's MPTCP sockets implement only some TCP-level options and
	// answer ENOPROTOOPT or EOPNOTSUPP for the others (TCP_USER_TIMEOUT on
	// Linux 6.18, for one). Say so, keeping the errno: the caller can
	// match errors.ErrUnsupported, and the same option works on TCP.
	if o.tcpOnly() && (errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EOPNOTSUPP)) && isMPTCP(fd) {
		return fmt.Errorf("%w on MPTCP sockets: %w", errors.ErrUnsupported, err)
	}
	return err
}

// tcpOptionMissing reports whether err, from reading an IPPROTO_TCP
// option, means that the socket does not implement the option: an MPTCP
// socket answers EOPNOTSUPP for those (TCP_USER_TIMEOUT on Linux 6.18,
// for one).
func tcpOptionMissing(fd uintptr, err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) && isMPTCP(fd)
}
