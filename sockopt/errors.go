package sockopt

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
)

// Errors returned by [Control], [Apply], [Listen], [Dial] and the methods
// of [Listener] and [Dialer], wrapped in an [*OptionError] that names the
// option at fault. Match them with [errors.Is]; an option the platform
// lacks matches [errors.ErrUnsupported] instead.
var (
	// ErrRange reports a value outside the range the option accepts. It is
	// returned before any system call, so nothing has been applied.
	ErrRange = errors.New("sockopt: value out of range")

	// ErrClamped reports a buffer size the kernel accepted but reduced to
	// its limit (net.core.rmem_max or net.core.wmem_max on Linux). From
	// [Apply] it is not fatal: every other option was applied and the
	// socket is usable with the buffer at the kernel's maximum, which [Get]
	// reports. From [Control] it fails the listen or dial, as any error of
	// a Control function does.
	ErrClamped = errors.New("sockopt: buffer size clamped by the kernel")

	// ErrTooLate reports a before-bind option ([ReuseAddr], [ReusePort],
	// [ReusePortLB], [V6Only], [ExclusiveAddrUse]) given to [Apply] on a
	// socket that is already bound or listening, where the kernel would
	// ignore it or refuse it. Set such options through [Control] instead.
	ErrTooLate = errors.New("sockopt: option takes effect only before bind")

	// ErrNotApplicable reports an option given to [Apply] that does not
	// apply to the socket: a TCP option on a datagram or non-IP socket, or
	// [V6Only] on an unbound IPv4 socket. [Control] skips such options
	// instead, because one Control function commonly serves both Listen
	// and ListenPacket, and the family of a "tcp" or "udp" socket is chosen
	// by net. It is also the error, with no option named, for a connection
	// or listener without a SyscallConn method to reach its socket.
	ErrNotApplicable = errors.New("sockopt: option does not apply to this socket")
)

// OptionError records an option that could not be validated or set.
// Err is one of the sentinels of this package, an error matching
// [errors.ErrUnsupported], or an [*os.SyscallError] holding the errno, so
// errors.Is(err, syscall.EINVAL) works through it.
type OptionError struct {
	Option Option
	Err    error
}

func (e *OptionError) Error() string {
	// The sentinels carry the package prefix on their own; inside an
	// OptionError it is said once, before the option's name.
	return "sockopt: " + e.Option.String() + ": " + strings.TrimPrefix(e.Err.Error(), "sockopt: ")
}

func (e *OptionError) Unwrap() error { return e.Err }

// errNoSyscallConn is the error for a connection or listener that has no
// socket to set options on. ErrNotApplicable carries the package prefix.
func errNoSyscallConn(v any) error {
	return fmt.Errorf("%w: %T has no SyscallConn", ErrNotApplicable, v)
}

// errUnsupported is the error wrapped for an option the platform lacks.
func errUnsupported() error {
	return fmt.Errorf("%w on %s", errors.ErrUnsupported, runtime.GOOS)
}

// opError wraps err the way net wraps socket option errors on a live
// connection, when c carries addresses.
func opError(op string, c any, err error) error {
	if err == nil {
		return nil
	}
	switch c := c.(type) {
	case net.Conn:
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	case net.Listener:
		return &net.OpError{Op: op, Net: c.Addr().Network(), Source: nil, Addr: c.Addr(), Err: err}
	case net.PacketConn:
		return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Err: err}
	}
	return err
}
