// Package dualstack implements listeners that serve IPv4 and IPv6 clients
// on one port and report which sockets they achieved that with.
//
// net.Listen("tcp", ":8080") already tries to serve both families, but it
// decides from a probe of the host, falls back without saying so (to an
// IPv4-only socket where the kernel refuses IPV6_V6ONLY=0, as OpenBSD's
// does), and treats "0.0.0.0" as both families too (go.dev/issue/17615).
// [Listen] makes the same choice explicitly, tries the fallbacks in a fixed
// order, and returns a [*Listener] whose [Listener.Mode] and
// [Listener.Addrs] say what it got:
//
//	l, err := dualstack.Listen(ctx, "tcp", ":0", sockopt.ReusePort(true))
//	if err != nil { ... }
//	log.Printf("listening on %v as %v", l.Addrs(), l.Mode()) // [[::]:41234] SingleSocket
//
// # Which sockets for which network and address
//
// For a network and local address, Listen and ListenPacket create these
// sockets ("tcp" stands for "udp" too):
//
//   - "tcp" with a wildcard host ("", "0.0.0.0", "::" or "::ffff:0.0.0.0"):
//     both families. First one AF_INET6 socket bound to [::]:port with
//     IPV6_V6ONLY cleared: [SingleSocket]. IPV6_V6ONLY is cleared
//     explicitly, so Linux's net.ipv6.bindv6only sysctl, FreeBSD's
//     net.inet6.ip6.v6only and Windows' default do not change the outcome.
//     If the kernel refuses to clear IPV6_V6ONLY (OpenBSD and DragonFly
//     always do): an AF_INET6 socket on [::]:port with IPV6_V6ONLY set
//     plus an AF_INET socket on 0.0.0.0:port, [TwoSockets], on the same
//     port even for port 0.
//     If socket(2) fails with EAFNOSUPPORT for AF_INET6 (Linux booted with
//     ipv6.disable=1): one AF_INET socket on 0.0.0.0:port, [IPv4Only].
//     If it fails so for AF_INET while AF_INET6 works: the AF_INET6 socket
//     with IPV6_V6ONLY set alone, [IPv6Only].
//   - "tcp" with an IPv4 host, or an IPv4-mapped IPv6 host such as
//     "::ffff:127.0.0.1": one AF_INET socket on that IPv4 address,
//     [IPv4Only].
//   - "tcp" with an IPv6 host: one AF_INET6 socket on that address with
//     IPV6_V6ONLY set, [IPv6Only].
//   - "tcp" with a host name: the name is passed to net unchanged, which
//     resolves it and listens on one of its addresses (an IPv4 one if
//     there is one); the mode is [IPv4Only] or [IPv6Only] after the family
//     net chose.
//   - "tcp4" with any host: one AF_INET socket, [IPv4Only], exactly as
//     net.Listen("tcp4", address).
//   - "tcp6" with any host: one AF_INET6 socket with IPV6_V6ONLY set,
//     [IPv6Only], as net.Listen("tcp6", address); "[::]:port" in this
//     form does not accept IPv4 clients.
//
// By platform, "tcp" or "udp" with a wildcard host gives:
//
//   - Linux, macOS, FreeBSD, NetBSD, Solaris, illumos, AIX and Windows:
//     [SingleSocket]; on Linux booted with ipv6.disable=1, [IPv4Only].
//   - OpenBSD and DragonFly: [TwoSockets], as their kernels cannot clear
//     IPV6_V6ONLY (net's own stack probe in ipsock_posix.go skips the
//     IPv4-mapped test on both for that reason).
//   - js and wasip1: net's in-process stand-in for sockets, which never
//     calls Control for a listener; Listen reports [SingleSocket] with no
//     kernel to confirm it, and any socket option is an error, since
//     package sockopt supports none there.
//
// A step moves on to the next only when the kernel cannot do it at all (it
// refuses to clear IPV6_V6ONLY, or lacks a family). Any other failure (the
// port is in use on either family, permission denied, an option the kernel
// rejects) is returned with every socket already opened closed, so a
// failed Listen leaves nothing listening. Nothing falls back silently: the
// mode always says what happened, and [ListenConfig.Modes] turns a
// fallback the caller cannot accept into an error matching [ErrMode].
//
// The mode describes sockets, not routes. On Linux with
// net.ipv6.conf.all.disable_ipv6=1 the kernel still creates AF_INET6
// sockets, so the result is [SingleSocket] and IPv4 clients connect
// through it, while no IPv6 client can reach the host.
//
// # Two sockets
//
// In [TwoSockets] mode the IPv6 socket is bound first, to the requested
// port or an ephemeral one, and the IPv4 socket to the same port. For port
// 0 the kernel may pick a port that another program holds on IPv4, because
// a bind with IPV6_V6ONLY set is checked against IPv6 sockets only; Listen
// then closes the IPv6 socket and tries a fresh port, up to 8 times.
// [Listener.Accept] and [PacketConn.ReadFrom] wait on both sockets through
// one goroutine per socket; [PacketConn.WriteTo] sends through the socket
// of the destination's family. [Listener.Close] closes both and unblocks a
// pending Accept with an error matching [net.ErrClosed].
//
// # Socket options
//
// Options from package sockopt are set on every socket Listen creates,
// through [net.ListenConfig] Control functions before bind, so
// [sockopt.ReusePort] lets two dual-stack listeners share a port in any
// mode. The options net overwrites on each new connection (TCP_NODELAY,
// keepalive) are applied again to every accepted connection, as
// [sockopt.NewListener] does. IPV6_V6ONLY is this package's to set: a
// [sockopt.V6Only] option is an error matching [ErrV6Only].
// [Listener.SyscallConns] returns the sockets for [sockopt.Get].
// Everything else net offers per listener (a Control function of your
// own, KeepAlive, KeepAliveConfig, multipath TCP) goes in
// [ListenConfig.ListenConfig], the template for every socket.
//
// # IPv4-mapped addresses
//
// A [SingleSocket] listener sees an IPv4 client as ::ffff:a.b.c.d
// (RFC 4291 section 2.5.5.2). [net.TCPAddr.String] prints it as a.b.c.d,
// but [net.TCPAddr.AddrPort] keeps the mapped form (go.dev/issue/54234),
// so an allow-list entry for a.b.c.d does not match it and one client
// appears under two names across modes. [AddrPort] returns any address
// with the mapping removed; [ListenConfig.Unmap] makes Accept return
// [*Conn] values, and ReadFrom return addresses, that are already
// unmapped.
//
// # Errors
//
// Every error [Listen], [ListenPacket] and the [ListenConfig] methods
// return is a [*net.OpError], as [net.ListenConfig.Listen] reports its
// own: Op is "listen", Net the network given, Addr the address given as a
// [*net.TCPAddr] or [*net.UDPAddr] (for a host name, the address net
// resolved it to; nil when the network or address cannot be parsed or the
// name was not resolved), and Err the cause. No other *net.OpError is
// nested inside it: what net reports for each socket is unwrapped to its
// cause, and the cause says which mode and socket failed. So
// [errors.Is] finds the errno of any failed system call
// (syscall.EADDRINUSE for a port in use, syscall.EACCES,
// syscall.EAFNOSUPPORT), [ErrMode] and [ErrV6Only], and the errors of
// package sockopt for an option ([sockopt.ErrRange], [sockopt.ErrClamped],
// [errors.ErrUnsupported]); [errors.As] finds a [*net.AddrError] for a
// malformed address, a [net.UnknownNetworkError] for a network other than
// "tcp", "tcp4" and "tcp6" ("udp", "udp4" and "udp6" for ListenPacket),
// and a [*sockopt.OptionError] for an option.
//
// # Dialing both families
//
// Nothing here dials: [net.Dialer] already does. Given a host name with
// addresses of both families, DialContext tries the first family and
// starts the other after [net.Dialer.FallbackDelay] (300 ms by default,
// RFC 6555 "Happy Eyeballs"; a negative value disables the race). Socket
// options reach dialed sockets through [net.Dialer.Control] set to
// [sockopt.Control], or through [sockopt.Dialer], which also applies the
// after-connect ones; see the example of [Listen].
//
// # Concurrency and leaks
//
// The methods of [Listener] and [PacketConn] are safe for concurrent use.
// Close stops every goroutine the package started before it returns.
package dualstack
