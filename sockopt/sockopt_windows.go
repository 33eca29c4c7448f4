package sockopt

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows. Winsock has no SO_REUSEPORT, and its SO_REUSEADDR lets any
// socket bind over a port already bound, which is port hijacking rather
// than the Unix meaning (valyala/fasthttp#2254); Windows already rebinds
// over TIME_WAIT without it. So ReusePort is unsupported and is never
// mapped to SO_REUSEADDR, and only ReuseAddr(false) is supported.
// ExclusiveAddrUse sets SO_EXCLUSIVEADDRUSE, the guard Windows offers
// instead (bitcoin/bitcoin#36169 adopted it for the same reason).
// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT need Windows 10 1709 or
// later; older versions fail with the Winsock error, which is kept.

// Winsock option numbers x/sys/windows does not define (ws2def.h).
const (
	soExclusiveAddrUse = ^windows.SO_REUSEADDR
	soAcceptConn       = 0x0002
	soType             = 0x1008
	soProtocolInfoW    = 0x2005
)

func sysSupported(o option) error {
	switch o.kind {
	case kindReusePort, kindReusePortLB, kindUserTimeout:
		return errUnsupported()
	case kindReuseAddr:
		if o.on {
			return fmt.Errorf("%w (SO_REUSEADDR on Windows lets other sockets take the port)", errUnsupported())
		}
	}
	return nil
}

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

func sysListening(fd uintptr) (bool, error) {
	acc, err := getInt(fd, windows.SOL_SOCKET, soAcceptConn)
	return acc != 0, err
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

func setBool(fd uintptr, level, name int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return setInt(fd, level, name, v)
}

func getInt(fd uintptr, level, name int) (int, error) {
	v, err := windows.GetsockoptInt(windows.Handle(fd), level, name)
	return v, os.NewSyscallError("getsockopt", err)
}

func sysSet(fd uintptr, _ sockInfo, o option) error {
	switch o.kind {
	case kindReuseAddr:
		return setBool(fd, windows.SOL_SOCKET, windows.SO_REUSEADDR, o.on)
	case kindNoDelay:
		return setBool(fd, windows.IPPROTO_TCP, windows.TCP_NODELAY, o.on)
	case kindKeepAlive:
		return setKeepAlive(fd, keepAliveNames{windows.SOL_SOCKET, windows.SO_KEEPALIVE, windows.IPPROTO_TCP,
			windows.TCP_KEEPIDLE, windows.TCP_KEEPINTVL, windows.TCP_KEEPCNT}, o.ka)
	case kindReadBuffer, kindWriteBuffer:
		name := windows.SO_RCVBUF
		if o.kind == kindWriteBuffer {
			name = windows.SO_SNDBUF
		}
		if err := setInt(fd, windows.SOL_SOCKET, name, o.n); err != nil {
			return err
		}
		got, err := getInt(fd, windows.SOL_SOCKET, name)
		if err != nil {
			return err
		}
		if got < o.n {
			return fmt.Errorf("kernel holds %d bytes, not %d: %w", got, o.n, ErrClamped)
		}
		return nil
	case kindLinger:
		on, secs := lingerSecs(o.d)
		l := windows.Linger{Linger: int32(secs)}
		if on {
			l.Onoff = 1
		}
		return os.NewSyscallError("setsockopt", windows.SetsockoptLinger(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_LINGER, &l))
	case kindV6Only:
		return setBool(fd, windows.IPPROTO_IPV6, windows.IPV6_V6ONLY, o.on)
	case kindExclusiveAddrUse:
		return setBool(fd, windows.SOL_SOCKET, soExclusiveAddrUse, o.on)
	}
	return errUnsupported()
}

func sysGet(fd uintptr, si sockInfo) (Settings, error) {
	var s Settings
	var errs errList
	getBool := func(dst *bool, level, name int) {
		v, err := getInt(fd, level, name)
		errs.add(err)
		*dst = v != 0
	}
	getBool(&s.ReuseAddr, windows.SOL_SOCKET, windows.SO_REUSEADDR)
	getBool(&s.ExclusiveAddrUse, windows.SOL_SOCKET, soExclusiveAddrUse)
	var err error
	s.ReadBuffer, err = getInt(fd, windows.SOL_SOCKET, windows.SO_RCVBUF)
	errs.add(err)
	s.WriteBuffer, err = getInt(fd, windows.SOL_SOCKET, windows.SO_SNDBUF)
	errs.add(err)
	// Winsock's struct linger is two u_shorts (winsock2.h); x/sys has a
	// setter but no getter for it.
	var l struct{ onoff, linger uint16 }
	n := int32(unsafe.Sizeof(l))
	if err := windows.Getsockopt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_LINGER, (*byte)(unsafe.Pointer(&l)), &n); err != nil {
		errs.add(os.NewSyscallError("getsockopt", err))
	} else if l.onoff != 0 {
		s.Linger = time.Duration(l.linger) * time.Second
	} else {
		s.Linger = -1
	}
	if si.family == 6 {
		getBool(&s.V6Only, windows.IPPROTO_IPV6, windows.IPV6_V6ONLY)
	}
	if si.stream && si.family != 0 {
		getBool(&s.NoDelay, windows.IPPROTO_TCP, windows.TCP_NODELAY)
		getBool(&s.KeepAlive.Enable, windows.SOL_SOCKET, windows.SO_KEEPALIVE)
		// Before Windows 10 1709 the keepalive timers cannot be read;
		// leave them zero there rather than failing the whole read.
		getTimer := func(name int) int {
			v, err := getInt(fd, windows.IPPROTO_TCP, name)
			if errors.Is(err, windows.WSAENOPROTOOPT) || errors.Is(err, windows.WSAEINVAL) {
				return 0
			}
			errs.add(err)
			return v
		}
		s.KeepAlive.Idle = time.Duration(getTimer(windows.TCP_KEEPIDLE)) * time.Second
		s.KeepAlive.Interval = time.Duration(getTimer(windows.TCP_KEEPINTVL)) * time.Second
		s.KeepAlive.Count = getTimer(windows.TCP_KEEPCNT)
	}
	return s, errs.join()
}
