package dualstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/framesock/framesock/sockopt"
)

// maxPortAttempts bounds the retries of [TwoSockets] on port 0: each
// attempt binds the IPv6 socket to a fresh ephemeral port and loses only
// if another socket holds that port on IPv4 (the kernel checks an
// IPV6_V6ONLY bind against IPv6 sockets only, so the port it picks may be
// taken on IPv4). Losing eight fresh ports in a row means something is
// binding ports as fast as we are; report it rather than spin.
const maxPortAttempts = 8

type controlFunc = func(network, address string, c syscall.RawConn) error

// sysHooks is the seam between the package and the kernel. The zero
// ListenConfig uses realSys; export_test.go installs others.
type sysHooks struct {
	// listen and listenPacket create, bind and (for streams) listen on a
	// socket, as net.ListenConfig does.
	listen       func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.Listener, error)
	listenPacket func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.PacketConn, error)
	// clearV6Only clears IPV6_V6ONLY on a new AF_INET6 socket; OpenBSD's
	// kernel refuses it, and tests make it refuse here.
	clearV6Only controlFunc
}

var realSys = &sysHooks{
	listen: func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.Listener, error) {
		return lc.Listen(ctx, network, address)
	},
	listenPacket: func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.PacketConn, error) {
		return lc.ListenPacket(ctx, network, address)
	},
	clearV6Only: sockopt.Control(sockopt.V6Only(false)),
}

// setV6Only is set on every AF_INET6 socket except the single dual-stack
// one. net sets it too for "tcp6" and "udp6", but setting it here keeps
// the mode true whatever net's heuristics are.
var setV6Only = sockopt.Control(sockopt.V6Only(true))

// socket is one bound socket: a net.Listener or a net.PacketConn.
type socket struct {
	c    io.Closer
	addr net.Addr
}

// closeAll closes the sockets opened so far when a later step fails, so
// that a failed Listen leaves nothing listening.
func closeAll(socks ...socket) {
	for _, s := range socks {
		if s.c != nil {
			s.c.Close()
		}
	}
}

// v6OnlyError marks a failure to clear IPV6_V6ONLY, which sends Listen on
// to two sockets rather than failing.
type v6OnlyError struct{ err error }

func (e *v6OnlyError) Error() string { return "cannot clear IPV6_V6ONLY: " + e.err.Error() }
func (e *v6OnlyError) Unwrap() error { return e.err }

// opener opens one socket of the kind Listen or ListenPacket wants.
type opener struct {
	sys      *sysHooks
	packet   bool
	template net.ListenConfig
	base     controlFunc // the caller's options and Control
}

func (o *opener) open(ctx context.Context, network, address string, extra controlFunc) (socket, error) {
	nlc := o.template // a copy: each socket gets its own Control
	nlc.Control = sockopt.Chain(o.base, extra)
	if o.packet {
		pc, err := o.sys.listenPacket(ctx, &nlc, network, address)
		if err != nil {
			return socket{}, err
		}
		return socket{c: pc, addr: pc.LocalAddr()}, nil
	}
	l, err := o.sys.listen(ctx, &nlc, network, address)
	if err != nil {
		return socket{}, err
	}
	return socket{c: l, addr: l.Addr()}, nil
}

// open is the body of Listen and ListenPacket: it parses the address,
// picks the candidate modes and returns the sockets of the first that
// works, IPv6 first.
func (lc *ListenConfig) open(ctx context.Context, proto, network, address string, opts []sockopt.Option) ([]socket, Mode, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	switch network {
	case proto, proto + "4", proto + "6":
	default:
		return nil, 0, opErr(net.UnknownNetworkError(network))
	}
	allowed := lc.Modes
	if allowed == 0 {
		allowed = allModes
	}
	if allowed&^allModes != 0 {
		return nil, 0, opErr(fmt.Errorf("dualstack: invalid ListenConfig.Modes %v", allowed))
	}
	// Check every option before the first socket exists, so nothing is
	// half-built when one is unsupported here.
	var before []sockopt.Option
	var errs []error
	for _, o := range opts {
		// Options are comparable values, so V6Only is found by equality
		// rather than by its name. It is refused because the mode this
		// package reports is a statement about IPV6_V6ONLY.
		if o == sockopt.V6Only(true) || o == sockopt.V6Only(false) {
			errs = append(errs, fmt.Errorf("%v: %w", o, ErrV6Only))
			continue
		}
		if err := sockopt.Supported(o); err != nil {
			errs = append(errs, err)
			continue
		}
		if sockopt.PhaseOf(o) != sockopt.AfterConnect {
			before = append(before, o)
		}
	}
	if len(errs) > 0 {
		return nil, 0, opErr(errors.Join(errs...))
	}
	sys := lc.sys
	if sys == nil {
		sys = realSys
	}
	op := &opener{
		sys:      sys,
		packet:   proto == "udp",
		template: lc.ListenConfig,
		base:     sockopt.Chain(sockopt.Control(before...), lc.ListenConfig.Control),
	}

	host, port, err := splitHostPort(ctx, proto, address)
	if err != nil {
		return nil, 0, opErr(err)
	}
	// The cases below are the list in the package overview, in order: an
	// explicit family wins, then a wildcard means both families, then an
	// IP literal means its own family. netip, unlike net.ParseIP, keeps a
	// zone, and a zoned address is never a wildcard.
	ip, ipErr := netip.ParseAddr(host)
	switch {
	case network == proto+"4":
		return lc.openOne(ctx, op, IPv4Only, network, address, nil)
	case network == proto+"6":
		return lc.openOne(ctx, op, IPv6Only, network, address, setV6Only)
	case host == "" || ipErr == nil && ip.Zone() == "" && ip.Unmap().IsUnspecified():
		return lc.openBoth(ctx, op, proto, network, address, port, allowed)
	case ipErr == nil && ip.Unmap().Is4():
		// ::ffff:a.b.c.d names an IPv4 address, as it does for net.
		return lc.openOne(ctx, op, IPv4Only, proto+"4", hostPort(ip.Unmap().String(), port), nil)
	case ipErr == nil:
		return lc.openOne(ctx, op, IPv6Only, proto+"6", address, setV6Only)
	}
	// A host name: net resolves it and listens on one of its addresses
	// (an IPv4 one first); report the family it chose.
	s, err := op.open(ctx, network, address, nil)
	if err != nil {
		return nil, 0, err
	}
	mode := IPv6Only
	if ap, ok := AddrPort(s.addr); ok && ap.Addr().Is4() {
		mode = IPv4Only
	}
	if allowed&mode == 0 {
		closeAll(s)
		return nil, 0, errorf(network, address, "%v listens on %v: %w", address, mode, ErrMode)
	}
	return []socket{s}, mode, nil
}

// openOne opens the one socket of a listen that names its family.
func (lc *ListenConfig) openOne(ctx context.Context, op *opener, mode Mode, network, address string, extra controlFunc) ([]socket, Mode, error) {
	if lc.Modes != 0 && lc.Modes&mode == 0 {
		return nil, 0, errorf(network, address, "listening on %s gives %v: %w", network, mode, ErrMode)
	}
	s, err := op.open(ctx, network, address, extra)
	if err != nil {
		return nil, 0, err
	}
	return []socket{s}, mode, nil
}

// openBoth serves both families on a wildcard address. It tries the
// allowed modes in order, moving on only when the kernel cannot do a mode
// at all (it refuses to clear IPV6_V6ONLY, or lacks a family); any other
// error ends Listen.
func (lc *ListenConfig) openBoth(ctx context.Context, op *opener, proto, network, address string, port int, allowed Mode) ([]socket, Mode, error) {
	var reasons []error
	var noV4, noV6 bool
	// noFamily records a missing family; a family that is missing stays
	// missing for the other candidates.
	noFamily := func(mode Mode, v6 bool, err error) bool {
		if !isNoFamily(err) {
			return false
		}
		if v6 {
			noV6 = true
		} else {
			noV4 = true
		}
		reasons = append(reasons, fmt.Errorf("%v: %w", mode, err))
		return true
	}

	if allowed&SingleSocket != 0 {
		// The IPV6_V6ONLY step is marked so that its failure, and only
		// its failure, sends Listen on to two sockets: a caller's option
		// that the kernel rejects in the same Control chain is an error
		// to report, not a reason to change modes. It runs last, after
		// the caller's Control, so nothing can set the option back.
		s, err := op.open(ctx, proto+"6", hostPort("::", port), func(network, address string, c syscall.RawConn) error {
			if err := op.sys.clearV6Only(network, address, c); err != nil {
				return &v6OnlyError{err}
			}
			return nil
		})
		var ve *v6OnlyError
		switch {
		case err == nil:
			return []socket{s}, SingleSocket, nil
		case errors.As(err, &ve):
			reasons = append(reasons, fmt.Errorf("%v: %w", SingleSocket, err))
		case noFamily(SingleSocket, true, err):
		default:
			return nil, 0, errorf(network, address, "%v: %w", SingleSocket, err)
		}
	}

	// Reached when one socket cannot serve both families here, or when the
	// caller asked for two sockets.
	if allowed&TwoSockets != 0 && !noV6 {
		s6, s4, err := openPair(ctx, op, proto, port)
		switch {
		case err == nil:
			return []socket{s6, s4}, TwoSockets, nil
		case s6.c == nil && noFamily(TwoSockets, true, err):
		case s6.c != nil && noFamily(TwoSockets, false, err):
			// The IPv6 socket is open and IPv4 is missing: that socket
			// is an IPv6Only listener if the caller allows one.
			if allowed&IPv6Only != 0 {
				return []socket{s6}, IPv6Only, nil
			}
			closeAll(s6)
		default:
			closeAll(s6)
			return nil, 0, errorf(network, address, "%v: %w", TwoSockets, err)
		}
	}

	// The single-family modes: reached with every mode allowed only when
	// the kernel lacks the other family, since a both-family mode would
	// otherwise have succeeded or failed for good above.
	if allowed&IPv4Only != 0 && !noV4 {
		s, err := op.open(ctx, proto+"4", hostPort("0.0.0.0", port), nil)
		switch {
		case err == nil:
			return []socket{s}, IPv4Only, nil
		case noFamily(IPv4Only, false, err):
		default:
			return nil, 0, errorf(network, address, "%v: %w", IPv4Only, err)
		}
	}

	if allowed&IPv6Only != 0 && !noV6 {
		s, err := op.open(ctx, proto+"6", hostPort("::", port), setV6Only)
		switch {
		case err == nil:
			return []socket{s}, IPv6Only, nil
		case noFamily(IPv6Only, true, err):
		default:
			return nil, 0, errorf(network, address, "%v: %w", IPv6Only, err)
		}
	}

	if allowed != allModes {
		reasons = append(reasons, fmt.Errorf("allowed modes %v: %w", allowed, ErrMode))
	}
	return nil, 0, errorf(network, address, "%w", errors.Join(reasons...))
}

// openPair opens the two sockets of [TwoSockets] on one port: the IPv6
// one first (IPV6_V6ONLY set, so it does not claim the IPv4 port), then
// the IPv4 one on the port the first got. When port is 0 and another
// socket already holds the chosen port on IPv4, it closes the IPv6 socket
// and tries a fresh port, at most maxPortAttempts times. On error s6 is
// the open IPv6 socket if only the IPv4 one failed, for the caller to keep
// or close; otherwise nothing is left open.
func openPair(ctx context.Context, op *opener, proto string, port int) (s6, s4 socket, err error) {
	for attempt := 1; ; attempt++ {
		s6, err = op.open(ctx, proto+"6", hostPort("::", port), setV6Only)
		if err != nil {
			return socket{}, socket{}, err
		}
		ap, _ := AddrPort(s6.addr)
		p := int(ap.Port())
		s4, err = op.open(ctx, proto+"4", hostPort("0.0.0.0", p), nil)
		if err == nil {
			return s6, s4, nil
		}
		err = fmt.Errorf("IPv4 socket on port %d of %v: %w", p, s6.addr, err)
		if port != 0 || !isAddrInUse(err) {
			return s6, socket{}, err
		}
		closeAll(s6)
		if attempt == maxPortAttempts {
			return socket{}, socket{}, fmt.Errorf("%v: no free port for both families after %d attempts: %w", TwoSockets, attempt, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return socket{}, socket{}, errors.Join(cerr, err)
		}
	}
}

// splitHostPort splits address as net does for a listen: "" means any
// host and port 0, and the port may be a service name.
func splitHostPort(ctx context.Context, proto, address string) (host string, port int, err error) {
	if address == "" {
		return "", 0, nil
	}
	host, service, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, err
	}
	port, err = net.DefaultResolver.LookupPort(ctx, proto, service)
	return host, port, err
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
