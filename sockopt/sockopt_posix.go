//go:build unix || windows

package sockopt

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// The system-call half of the package on Unix and Windows, which make the
// same calls in the same order. The option numbers every one of them has
// come from syscall, as in net; what differs is in the platform files: the
// other option numbers (a sysConsts table per OS in consts_*.go, and
// soAcceptConn), the handle behind setInt and getInt, how a socket
// describes itself (sysInfo), struct linger and whether a datagram socket
// has one (datagramLinger), what the kernel does with a buffer size
// (bufferClamp and bufferHint), and which TCP options a socket may lack
// (tcpOptionMissing).

// sysConsts holds the option numbers of one OS. A zero number marks an
// option the OS (or x/sys for it) does not have: no option this package
// sets is numbered zero on any platform.
type sysConsts struct {
	reusePort        int             // SO_REUSEPORT
	reusePortLB      int             // SO_REUSEPORT_LB on FreeBSD; SO_REUSEPORT on Linux, which balances
	exclusiveAddrUse int             // SO_EXCLUSIVEADDRUSE, Windows only
	linger           int             // SO_LINGER, or SO_LINGER_SEC on macOS where SO_LINGER counts ticks
	keepAlive        keepAliveTimers // TCP_KEEPIDLE (TCP_KEEPALIVE on macOS), TCP_KEEPINTVL, TCP_KEEPCNT
	userTimeout      int             // TCP_USER_TIMEOUT, Linux only
	v6OnlyOff        bool            // IPV6_V6ONLY can be cleared

	// reuseAddrTakesOver is true where SO_REUSEADDR lets a socket take
	// over a port another socket has bound (Windows), so that only
	// ReuseAddr(false) is offered.
	reuseAddrTakesOver bool
}

// keepAliveTimers are the IPPROTO_TCP option numbers of the keepalive idle
// time, interval and count; zero where the OS cannot set one per socket.
type keepAliveTimers struct{ idle, intvl, cnt int }

func sysSupported(o option) error {
	c := &consts
	ok := true
	switch o.kind {
	case kindReuseAddr:
		if o.on && c.reuseAddrTakesOver {
			return fmt.Errorf("%w (SO_REUSEADDR on Windows lets other sockets take the port)", errUnsupported())
		}
	case kindReusePort:
		ok = c.reusePort != 0
	case kindReusePortLB:
		ok = c.reusePortLB != 0
	case kindExclusiveAddrUse:
		ok = c.exclusiveAddrUse != 0
	case kindUserTimeout:
		ok = c.userTimeout != 0
	case kindV6Only:
		ok = o.on || c.v6OnlyOff
	case kindKeepAlive:
		// Only the timers the config actually sets need a knob: OpenBSD
		// can enable keepalive but has no per-socket timers.
		if o.ka.Enable {
			t := c.keepAlive
			ok = (o.ka.Idle < 0 || t.idle != 0) &&
				(o.ka.Interval < 0 || t.intvl != 0) &&
				(o.ka.Count < 0 || t.cnt != 0)
		}
	}
	if !ok {
		return errUnsupported()
	}
	return nil
}

// setOption sets o, which sysSupported has accepted, on the socket fd.
func setOption(fd uintptr, o option) error {
	c := &consts
	switch o.kind {
	case kindReuseAddr:
		return setBool(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, o.on)
	case kindReusePort:
		return setBool(fd, syscall.SOL_SOCKET, c.reusePort, o.on)
	case kindReusePortLB:
		return setBool(fd, syscall.SOL_SOCKET, c.reusePortLB, o.on)
	case kindExclusiveAddrUse:
		return setBool(fd, syscall.SOL_SOCKET, c.exclusiveAddrUse, o.on)
	case kindNoDelay:
		return setBool(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, o.on)
	case kindKeepAlive:
		return setKeepAlive(fd, c.keepAlive, o.ka)
	case kindReadBuffer, kindWriteBuffer:
		name := syscall.SO_RCVBUF
		if o.kind == kindWriteBuffer {
			name = syscall.SO_SNDBUF
		}
		if err := setInt(fd, syscall.SOL_SOCKET, name, o.n); err != nil {
			return bufferHint(o.kind, err)
		}
		got, err := getInt(fd, syscall.SOL_SOCKET, name)
		if err != nil {
			return err
		}
		return bufferClamp(o.kind, o.n, got)
	case kindLinger:
		on, secs := lingerSecs(o.d)
		return setLinger(fd, on, secs)
	case kindV6Only:
		return setBool(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, o.on)
	case kindUserTimeout:
		return setInt(fd, syscall.IPPROTO_TCP, c.userTimeout, userTimeoutMillis(o.d))
	}
	return errUnsupported()
}

func setBool(fd uintptr, level, name int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return setInt(fd, level, name, v)
}

// setKeepAlive sets SO_KEEPALIVE and, when ka.Enable is true, each timer
// that ka does not leave alone (negative). validate has already refused
// zero and out-of-range values, and a timer the OS lacks.
func setKeepAlive(fd uintptr, t keepAliveTimers, ka net.KeepAliveConfig) error {
	if err := setBool(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, ka.Enable); err != nil || !ka.Enable {
		return err
	}
	for _, o := range [...]struct{ name, v int }{
		{t.idle, keepAliveSecs(ka.Idle)},
		{t.intvl, keepAliveSecs(ka.Interval)},
		{t.cnt, ka.Count},
	} {
		if o.v < 0 {
			continue
		}
		if err := setInt(fd, syscall.IPPROTO_TCP, o.name, o.v); err != nil {
			return err
		}
	}
	return nil
}

// sysListening reports whether the socket listens (SO_ACCEPTCONN), for
// the sockets whose local port cannot tell (see set).
func sysListening(fd uintptr) (bool, error) {
	acc, err := getInt(fd, syscall.SOL_SOCKET, soAcceptConn)
	return acc != 0, err
}

func sysGet(fd uintptr, si sockInfo) (Settings, error) {
	c := &consts
	r := optReader{fd: fd}
	var s Settings
	s.ReuseAddr = r.bool(syscall.SOL_SOCKET, syscall.SO_REUSEADDR)
	s.ReusePort = r.bool(syscall.SOL_SOCKET, c.reusePort)
	s.ReusePortLB = r.bool(syscall.SOL_SOCKET, c.reusePortLB)
	s.ExclusiveAddrUse = r.bool(syscall.SOL_SOCKET, c.exclusiveAddrUse)
	s.ReadBuffer = r.int(syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	s.WriteBuffer = r.int(syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	if si.stream || datagramLinger {
		on, secs, err := getLinger(fd)
		switch {
		case err != nil:
			r.add(err)
		case on:
			s.Linger = time.Duration(secs) * time.Second
		default:
			s.Linger = -1
		}
	}
	if si.family == 6 {
		s.V6Only = r.bool(syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY)
	}
	if si.stream && si.family != 0 {
		s.NoDelay = r.tcp(syscall.TCP_NODELAY) != 0
		s.KeepAlive.Enable = r.bool(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		s.KeepAlive.Idle = time.Duration(r.tcp(c.keepAlive.idle)) * time.Second
		s.KeepAlive.Interval = time.Duration(r.tcp(c.keepAlive.intvl)) * time.Second
		s.KeepAlive.Count = r.tcp(c.keepAlive.cnt)
		s.UserTimeout = time.Duration(r.tcp(c.userTimeout)) * time.Millisecond
	}
	return s, errors.Join(r.errs...)
}

// optReader reads the options of one socket, keeping every error so that
// one option that cannot be read does not hide the others. An option the
// OS lacks (numbered zero) reads as zero.
type optReader struct {
	fd   uintptr
	errs []error
}

func (r *optReader) add(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

func (r *optReader) int(level, name int) int {
	if name == 0 {
		return 0
	}
	v, err := getInt(r.fd, level, name)
	r.add(err)
	return v
}

func (r *optReader) bool(level, name int) bool { return r.int(level, name) != 0 }

// tcp reads an IPPROTO_TCP option, which reads as zero where this socket
// does not implement it (see tcpOptionMissing) rather than failing Get.
func (r *optReader) tcp(name int) int {
	if name == 0 {
		return 0
	}
	v, err := getInt(r.fd, syscall.IPPROTO_TCP, name)
	if err != nil && tcpOptionMissing(r.fd, err) {
		return 0
	}
	r.add(err)
	return v
}

// The conversions below turn a validated value into the kernel's units.

// keepAliveSecs converts a validated keepalive duration to the kernel's
// whole seconds, rounding up as net does; a negative one (leave unchanged)
// gives -1.
func keepAliveSecs(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int((d + time.Second - 1) / time.Second)
}

// lingerSecs returns the SO_LINGER onoff and seconds for a Linger option.
func lingerSecs(d time.Duration) (on bool, secs int) {
	if d < 0 {
		return false, 0
	}
	return true, int((d + time.Second - 1) / time.Second)
}

// userTimeoutMillis converts a UserTimeout to whole milliseconds, rounding
// up.
func userTimeoutMillis(d time.Duration) int {
	return int((d + time.Millisecond - 1) / time.Millisecond)
}
