package sockopt

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

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
// only SO_KEEPALIVE is cleared and the timers are left alone. net sets
// keepalive on every TCP connection, so the option lasts only when
// applied after connect. TCP sockets only. Phase: [AfterConnect].
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

// PhaseOf returns the phase in which o takes effect.
func PhaseOf(o Option) Phase { return optionOf(o).phase() }

// splitAfter splits opts into those Control sets for good (before) and
// the [AfterConnect] ones that net overwrites after Control (after).
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

// optionOf returns the option behind o; a nil Option becomes the zero
// option, which validate refuses.
func optionOf(o Option) option {
	if o == nil {
		return option{}
	}
	return o.option()
}
