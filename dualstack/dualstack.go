package dualstack

import (
	"context"
	"net"

	"github.com/framesock/framesock/sockopt"
)

// A ListenConfig contains options for listening on both address families.
// The zero value is valid and is what [Listen] and [ListenPacket] use:
// every mode allowed, peer addresses as the kernel reports them, and net's
// defaults for everything else.
type ListenConfig struct {
	// Modes is the set of modes Listen may achieve. Zero means all four.
	// A mode outside the set is never attempted: with Modes set to
	// [BothFamilies], a host without IPv6 makes Listen fail with an error
	// matching [ErrMode] instead of falling back to [IPv4Only]; with Modes
	// set to [TwoSockets], Listen opens two sockets even where one would
	// do. A network or address that names one family ("tcp4", "::1")
	// fails with ErrMode unless Modes includes that family's mode.
	Modes Mode

	// Unmap makes every peer and local address this package hands out
	// report IPv4 endpoints as IPv4: Accept returns a [*Conn] whose
	// RemoteAddr is 127.0.0.1:port rather than [::ffff:127.0.0.1]:port,
	// and [PacketConn.ReadFrom] returns unmapped addresses. Use it when
	// addresses feed allow-lists, rate limiters or logs, so one IPv4
	// client is not seen under two names depending on the mode.
	Unmap bool

	// ListenConfig is the template for every socket Listen creates, so
	// its KeepAlive, KeepAliveConfig and multipath TCP setting
	// ([net.ListenConfig.SetMultipathTCP]) apply as net documents them.
	// Its Control, if not nil, runs on every socket after the options
	// given to Listen have been set and before IPV6_V6ONLY is set; like a
	// [sockopt.Control] function it must be idempotent, because net calls
	// it twice when a multipath TCP socket fails and net retries with TCP.
	ListenConfig net.ListenConfig

	// sys is the seam between the package and the kernel; nil means the
	// real one. Only export_test.go sets it, so tests can make socket
	// creation or IPV6_V6ONLY fail the way other kernels do.
	sys *sysHooks
}

// Listen listens on address for stream connections of both families; see
// [ListenConfig.Listen].
func Listen(ctx context.Context, network, address string, opts ...sockopt.Option) (*Listener, error) {
	var lc ListenConfig
	return lc.Listen(ctx, network, address, opts...)
}

// ListenPacket listens on address for datagrams of both families; see
// [ListenConfig.ListenPacket].
func ListenPacket(ctx context.Context, network, address string, opts ...sockopt.Option) (*PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(ctx, network, address, opts...)
}

// Listen announces on the local network address. The network must be
// "tcp", "tcp4" or "tcp6". With "tcp" and a wildcard host ("", "0.0.0.0",
// "::") it serves both families, trying [SingleSocket], then
// [TwoSockets], then [IPv4Only] and [IPv6Only] as the package overview
// describes; any other network or host listens on what it names. The
// listener's [Listener.Mode] says which sockets it holds.
//
// Every option in opts is checked with [sockopt.Supported] before a socket
// is created. The before-bind and inherited ones are set through Control
// on every socket Listen creates, and the after-connect ones
// ([sockopt.NoDelay], [sockopt.KeepAlive], [sockopt.UserTimeout]), which
// net overwrites on each new connection, are applied to each accepted
// connection as [sockopt.NewListener] does. A [sockopt.V6Only] option is
// refused with [ErrV6Only].
//
// If a step fails for a reason other than a missing family or a kernel that
// cannot clear IPV6_V6ONLY (a port in use, permission denied, an option
// error), Listen returns that error with every socket it opened closed:
// nothing is left listening. The context is used for resolving the port
// and host, as in [net.ListenConfig.Listen].
//
// Every error is a [*net.OpError] with Op "listen", Net the network given,
// Addr the address given (nil if it cannot be parsed; for a host name,
// the address net resolved), and Err the cause, which errors.Is matches
// against the errno (syscall.EADDRINUSE, syscall.EACCES,
// syscall.EAFNOSUPPORT, ...), [ErrMode], [ErrV6Only] and the errors of
// package sockopt; see "Errors" in the package overview.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string, opts ...sockopt.Option) (*Listener, error) {
	socks, mode, err := lc.open(ctx, "tcp", network, address, opts)
	if err != nil {
		return nil, err
	}
	return newListener(socks, mode, lc.Unmap, opts), nil
}

// ListenPacket announces on the local network address for datagrams. The
// network must be "udp", "udp4" or "udp6"; modes, fallbacks, options and
// errors are those of [ListenConfig.Listen], except that TCP-only options
// are skipped, as [sockopt.Control] skips them on datagram sockets. In
// [TwoSockets] mode the returned [PacketConn] reads from both sockets and
// sends each datagram through the socket of its destination's family.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string, opts ...sockopt.Option) (*PacketConn, error) {
	socks, mode, err := lc.open(ctx, "udp", network, address, opts)
	if err != nil {
		return nil, err
	}
	return newPacketConn(socks, mode, lc.Unmap), nil
}
