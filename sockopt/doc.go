// Package sockopt implements socket options as values for [net.ListenConfig]
// and [net.Dialer] Control functions, each set at the moment it takes effect
// and read back as the kernel holds it.
//
// An [Option] is a value such as ReusePort(true) or ReadBuffer(1<<20).
// [Control] turns a list of them into the function that ListenConfig.Control
// and Dialer.Control take; [Chain] composes it with a Control of your own;
// [Apply] sets options on an open connection; [Get] reads them back;
// [Supported] says which ones this platform has. [Listen], [NewListener] and
// [Dialer] make the options that net overwrites last.
//
//	lc := net.ListenConfig{Control: sockopt.Control(sockopt.ReusePort(true), sockopt.ReadBuffer(1<<20))}
//	l, err := lc.Listen(ctx, "tcp", ":9000")
//
// # Phases
//
// An option takes effect only if it is set at the right moment, and each
// option knows its [Phase]:
//
//   - Before bind: ReuseAddr, ReusePort, ReusePortLB, V6Only and
//     ExclusiveAddrUse change how bind(2) treats the address. Set them
//     through Control. After bind, Linux accepts SO_REUSEPORT and ignores
//     it, and fails IPV6_V6ONLY with EINVAL (ipv6(7)), so [Apply] on a
//     bound socket refuses them with [ErrTooLate] rather than succeed
//     doing nothing.
//   - Inherited: ReadBuffer, WriteBuffer and Linger can be set at any time,
//     and when set on a listener (through Control) every accepted socket
//     inherits them. Receive buffers set before listen or connect also size
//     the TCP window scale (tcp(7)).
//   - After connect: NoDelay, KeepAlive and UserTimeout. After Control has
//     run, net sets TCP_NODELAY on every TCP connection, and keepalive (to
//     15s/15s/9, or to the Dialer's or ListenConfig's KeepAliveConfig)
//     unless KeepAlive is negative and KeepAliveConfig.Enable is false, so
//     what Control set does not last. [Listen] and [NewListener] set them
//     on each accepted connection, and [Dialer] on each dialed one, after
//     net is done.
//
// Control sets options of every phase (it is also useful with
// KeepAlive: -1, which stops net from touching keepalive), and skips
// options that do not apply to the socket: TCP options on a UDP socket, so
// one Control serves Listen and ListenPacket, and V6Only on an IPv4
// socket, since net picks the family of a "tcp" socket itself. The IPv6
// level is chosen from the socket's real family (getsockname), never from
// the network or address strings.
//
// # Multipath TCP
//
// Since Go 1.24, Linux listeners are IPPROTO_MPTCP sockets when the kernel
// allows it. Control works on them, but when Control fails on one, net
// closes it and retries with plain TCP, calling Control a second time; the
// listener is then plain TCP. Control is stateless and idempotent, so the
// second call leaves the same state as one. Linux 6.18 refuses some TCP
// options on MPTCP sockets (TCP_USER_TIMEOUT, for one), so a listener with
// [UserTimeout] in its Control ends up plain TCP. On an MPTCP connection
// (both ends MPTCP, as with GODEBUG=multipathtcp=1 for dialers) such an
// option fails with an error matching [errors.ErrUnsupported] that keeps
// the errno. Get leaves a field zero when an MPTCP socket cannot report it.
//
// # Reading back, and buffer sizes
//
// [Get] returns what the kernel holds, which is not always what was asked.
// Linux doubles SO_RCVBUF and SO_SNDBUF for bookkeeping and reports the
// doubled value (ReadBuffer(65536) reads back 131072), raises tiny values to
// a minimum, and silently caps requests at net.core.rmem_max and
// net.core.wmem_max (socket(7)). Setting a buffer reads it back, and a
// request above the cap is reported with an error matching [ErrClamped]
// that names the sysctl: from [Apply] it is not fatal (every other option
// is set and the socket works, with the buffer at the cap); from [Control]
// it fails the listen or dial, as any Control error does. macOS and the BSDs
// do not double, and refuse a request above kern.ipc.maxsockbuf with
// ENOBUFS instead of capping it.
//
// # Errors
//
// Values are checked before any system call: buffer sizes 1..2147483647,
// keepalive idle and interval up to 32767 s and count up to 127 (Linux's
// limits, tcp(7)), linger up to 32767 s (macOS keeps it in a short), user
// timeout 0..2147483647 ms. A bad value fails with [ErrRange], naming the
// option and the range, and nothing in the list is applied. So does an
// option the platform lacks, with an error matching [errors.ErrUnsupported]
// that names the option and GOOS. Failed system calls are
// [*os.SyscallError] values, so errors.Is(err, syscall.EINVAL) holds; every
// error names its option through [*OptionError]; several are joined with
// [errors.Join]; and [Apply] and [Get] on a connection wrap them in a
// [*net.OpError] as [net.TCPConn.SetNoDelay] does, so errors.Is(err,
// net.ErrClosed) works after Close.
//
// # Platforms
//
// The option behind each constructor, by platform. "same" is the Linux
// option; "-" is unsupported, which [Supported] and every call report
// with errors.ErrUnsupported:
//
//	Option            Phase          Linux              macOS, iOS          FreeBSD            NetBSD, AIX  OpenBSD      DragonFly  Solaris, illumos  Windows
//	ReuseAddr         before bind    SO_REUSEADDR       same                same               same         same         same       same              false only [1]
//	ReusePort         before bind    SO_REUSEPORT, LB   SO_REUSEPORT [2]    SO_REUSEPORT [2]   same [2]     same [2]     same [2]   -                 - [1]
//	ReusePortLB       before bind    SO_REUSEPORT       -                   SO_REUSEPORT_LB    -            -            -          -                 -
//	V6Only            before bind    IPV6_V6ONLY        same                same               same         true only    true only  same              same
//	ExclusiveAddrUse  before bind    -                  -                   -                  -            -            -          -                 SO_EXCLUSIVEADDRUSE
//	ReadBuffer        inherited      SO_RCVBUF x2 [3]   SO_RCVBUF [4]       SO_RCVBUF [4]      same [4]     same [4]     same [4]   same              SO_RCVBUF
//	WriteBuffer       inherited      SO_SNDBUF x2 [3]   SO_SNDBUF [4]       SO_SNDBUF [4]      same [4]     same [4]     same [4]   same              SO_SNDBUF
//	Linger            inherited      SO_LINGER          SO_LINGER_SEC       SO_LINGER          same         same         same       same              SO_LINGER
//	NoDelay           after connect  TCP_NODELAY        same                same               same         same         same       same              same
//	KeepAlive         after connect  TCP_KEEPIDLE etc.  TCP_KEEPALIVE etc.  TCP_KEEPIDLE etc.  same         Enable only  same       Enable only       same [5]
//	UserTimeout       after connect  TCP_USER_TIMEOUT   -                   -                  -            -            -          -                 -
//
// js, wasip1 and plan9 compile, and every option is unsupported there.
//
//  1. On Windows SO_REUSEADDR lets another socket take over a bound port
//     (valyala/fasthttp#2254), and Windows rebinds over TIME_WAIT without
//     it, so only ReuseAddr(false) is offered and ReusePort is never mapped
//     to it. ExclusiveAddrUse(true) is the guard against such takeovers.
//  2. The BSDs and macOS let the sockets share the port but give each
//     connection to one of them; ask for ReusePortLB to require balancing.
//     Linux balances, and only between sockets of the same effective user.
//  3. Doubled, and capped at net.core.rmem_max or wmem_max ([ErrClamped]).
//  4. Not doubled; on the BSDs and macOS, ENOBUFS above kern.ipc.maxsockbuf.
//  5. Windows 10 1709 or later; older versions fail with the Winsock error.
//
// KeepAlive with Enable and negative Idle, Interval and Count (leave the
// timers alone) is supported on OpenBSD, Solaris and illumos too.
//
// # Concurrency
//
// Options are immutable values, and the functions returned by Control and
// Chain keep no state, so all may be shared between goroutines. [Apply] and
// [Get] may run concurrently with I/O on the connection.
package sockopt
