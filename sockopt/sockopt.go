package sockopt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Errors returned (wrapped in an [*OptionError]) by [Control], [Apply],
// [Get], [Listen], [NewListener] and [Dialer]. Match them with [errors.Is];
// an option the platform lacks matches [errors.ErrUnsupported] instead.
var (
	// ErrRange reports a value outside the range the option accepts. It is
	// returned before any system call, so nothing has been applied.
	ErrRange = errors.New("sockopt: value out of range")

	// ErrClamped reports a buffer size the kernel accepted but reduced to
	// its limit (net.core.rmem_max or net.core.wmem_max on Linux). It is not
	// fatal: every other option was applied and the socket is usable with
	// the buffer at the kernel's maximum, which [Get] reports.
	ErrClamped = errors.New("sockopt: buffer size clamped by the kernel")

	// ErrTooLate reports a before-bind option ([ReuseAddr], [ReusePort],
	// [ReusePortLB], [V6Only], [ExclusiveAddrUse]) given to [Apply] on a
	// socket that is already bound or listening, where the kernel would
	// ignore it or refuse it. Set such options through [Control] instead.
	ErrTooLate = errors.New("sockopt: option takes effect only before bind")

	// ErrNotApplicable reports an option given to [Apply] that does not
	// apply to the socket: a TCP option on a datagram or non-IP socket, or
	// [V6Only] on an unbound IPv4 socket. [Control] skips such options instead, because one
	// Control function commonly serves both Listen and ListenPacket, and
	// the family of a "tcp" or "udp" socket is chosen by net.
	ErrNotApplicable = errors.New("sockopt: option does not apply to this socket")
)

// Limits enforced before any system call. They are the tightest of the
// supported platforms, so a value accepted here is accepted everywhere:
// Linux caps keepalive idle and interval at 32767 s and count at 127
// (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT in
// include/net/tcp.h; tcp(7)), and macOS stores the linger time in a short
// and returns EDOM above 32767 s.
const (
	maxKeepAliveSecs = 32767
	maxKeepAliveCnt  = 127
	maxLingerSecs    = 32767
)

// Phase says when an option must be set to take effect.
type Phase int

const (
	// BeforeBind options change how bind(2) treats the address: they are
	// set by [Control] and refused by [Apply] on a bound socket.
	BeforeBind Phase = iota + 1
	// Inherited options can be set at any time; set on a listener they are
	// inherited by every accepted socket (socket(7)).
	Inherited
	// AfterConnect options are set on each connection. net sets
	// TCP_NODELAY and keepalive on every new TCP connection after Control
	// has run, overwriting what Control set, so [Listen], [NewListener] and
	// [Dialer] apply these options again to each connection.
	AfterConnect
)

// String returns the name of the phase.
func (p Phase) String() string {
	switch p {
	case BeforeBind:
		return "before bind"
	case Inherited:
		return "inherited"
	case AfterConnect:
		return "after connect"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// An Option is a socket option and the value to set it to. Options are
// built by the constructors of this package ([ReuseAddr], [NoDelay], ...);
// the interface is sealed so that options can be added without breaking
// callers. Options are comparable values and safe to share between
// goroutines.
type Option interface {
	// String returns the option as it is written in Go, such as
	// "ReadBuffer(65536)"; errors name options this way.
	String() string

	option() option
}

type kind uint8

const (
	kindReuseAddr kind = iota + 1
	kindReusePort
	kindReusePortLB
	kindNoDelay
	kindKeepAlive
	kindReadBuffer
	kindWriteBuffer
	kindLinger
	kindV6Only
	kindUserTimeout
	kindExclusiveAddrUse
)

var kindNames = [...]string{
	kindReuseAddr:   "ReuseAddr",
	kindReusePort:   "ReusePort",
	kindReusePortLB: "ReusePortLB",
	kindNoDelay:     "NoDelay",
	kindKeepAlive:   "KeepAlive",
	kindReadBuffer:  "ReadBuffer",
	kindWriteBuffer: "WriteBuffer",
	kindLinger:      "Linger",
	kindV6Only:      "V6Only",
	kindUserTimeout: "UserTimeout",

	kindExclusiveAddrUse: "ExclusiveAddrUse",
}

// option is the one concrete Option. Keeping every option in one small
// comparable struct lets the platform files switch on kind, and lets
// callers compare options with ==.
type option struct {
	kind kind
	on   bool
	n    int           // bytes for buffers
	d    time.Duration // Linger, UserTimeout
	ka   net.KeepAliveConfig
}

func (o option) option() option { return o }

func (o option) name() string { return kindNames[o.kind] }

func (o option) String() string {
	var arg string
	switch o.kind {
	case kindReadBuffer, kindWriteBuffer:
		arg = strconv.Itoa(o.n)
	case kindLinger, kindUserTimeout:
		arg = o.d.String()
	case kindKeepAlive:
		arg = fmt.Sprintf("{Enable:%t Idle:%v Interval:%v Count:%d}",
			o.ka.Enable, o.ka.Idle, o.ka.Interval, o.ka.Count)
	default:
		arg = strconv.FormatBool(o.on)
	}
	return o.name() + "(" + arg + ")"
}

func (o option) phase() Phase {
	switch o.kind {
	case 0:
		return 0
	case kindReuseAddr, kindReusePort, kindReusePortLB, kindV6Only, kindExclusiveAddrUse:
		return BeforeBind
	case kindNoDelay, kindKeepAlive, kindUserTimeout:
		return AfterConnect
	}
	return Inherited
}

// tcpOnly reports whether the option exists only at the IPPROTO_TCP level.
func (o option) tcpOnly() bool {
	switch o.kind {
	case kindNoDelay, kindKeepAlive, kindUserTimeout:
		return true
	}
	return false
}

// PhaseOf returns the phase in which o takes effect.
func PhaseOf(o Option) Phase { return get(o).phase() }

// ReuseAddr sets SO_REUSEADDR, which on Unix lets a listener bind a port
// that connections in TIME_WAIT still use (socket(7)). net already sets it
// on every Unix TCP listener; ReuseAddr(false) turns it off. On Windows,
// SO_REUSEADDR instead lets another socket take over a bound port, so
// ReuseAddr(true) is unsupported there (Windows rebinds over TIME_WAIT
// without it). Phase: [BeforeBind].
func ReuseAddr(on bool) Option { return option{kind: kindReuseAddr, on: on} }

// ReusePort sets SO_REUSEPORT, which lets several sockets of the same
// effective user bind one address and port. Linux spreads incoming
// connections and datagrams across them; macOS and the other BSDs let them
// bind but do not balance (use [ReusePortLB] to require balancing).
// Unsupported on Windows, which has no equivalent: it is never replaced by
// SO_REUSEADDR there. Phase: [BeforeBind].
func ReusePort(on bool) Option { return option{kind: kindReusePort, on: on} }

// ReusePortLB asks for SO_REUSEPORT with load balancing across the sockets
// that share the port: SO_REUSEPORT on Linux (which balances), and
// SO_REUSEPORT_LB on FreeBSD. Elsewhere it is unsupported, because the
// platform binds the sockets but hands every connection to one of them.
// Phase: [BeforeBind].
func ReusePortLB(on bool) Option { return option{kind: kindReusePortLB, on: on} }

// ExclusiveAddrUse sets SO_EXCLUSIVEADDRUSE (Windows only), which stops
// any other socket from binding the same address and port, even one that
// asks with SO_REUSEADDR; Windows lets such a socket take over a bound port
// otherwise. Elsewhere it is unsupported: Unix never lets another user's
// socket take over a bound port. Phase: [BeforeBind].
func ExclusiveAddrUse(on bool) Option { return option{kind: kindExclusiveAddrUse, on: on} }

// NoDelay sets TCP_NODELAY (tcp(7)); NoDelay(false) enables Nagle's
// algorithm. net sets TCP_NODELAY on every TCP connection, so the option
// lasts only when applied after connect: through [Listen], [NewListener],
// [Dialer] or [Apply]. TCP sockets only. Phase: [AfterConnect].
func NoDelay(on bool) Option { return option{kind: kindNoDelay, on: on} }

// KeepAlive sets SO_KEEPALIVE and, when cfg.Enable is true, the keepalive
// timers TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT (tcp(7); TCP_KEEPALIVE
// for the idle time on macOS). With cfg.Enable true, Idle and Interval
// must be in 1s..32767s (rounded up to whole seconds, as net does) and
// Count in 1..127, or negative to leave the kernel's setting unchanged.
// Unlike [net.KeepAliveConfig], zero is not a default: a field left at
// zero is more often forgotten than meant, and net's silent 15 s is the
// value users most often did not want (golang/go#48622), so zero is
// refused with [ErrRange] before any system call. With cfg.Enable false
// only SO_KEEPALIVE is cleared and the timers are left alone. net sets keepalive
// on every TCP connection, so the option lasts only when applied after
// connect. TCP sockets only. Phase: [AfterConnect].
func KeepAlive(cfg net.KeepAliveConfig) Option { return option{kind: kindKeepAlive, ka: cfg} }

// ReadBuffer sets SO_RCVBUF to bytes, which must be in 1..2147483647.
// Linux doubles the value for bookkeeping and clamps it to
// net.core.rmem_max (socket(7)); a request above the clamp is applied at
// the maximum and reported with an error matching [ErrClamped]. The BSDs
// and macOS refuse a request above kern.ipc.maxsockbuf with ENOBUFS.
// Set it before listen or connect to affect the TCP window scale.
// Phase: [Inherited].
func ReadBuffer(bytes int) Option { return option{kind: kindReadBuffer, n: bytes} }

// WriteBuffer sets SO_SNDBUF to bytes, as [ReadBuffer] does for SO_RCVBUF
// (the Linux clamp is net.core.wmem_max). Phase: [Inherited].
func WriteBuffer(bytes int) Option { return option{kind: kindWriteBuffer, n: bytes} }

// Linger sets SO_LINGER (socket(7)). d < 0 turns lingering off (close
// returns at once and the kernel sends the unsent data in the background);
// d == 0 makes close discard unsent data and reset the connection; d > 0
// makes close block for up to d, rounded up to whole seconds and at most
// 32767 s, while unsent data drains. On macOS the option is set through
// SO_LINGER_SEC, because SO_LINGER there counts clock ticks.
// Phase: [Inherited].
func Linger(d time.Duration) Option { return option{kind: kindLinger, d: d} }

// V6Only sets IPV6_V6ONLY (ipv6(7)) on an IPv6 socket: V6Only(false) makes
// a listener on [::] accept IPv4 clients as ::ffff:a.b.c.d, V6Only(true)
// restricts it to IPv6. OpenBSD and DragonFly cannot turn it off, so
// V6Only(false) is unsupported there. [Control] leaves IPv4 sockets alone.
// Phase: [BeforeBind].
func V6Only(on bool) Option { return option{kind: kindV6Only, on: on} }

// UserTimeout sets TCP_USER_TIMEOUT (tcp(7), Linux only): how long
// transmitted data may stay unacknowledged, or keepalive probes unanswered,
// before the kernel drops the connection. d == 0 restores the kernel's
// default; d is rounded up to whole milliseconds and must be at most
// 2147483647 ms. TCP sockets only. Phase: [AfterConnect].
func UserTimeout(d time.Duration) Option { return option{kind: kindUserTimeout, d: d} }

// OptionError records an option that could not be validated, set or read.
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

// errUnsupported is the error wrapped for an option the platform lacks.
func errUnsupported() error {
	return fmt.Errorf("%w on %s", errors.ErrUnsupported, runtime.GOOS)
}

// Settings is what the kernel holds for a socket, as read by [Get]. Each
// field is named like the constructor that sets it. Fields that do not
// apply to the socket (TCP options on a datagram socket, V6Only on an IPv4
// socket) or that the platform cannot read (see [Supported]) are zero.
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

// sockInfo is what the platform code learns about a socket from the
// kernel before setting anything.
type sockInfo struct {
	family    int  // 4, 6, or 0 for a family without IP options
	stream    bool // SOCK_STREAM: TCP (or MPTCP, IPPROTO_MPTCP = 262)
	listening bool // SO_ACCEPTCONN, asked only when port is 0 (see set)
	port      int  // local port, 0 when unbound
}

func (si sockInfo) network() string {
	if si.family == 0 {
		return ""
	}
	var n string
	if si.stream {
		n = "tcp"
	} else {
		n = "udp"
	}
	if si.family == 4 {
		return n + "4"
	}
	return n + "6"
}

// validate checks o against the portable limits and the platform's
// support, before any system call.
func validate(o option) error {
	var err error
	switch o.kind {
	case kindReadBuffer, kindWriteBuffer:
		if o.n < 1 || o.n > math.MaxInt32 {
			err = fmt.Errorf("%d bytes outside 1..%d: %w", o.n, math.MaxInt32, ErrRange)
		}
	case kindLinger:
		if o.d > maxLingerSecs*time.Second {
			err = fmt.Errorf("%v outside <0 (off), 0 (reset) or 1s..%v: %w", o.d, maxLingerSecs*time.Second, ErrRange)
		}
	case kindUserTimeout:
		if o.d < 0 || o.d > math.MaxInt32*time.Millisecond {
			err = fmt.Errorf("%v outside 0..%v: %w", o.d, math.MaxInt32*time.Millisecond, ErrRange)
		}
	case kindKeepAlive:
		// Zero matters only when the timers are set (Enable true);
		// values above the kernel's limits are refused either way.
		const maxD = maxKeepAliveSecs * time.Second
		const leave = " or negative to leave unchanged (zero is no default here)"
		on := o.ka.Enable
		switch {
		case on && o.ka.Idle == 0 || o.ka.Idle > maxD:
			err = fmt.Errorf("idle %v outside 1s..%v%s: %w", o.ka.Idle, maxD, leave, ErrRange)
		case on && o.ka.Interval == 0 || o.ka.Interval > maxD:
			err = fmt.Errorf("interval %v outside 1s..%v%s: %w", o.ka.Interval, maxD, leave, ErrRange)
		case on && o.ka.Count == 0 || o.ka.Count > maxKeepAliveCnt:
			err = fmt.Errorf("count %d outside 1..%d%s: %w", o.ka.Count, maxKeepAliveCnt, leave, ErrRange)
		}
	case 0:
		// A nil Option (see get) has no name to report.
		return errors.New("sockopt: nil Option")
	}
	if err == nil {
		err = sysSupported(o)
	}
	if err != nil {
		return &OptionError{Option: o, Err: err}
	}
	return nil
}

// Supported reports whether this platform can set o: nil if it can, an
// error matching [errors.ErrUnsupported] that names the option and GOOS if
// it cannot, or an error matching [ErrRange] if the value itself is out of
// range. It makes no system call; [Control], [Apply] and the helpers run
// the same check before touching a socket, so they never half-apply a list
// that holds an unsupported option.
func Supported(o Option) error { return validate(get(o)) }

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

func userTimeoutMillis(d time.Duration) int {
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// get returns the option behind o; a nil Option becomes the zero option,
// which validate refuses.
func get(o Option) option {
	if o == nil {
		return option{}
	}
	return o.option()
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
		o := get(opt)
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
			o := get(opt)
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
			o := get(opt)
			if skip && applicable(o, si, strict) != nil {
				continue
			}
			if err := sysSet(fd, si, o); err != nil {
				errs = append(errs, &OptionError{Option: o, Err: err})
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return errors.Join(errs...)
}

// knownInfo describes the sockets of net's own types without asking the
// kernel, which saves Apply two system calls per call on the hot path of
// Listener.Accept: a *net.TCPConn or *net.UDPConn is bound (net binds
// or connects it), a *net.TCPListener listens. The family is only used
// to tell IP sockets from others: V6Only, the one option that needs the
// real family, is before-bind and so refused on these sockets first.
func knownInfo(c syscall.Conn) *sockInfo {
	switch c := c.(type) {
	case *net.TCPConn:
		return &tcpConnInfo
	case *net.TCPListener:
		return &tcpListenerInfo
	case *net.UDPConn:
		return &udpConnInfo
	case *Listener:
		if sc, ok := c.Listener.(syscall.Conn); ok {
			return knownInfo(sc)
		}
	}
	return nil
}

// Read-only; set copies them.
var (
	tcpConnInfo     = sockInfo{family: 6, stream: true, port: 1}
	tcpListenerInfo = sockInfo{family: 6, stream: true, listening: true, port: 1}
	udpConnInfo     = sockInfo{family: 6, port: 1}
)

var errSkip = errors.New("skip")

// applicable decides whether o can be set on the socket described by si.
func applicable(o option, si sockInfo, strict bool) error {
	switch {
	case strict && o.phase() == BeforeBind && (si.listening || si.port != 0):
		// After bind(2), SO_REUSEADDR and SO_REUSEPORT are accepted by
		// Linux but change nothing, and IPV6_V6ONLY fails with EINVAL
		// (ipv6(7)); refuse all of them alike so no call silently does
		// nothing.
		return ErrTooLate
	case o.tcpOnly() && (!si.stream || si.family == 0), o.kind == kindV6Only && si.family != 6:
		if strict {
			return ErrNotApplicable
		}
		return errSkip
	}
	return nil
}

var _ syscall.Conn = (*Listener)(nil)

// Control returns a function for [net.ListenConfig.Control] and
// [net.Dialer.Control] that sets opts, in order, on the new socket before
// bind. It sets options of every phase; but net overwrites TCP_NODELAY and
// keepalive on each TCP connection after Control has run (keepalive only
// if the Dialer's or ListenConfig's KeepAlive is not negative), so use
// [Listen], [NewListener] or [Dialer] to make [AfterConnect] options last.
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

func validateAll(opts []Option) error {
	var errs []error
	for _, o := range opts {
		if err := validate(get(o)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

// splitAfter returns the options that net overwrites after Control.
func splitAfter(opts []Option) (before, after []Option) {
	for _, o := range opts {
		if PhaseOf(o) == AfterConnect {
			after = append(after, o)
		} else {
			before = append(before, o)
		}
	}
	return before, after
}

// Listener is a [net.Listener] that applies the [AfterConnect] options to
// every connection it accepts. Use [Listen] to create one with all the
// options set, or [NewListener] to wrap a listener built some other way.
type Listener struct {
	net.Listener
	after []Option
}

// Listen listens on the local network address like [net.ListenConfig.Listen]
// with [Control] set to the [BeforeBind] and [Inherited] options of opts,
// and returns a [*Listener] that applies the [AfterConnect] ones to each
// accepted connection. Every option is checked before the socket is
// created.
func Listen(ctx context.Context, network, address string, opts ...Option) (*Listener, error) {
	if err := validateAll(opts); err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	before, after := splitAfter(opts)
	lc := net.ListenConfig{Control: Control(before...)}
	l, err := lc.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &Listener{Listener: l, after: after}, nil
}

// NewListener wraps l so that Accept applies the [AfterConnect] options of
// opts to each accepted connection; it ignores the other options, which
// belong in the Control of whatever created l. It does not check opts:
// Accept reports a bad one.
//
// If the options fail on a connection, Accept closes that connection and
// returns the error, so none is handed out without its options; the
// listener stays open. The error is a [net.Error] whose Temporary method
// reports true, so accept loops such as [net/http.Server.Serve] back off
// and keep serving instead of returning.
func NewListener(l net.Listener, opts ...Option) *Listener {
	_, after := splitAfter(opts)
	return &Listener{Listener: l, after: after}
}

// SyscallConn returns the raw connection of the wrapped listener, so that
// [Get] and [Apply] work on a *Listener. It fails with [ErrNotApplicable]
// if the wrapped listener has none.
func (l *Listener) SyscallConn() (syscall.RawConn, error) {
	sc, ok := l.Listener.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("sockopt: %T has no SyscallConn: %w", l.Listener, ErrNotApplicable)
	}
	return sc.SyscallConn()
}

// Accept waits for the next connection, applies the [AfterConnect] options
// to it and returns it.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := applyConn(c, l.after); err != nil {
		c.Close()
		return nil, acceptError{err}
	}
	return c, nil
}

// acceptError marks a failure that concerns one accepted connection, not
// the listener. Temporary is deprecated in net, but it is what
// net/http.Server and most accept loops test to decide whether to go on.
type acceptError struct{ err error }

func (e acceptError) Error() string   { return e.err.Error() }
func (e acceptError) Unwrap() error   { return e.err }
func (e acceptError) Timeout() bool   { return false }
func (e acceptError) Temporary() bool { return true }

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
		return opError("set", c, fmt.Errorf("sockopt: %T has no SyscallConn: %w", c, ErrNotApplicable))
	}
	return Apply(sc, opts...)
}

// Dialer dials connections with options: the [BeforeBind] and [Inherited]
// ones through Control, the [AfterConnect] ones on the connected socket,
// after net has set its own defaults. The zero value dials like the zero
// [net.Dialer] with no options.
type Dialer struct {
	// Dialer is the net.Dialer to dial with. Its Control or ControlContext
	// runs before the options are set.
	Dialer net.Dialer

	// Options are the socket options to set on each connection.
	Options []Option
}

// DialContext dials like [net.Dialer.DialContext] and sets d.Options on the
// connection. If an option fails, the connection is closed and the error
// returned. Every option is checked before the socket is created.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if err := validateAll(d.Options); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	before, after := splitAfter(d.Options)
	nd := d.Dialer
	if len(before) > 0 {
		ctl := Control(before...)
		if cc := nd.ControlContext; cc != nil {
			nd.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
				if err := cc(ctx, network, address, c); err != nil {
					return err
				}
				return ctl(network, address, c)
			}
		} else {
			nd.Control = Chain(nd.Control, ctl)
		}
	}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if err := applyConn(c, after); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dial dials address with opts set as [Dialer] does.
func Dial(ctx context.Context, network, address string, opts ...Option) (net.Conn, error) {
	d := Dialer{Options: opts}
	return d.DialContext(ctx, network, address)
}

// errList collects the errors of several independent system calls.
type errList []error

func (e *errList) add(err error) {
	if err != nil {
		*e = append(*e, err)
	}
}

func (e errList) join() error { return errors.Join(e...) }
