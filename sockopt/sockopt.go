package sockopt

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Control returns a function for [net.ListenConfig.Control] and
// [net.Dialer.Control] that sets opts, in order, on the new socket before
// bind. It sets options of every phase; but net overwrites TCP_NODELAY and
// keepalive on each TCP connection after Control has run (keepalive unless
// the Dialer's or ListenConfig's KeepAlive is negative and its
// KeepAliveConfig.Enable false), so use [Listen], [NewListener] or
// [Dialer] to make [AfterConnect] options last.
// Options that do not apply to the socket (TCP options on a UDP socket,
// [V6Only] on an IPv4 socket) are skipped, so one function can serve Listen
// and ListenPacket alike. The IPv6 level is chosen from the socket's real
// family, never from network or address.
//
// The function is stateless and idempotent: net calls it twice when a
// multipath TCP listen (IPPROTO_MPTCP, the default for Linux listeners
// since Go 1.24) fails and falls back to TCP, and the second call leaves
// the same state as one. An error from it makes net close the socket and
// fail the listen or dial; that includes a buffer clamp ([ErrClamped]). A
// caller that accepts a clamped buffer can set it with [Apply] after
// listening instead.
//
// Compose with a Control of your own through [Chain].
func Control(opts ...Option) func(network, address string, c syscall.RawConn) error {
	list := append([]Option(nil), opts...) // the caller may reuse opts
	// Validation depends only on the options, so it runs once here; the
	// returned function keeps no other state.
	verr := validateAll(list)
	// network and address are ignored on purpose: net may describe a
	// dual-stack AF_INET6 socket as "tcp6" with address "0.0.0.0:0", so
	// only the socket itself is asked what it is.
	return func(_, _ string, c syscall.RawConn) error {
		if verr != nil {
			return verr
		}
		return set(c, false, nil, list)
	}
}

// Chain returns a Control function that calls each non-nil fn in order and
// stops at the first error, for combining [Control] with a caller's own.
func Chain(fns ...func(network, address string, c syscall.RawConn) error) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		for _, fn := range fns {
			if fn == nil {
				continue
			}
			if err := fn(network, address, c); err != nil {
				return err
			}
		}
		return nil
	}
}

// Apply sets opts, in order, on an open socket such as a [*net.TCPConn],
// [*net.UDPConn], [*net.TCPListener] or [*os.File]. All options are checked
// first (range, platform support, applicability to the socket's family and
// type, and phase: a [BeforeBind] option on a bound socket fails with
// [ErrTooLate]); if any check fails nothing is set. Then every option is
// set even if an earlier one fails, and the failures are joined. A buffer
// clamp ([ErrClamped]) is not fatal: the socket holds everything else and
// the buffer at the kernel's maximum.
//
// When c is a [net.Conn] or [net.Listener] the error is wrapped in a
// [*net.OpError] with Op "set", as [net.TCPConn.SetNoDelay] does.
func Apply(c syscall.Conn, opts ...Option) error {
	if len(opts) == 0 {
		return nil
	}
	err := validateAll(opts)
	if err == nil {
		var rc syscall.RawConn
		rc, err = c.SyscallConn()
		if err == nil {
			err = set(rc, true, knownInfo(c), opts)
		}
	}
	return opError("set", c, err)
}

// set sets opts, already validated, on the socket behind rc in one
// RawConn.Control call. In strict mode (Apply) an option in the wrong
// phase or for the wrong kind of socket is an error; otherwise (Control)
// an inapplicable option is skipped. All checks run before the first
// setsockopt, so a failed check leaves the socket untouched.
func set(rc syscall.RawConn, strict bool, known *sockInfo, opts []Option) error {
	if len(opts) == 0 {
		return nil
	}
	// Ask the kernel about the socket only if some option depends on its
	// family, type or state: a plain buffer or linger change then costs
	// one setsockopt (plus the read-back of a buffer), as in net.
	var needInfo, needBound bool
	for _, opt := range opts {
		o := optionOf(opt)
		needInfo = needInfo || o.tcpOnly() || o.kind == kindV6Only
		needBound = needBound || strict && o.phase() == BeforeBind
	}
	var errs []error
	cerr := rc.Control(func(fd uintptr) {
		var si sockInfo
		if known != nil {
			si = *known
		} else if needInfo || needBound {
			var err error
			if si, err = sysInfo(fd); err != nil {
				errs = append(errs, err)
				return
			}
			// An IP socket that is listening is bound to a port; only
			// other families need SO_ACCEPTCONN to tell.
			if needBound && si.port == 0 {
				if si.listening, err = sysListening(fd); err != nil {
					errs = append(errs, err)
					return
				}
			}
		}
		// Two passes, so that a refused option leaves the socket untouched.
		skip := false
		for _, opt := range opts {
			o := optionOf(opt)
			err := applicable(o, si, strict)
			if err == errSkip {
				skip = true
			} else if err != nil {
				errs = append(errs, &OptionError{Option: o, Err: err})
			}
		}
		if len(errs) > 0 {
			return
		}
		for _, opt := range opts {
			o := optionOf(opt)
			if skip && applicable(o, si, strict) != nil {
				continue
			}
			if err := sysSet(fd, o); err != nil {
				errs = append(errs, &OptionError{Option: o, Err: err})
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return errors.Join(errs...)
}

// applyConn applies after-connect options to a new connection. A wrapper
// such as *tls.Conn has no SyscallConn but hands out the connection it
// wraps through NetConn, which is where the options belong.
func applyConn(c net.Conn, opts []Option) error {
	if len(opts) == 0 {
		return nil
	}
	sc, ok := c.(syscall.Conn)
	for i := 0; !ok && i < 8; i++ { // bounded: wrappers could form a cycle
		w, isWrapper := c.(interface{ NetConn() net.Conn })
		if !isWrapper {
			break
		}
		c = w.NetConn()
		sc, ok = c.(syscall.Conn)
	}
	if !ok {
		return opError("set", c, errNoSyscallConn(c))
	}
	return Apply(sc, opts...)
}

// Settings is what the kernel holds for a socket, as read by [Get]. Each
// field is named like the constructor that sets it. Fields that do not
// apply to the socket (TCP options on a datagram socket, V6Only on an IPv4
// socket, Linger on a datagram socket on Windows) or that the platform
// cannot read (see [Supported]) are zero.
type Settings struct {
	// Network is "tcp4", "tcp6", "udp4" or "udp6", from the socket's real
	// family and type, never from the address it was asked to bind; empty
	// for a socket of another family, such as AF_UNIX.
	Network string

	ReuseAddr bool
	ReusePort bool
	// ReusePortLB is SO_REUSEPORT_LB on FreeBSD; on Linux, where
	// SO_REUSEPORT balances, it equals ReusePort.
	ReusePortLB bool

	NoDelay   bool
	KeepAlive net.KeepAliveConfig

	// ReadBuffer and WriteBuffer are the sizes the kernel reports. Linux
	// reports twice the size asked for (socket(7)).
	ReadBuffer  int
	WriteBuffer int

	// Linger is negative when lingering is off, as in [Linger].
	Linger time.Duration

	V6Only      bool
	UserTimeout time.Duration

	// ExclusiveAddrUse is SO_EXCLUSIVEADDRUSE, Windows only.
	ExclusiveAddrUse bool
}

// Get reads the options of this package from the socket behind c, as the
// kernel holds them now. Fields that do not apply to the socket or that
// the platform cannot read are left zero. On a platform without socket
// options it returns an error matching [errors.ErrUnsupported].
func Get(c syscall.Conn) (Settings, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Settings{}, opError("get", c, err)
	}
	var s Settings
	var gerr error
	cerr := rc.Control(func(fd uintptr) {
		var si sockInfo
		si, gerr = sysInfo(fd)
		if gerr == nil {
			s, gerr = sysGet(fd, si)
			s.Network = si.network()
		}
	})
	if cerr != nil {
		gerr = cerr
	}
	return s, opError("get", c, gerr)
}
