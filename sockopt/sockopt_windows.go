package sockopt

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows primitives of sockopt_posix.go; the option numbers that
// differ from Unix, and why, are in consts_windows.go.

// Winsock option numbers x/sys/windows does not define (ws2def.h).
const (
	soAcceptConn    = 0x0002
	soProtocolInfoW = 0x2005
)

// datagramLinger is false: Winsock has no SO_LINGER on datagram sockets,
// where getsockopt fails with WSAENOPROTOOPT, so Get leaves Linger zero
// on them as on any option that does not apply.
const datagramLinger = false

func sysInfo(fd uintptr) (sockInfo, error) {
	var si sockInfo
	h := windows.Handle(fd)
	// SO_PROTOCOL_INFOW gives the family and type even before bind, when
	// getsockname fails with WSAEINVAL.
	var pi windows.WSAProtocolInfo
	n := int32(unsafe.Sizeof(pi))
	if err := windows.Getsockopt(h, windows.SOL_SOCKET, soProtocolInfoW, (*byte)(unsafe.Pointer(&pi)), &n); err != nil {
		return si, os.NewSyscallError("getsockopt", err)
	}
	switch pi.AddressFamily {
	case windows.AF_INET:
		si.family = 4
	case windows.AF_INET6:
		si.family = 6
	}
	si.stream = pi.SocketType == windows.SOCK_STREAM
	switch sa := sockname(h).(type) {
	case *windows.SockaddrInet4:
		si.port = sa.Port
	case *windows.SockaddrInet6:
		si.port = sa.Port
	}
	return si, nil
}

// sockname returns nil for an unbound socket (WSAEINVAL).
func sockname(h windows.Handle) windows.Sockaddr {
	sa, err := windows.Getsockname(h)
	if err != nil {
		return nil
	}
	return sa
}

func setInt(fd uintptr, level, name, v int) error {
	return os.NewSyscallError("setsockopt", windows.SetsockoptInt(windows.Handle(fd), level, name, v))
}

func getInt(fd uintptr, level, name int) (int, error) {
	v, err := windows.GetsockoptInt(windows.Handle(fd), level, name)
	return v, os.NewSyscallError("getsockopt", err)
}

func setLinger(fd uintptr, on bool, secs int) error {
	l := windows.Linger{Linger: int32(secs)}
	if on {
		l.Onoff = 1
	}
	return os.NewSyscallError("setsockopt", windows.SetsockoptLinger(windows.Handle(fd), windows.SOL_SOCKET, consts.linger, &l))
}

func getLinger(fd uintptr) (on bool, secs int, err error) {
	// Winsock's struct linger is two u_shorts (winsock2.h); x/sys has a
	// setter but no getter for it.
	var l struct{ onoff, linger uint16 }
	n := int32(unsafe.Sizeof(l))
	if err := windows.Getsockopt(windows.Handle(fd), windows.SOL_SOCKET, int32(consts.linger), (*byte)(unsafe.Pointer(&l)), &n); err != nil {
		return false, 0, os.NewSyscallError("getsockopt", err)
	}
	return l.onoff != 0, int(l.linger), nil
}

// sysSet has nothing to add on Windows, which has no MPTCP.
func sysSet(fd uintptr, o option) error { return setOption(fd, o) }

// tcpOptionMissing reports the errors of Windows before 10 1709, which
// cannot read the keepalive timers; Get leaves them zero there rather
// than failing the whole read.
func tcpOptionMissing(_ uintptr, err error) bool {
	return errors.Is(err, windows.WSAENOPROTOOPT) || errors.Is(err, windows.WSAEINVAL)
}

// Winsock keeps SO_RCVBUF and SO_SNDBUF as given: bufferClamp guards
// against a version that does not, and bufferHint has no limit to name.
func bufferClamp(_ kind, req, got int) error {
	if got >= req {
		return nil
	}
	return fmt.Errorf("kernel holds %d bytes, not %d: %w", got, req, ErrClamped)
}

func bufferHint(_ kind, err error) error { return err }
