//go:build unix

package sockopt

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The Unix half, shared by Linux and the other Unix systems. What differs
// between them is the option numbers, kept in a sysConsts value per OS
// (consts_linux.go, consts_darwin.go, ...), how a buffer request maps to
// what the kernel reports (bufferClamp and bufferHint, in buffer_linux.go
// and buffer_unix.go), and whether a socket can be multipath TCP
// (isMPTCP, in mptcp_linux.go and mptcp_unix.go).

// sysConsts holds the option numbers of one OS; -1 marks an option the
// OS (or x/sys for it) does not have.
type sysConsts struct {
	reusePort   int // SO_REUSEPORT
	reusePortLB int // SO_REUSEPORT_LB on FreeBSD; SO_REUSEPORT on Linux, which balances
	linger      int // SO_LINGER, or SO_LINGER_SEC on macOS where SO_LINGER counts ticks
	keepIdle    int // TCP_KEEPIDLE, or TCP_KEEPALIVE on macOS
	keepIntvl   int // TCP_KEEPINTVL
	keepCnt     int // TCP_KEEPCNT
	userTimeout int // TCP_USER_TIMEOUT
	v6OnlyOff   bool
}

func sysSupported(o option) error {
	c := &consts
	ok := true
	switch o.kind {
	case kindReusePort:
		ok = c.reusePort >= 0
	case kindReusePortLB:
		ok = c.reusePortLB >= 0
	case kindUserTimeout:
		ok = c.userTimeout >= 0
	case kindExclusiveAddrUse:
		ok = false
	case kindV6Only:
		ok = o.on || c.v6OnlyOff
	case kindKeepAlive:
		// Only the timers the config actually sets need a knob: OpenBSD
		// can enable keepalive but has no per-socket timers.
		if o.ka.Enable {
			ok = (o.ka.Idle < 0 || c.keepIdle >= 0) &&
				(o.ka.Interval < 0 || c.keepIntvl >= 0) &&
				(o.ka.Count < 0 || c.keepCnt >= 0)
		}
	}
	if !ok {
		return errUnsupported()
	}
	return nil
}

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

func sysListening(fd uintptr) (bool, error) {
	acc, err := getInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return acc != 0, err
}

func setInt(fd uintptr, level, name, v int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(int(fd), level, name, v))
}

func setBool(fd uintptr, level, name int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return setInt(fd, level, name, v)
}

func getInt(fd uintptr, level, name int) (int, error) {
	v, err := unix.GetsockoptInt(int(fd), level, name)
	return v, os.NewSyscallError("getsockopt", err)
}

func sysSet(fd uintptr, si sockInfo, o option) error {
	err := sysSetOption(fd, o)
	// Linux's MPTCP sockets implement only some TCP-level options and
	// answer ENOPROTOOPT or EOPNOTSUPP for the others (TCP_USER_TIMEOUT on
	// Linux 6.18, for one). Say so, keeping the errno: the caller can
	// match errors.ErrUnsupported, and the same option works on TCP.
	if o.tcpOnly() && (errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EOPNOTSUPP)) && isMPTCP(fd) {
		return fmt.Errorf("%w on MPTCP sockets: %w", errors.ErrUnsupported, err)
	}
	return err
}

func sysSetOption(fd uintptr, o option) error {
	c := &consts
	switch o.kind {
	case kindReuseAddr:
		return setBool(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, o.on)
	case kindReusePort:
		return setBool(fd, unix.SOL_SOCKET, c.reusePort, o.on)
	case kindReusePortLB:
		return setBool(fd, unix.SOL_SOCKET, c.reusePortLB, o.on)
	case kindNoDelay:
		return setBool(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, o.on)
	case kindKeepAlive:
		c := &consts
		return setKeepAlive(fd, keepAliveNames{unix.SOL_SOCKET, unix.SO_KEEPALIVE, unix.IPPROTO_TCP,
			c.keepIdle, c.keepIntvl, c.keepCnt}, o.ka)
	case kindReadBuffer, kindWriteBuffer:
		name := unix.SO_RCVBUF
		if o.kind == kindWriteBuffer {
			name = unix.SO_SNDBUF
		}
		if err := setInt(fd, unix.SOL_SOCKET, name, o.n); err != nil {
			return bufferHint(o.kind, err)
		}
		got, err := getInt(fd, unix.SOL_SOCKET, name)
		if err != nil {
			return err
		}
		return bufferClamp(o.kind, o.n, got)
	case kindLinger:
		on, secs := lingerSecs(o.d)
		l := unix.Linger{Linger: int32(secs)}
		if on {
			l.Onoff = 1
		}
		return os.NewSyscallError("setsockopt", unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, c.linger, &l))
	case kindV6Only:
		return setBool(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, o.on)
	case kindUserTimeout:
		return setInt(fd, unix.IPPROTO_TCP, c.userTimeout, userTimeoutMillis(o.d))
	}
	return errUnsupported()
}

func sysGet(fd uintptr, si sockInfo) (Settings, error) {
	c := &consts
	var s Settings
	var errs errList
	getBool := func(dst *bool, level, name int) {
		if name < 0 {
			return
		}
		v, err := getInt(fd, level, name)
		errs.add(err)
		*dst = v != 0
	}
	// An MPTCP socket answers EOPNOTSUPP for the TCP options it does not
	// implement (TCP_USER_TIMEOUT on Linux 6.18, for one); those fields
	// stay zero rather than failing the whole read.
	mptcp := si.stream && isMPTCP(fd)
	getTCP := func(name int) int {
		v, err := getInt(fd, unix.IPPROTO_TCP, name)
		if mptcp && errors.Is(err, unix.EOPNOTSUPP) {
			return 0
		}
		errs.add(err)
		return v
	}
	getSecs := func(dst *time.Duration, name int, unit time.Duration) {
		if name >= 0 {
			*dst = time.Duration(getTCP(name)) * unit
		}
	}
	getBool(&s.ReuseAddr, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	getBool(&s.ReusePort, unix.SOL_SOCKET, c.reusePort)
	getBool(&s.ReusePortLB, unix.SOL_SOCKET, c.reusePortLB)
	var err error
	s.ReadBuffer, err = getInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	errs.add(err)
	s.WriteBuffer, err = getInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	errs.add(err)
	l, err := unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, c.linger)
	errs.add(os.NewSyscallError("getsockopt", err))
	if l != nil {
		if l.Onoff != 0 {
			s.Linger = time.Duration(l.Linger) * time.Second
		} else {
			s.Linger = -1
		}
	}
	if si.family == 6 {
		getBool(&s.V6Only, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	}
	if si.stream && si.family != 0 {
		s.NoDelay = getTCP(unix.TCP_NODELAY) != 0
		getBool(&s.KeepAlive.Enable, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		getSecs(&s.KeepAlive.Idle, c.keepIdle, time.Second)
		getSecs(&s.KeepAlive.Interval, c.keepIntvl, time.Second)
		if c.keepCnt >= 0 {
			s.KeepAlive.Count = getTCP(c.keepCnt)
		}
		getSecs(&s.UserTimeout, c.userTimeout, time.Millisecond)
	}
	return s, errs.join()
}
