package dualstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// family is one address family as Listen opens it.
type family struct {
	v6      bool
	mode    Mode        // what a socket of this family alone achieves
	host    string      // the wildcard
	control controlFunc // for each socket of it but the dual-stack one
}

var (
	v4 = &family{mode: IPv4Only, host: "0.0.0.0"}
	// IPV6_V6ONLY is set on every AF_INET6 socket except the single
	// dual-stack one. net sets it too for "tcp6" and "udp6", but setting
	// it here keeps the mode true whatever net's heuristics are.
	v6 = &family{v6: true, mode: IPv6Only, host: "::", control: sockopt.Control(sockopt.V6Only(true))}
)

func (f *family) network(proto string) string {
	if f.v6 {
		return proto + "6"
	}
	return proto + "4"
}

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

// open is the body of Listen and ListenPacket: it checks the network, the
// address, the modes and the options, then returns the sockets of the
// first mode that works, IPv6 first. Every error it returns comes from
// listenError.
func (lc *ListenConfig) open(ctx context.Context, proto, network, address string, opts []sockopt.Option) ([]socket, Mode, error) {
	t, err := parseTarget(ctx, proto, network, address)
	if err != nil {
		return nil, 0, listenError(network, nil, err)
	}
	o, err := lc.newOpener(proto, opts)
	if err != nil {
		return nil, 0, listenError(network, t.addr, err)
	}
	socks, mode, err := o.openTarget(ctx, &t)
	if err != nil {
		return nil, 0, listenError(network, t.addr, err)
	}
	return socks, mode, nil
}

// opener opens the sockets of one Listen or ListenPacket call.
type opener struct {
	sys      *sysHooks
	proto    string // "tcp" or "udp"
	allowed  Mode
	template net.ListenConfig
	base     controlFunc // the caller's options and Control
}

// newOpener checks the modes and every option before the first socket
// exists, so nothing is half-built when one is refused.
func (lc *ListenConfig) newOpener(proto string, opts []sockopt.Option) (*opener, error) {
	allowed := lc.Modes
	if allowed == 0 {
		allowed = allModes
	}
	if allowed&^allModes != 0 {
		return nil, fmt.Errorf("dualstack: invalid ListenConfig.Modes %v: %w", allowed, ErrMode)
	}
	var before []sockopt.Option
	var errs []error
	for _, opt := range opts {
		// Options are comparable values, so V6Only is found by equality
		// rather than by its name. It is refused because the mode this
		// package reports is a statement about IPV6_V6ONLY.
		if opt == sockopt.V6Only(true) || opt == sockopt.V6Only(false) {
			errs = append(errs, fmt.Errorf("%v: %w", opt, ErrV6Only))
			continue
		}
		if err := sockopt.Supported(opt); err != nil {
			errs = append(errs, err)
			continue
		}
		if sockopt.PhaseOf(opt) != sockopt.AfterConnect {
			before = append(before, opt)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sys := lc.sys
	if sys == nil {
		sys = realSys
	}
	return &opener{
		sys:      sys,
		proto:    proto,
		allowed:  allowed,
		template: lc.ListenConfig,
		base:     sockopt.Chain(sockopt.Control(before...), lc.ListenConfig.Control),
	}, nil
}

// openTarget opens the sockets t names. The cases are the list in the
// package overview, in order: an explicit family wins, then a wildcard
// means both families, then an IP address means its own family, and a
// host name is net's to resolve. A zoned address is never a wildcard.
func (o *opener) openTarget(ctx context.Context, t *target) ([]socket, Mode, error) {
	ip := t.ip
	switch {
	case t.network == v4.network(o.proto):
		return o.one(ctx, v4, t.network, t.address)
	case t.network == v6.network(o.proto):
		return o.one(ctx, v6, t.network, t.address)
	case t.host == "" || ip.IsValid() && ip.Zone() == "" && ip.Unmap().IsUnspecified():
		return o.both(ctx, t.port)
	case ip.Unmap().Is4():
		// ::ffff:a.b.c.d names an IPv4 address, as it does for net.
		return o.one(ctx, v4, v4.network(o.proto), hostPort(ip.Unmap().String(), t.port))
	case ip.IsValid():
		return o.one(ctx, v6, v6.network(o.proto), t.address)
	}
	return o.name(ctx, t)
}

// one opens the one socket of a listen that names its family.
func (o *opener) one(ctx context.Context, f *family, network, address string) ([]socket, Mode, error) {
	if o.allowed&f.mode == 0 {
		return nil, 0, fmt.Errorf("dualstack: listening on %s gives %v: %w", network, f.mode, ErrMode)
	}
	s, err := o.open(ctx, network, address, f.control)
	if err != nil {
		// The error Listen returns names the network and address already.
		return nil, 0, errors.Unwrap(err)
	}
	return []socket{s}, f.mode, nil
}

// name listens on a host name: net resolves it and listens on one of its
// addresses (an IPv4 one first), and the mode follows the family net
// chose. t.addr learns the address net reports.
func (o *opener) name(ctx context.Context, t *target) ([]socket, Mode, error) {
	s, err := o.open(ctx, t.network, t.address, nil)
	if err != nil {
		var se *socketError
		if errors.As(err, &se) {
			t.addr = se.addr
		}
		return nil, 0, errors.Unwrap(err)
	}
	t.addr = s.addr
	mode := IPv6Only
	if ap, ok := AddrPort(s.addr); ok && ap.Addr().Is4() {
		mode = IPv4Only
	}
	if o.allowed&mode == 0 {
		closeAll(s)
		return nil, 0, fmt.Errorf("dualstack: %s listens on %v: %w", t.address, mode, ErrMode)
	}
	return []socket{s}, mode, nil
}

// both serves both families on a wildcard address. It tries the allowed
// modes in order, moving on only when the kernel cannot do a mode at all
// (it refuses to clear IPV6_V6ONLY, or lacks a family); any other error
// ends Listen.
func (o *opener) both(ctx context.Context, port int) ([]socket, Mode, error) {
	var reasons []error
	missing := map[*family]bool{}
	// lacks reports whether err says the kernel lacks f. If it does, f
	// stays missing for the modes after, and err is the reason mode
	// failed.
	lacks := func(mode Mode, f *family, err error) bool {
		if !isNoFamily(err) {
			return false
		}
		missing[f] = true
		reasons = append(reasons, fmt.Errorf("%v: %w", mode, err))
		return true
	}

	if o.allowed&SingleSocket != 0 {
		// The IPV6_V6ONLY step is marked so that its failure, and only
		// its failure, sends Listen on to two sockets: a caller's option
		// that the kernel rejects in the same Control chain is an error
		// to report, not a reason to change modes. It runs last, after
		// the caller's Control, so nothing can set the option back.
		s, err := o.openWildcard(ctx, v6, port, o.clearV6Only)
		var ve *v6OnlyError
		switch {
		case err == nil:
			return []socket{s}, SingleSocket, nil
		case errors.As(err, &ve):
			reasons = append(reasons, fmt.Errorf("%v: %w", SingleSocket, err))
		case lacks(SingleSocket, v6, err):
		default:
			return nil, 0, fmt.Errorf("dualstack: %v: %w", SingleSocket, err)
		}
	}

	// Reached when one socket cannot serve both families here, or when the
	// caller asked for two sockets.
	if o.allowed&TwoSockets != 0 && !missing[v6] {
		s6, s4, err := o.pair(ctx, port)
		switch {
		case err == nil:
			return []socket{s6, s4}, TwoSockets, nil
		case s6.c == nil && lacks(TwoSockets, v6, err):
		case s6.c != nil && lacks(TwoSockets, v4, err):
			// The IPv6 socket is open and IPv4 is missing: that socket
			// is an IPv6Only listener if the caller allows one.
			if o.allowed&IPv6Only != 0 {
				return []socket{s6}, IPv6Only, nil
			}
			closeAll(s6)
		default:
			closeAll(s6)
			return nil, 0, fmt.Errorf("dualstack: %v: %w", TwoSockets, err)
		}
	}

	// The single-family modes: reached with every mode allowed only when
	// the kernel lacks the other family, since a both-family mode would
	// otherwise have succeeded or failed for good above.
	for _, f := range []*family{v4, v6} {
		if o.allowed&f.mode == 0 || missing[f] {
			continue
		}
		s, err := o.openWildcard(ctx, f, port, f.control)
		switch {
		case err == nil:
			return []socket{s}, f.mode, nil
		case lacks(f.mode, f, err):
		default:
			return nil, 0, fmt.Errorf("dualstack: %v: %w", f.mode, err)
		}
	}

	if o.allowed != allModes {
		reasons = append(reasons, fmt.Errorf("allowed modes %v: %w", o.allowed, ErrMode))
	}
	return nil, 0, fmt.Errorf("dualstack: %w", errors.Join(reasons...))
}

// pair opens the two sockets of [TwoSockets] on one port: the IPv6 one
// first (IPV6_V6ONLY set, so it does not claim the IPv4 port), then the
// IPv4 one on the port the first got. When port is 0 and another socket
// already holds the chosen port on IPv4, it closes the IPv6 socket and
// tries a fresh port, at most maxPortAttempts times. On error s6 is the
// open IPv6 socket if only the IPv4 one failed, for the caller to keep or
// close; otherwise nothing is left open.
func (o *opener) pair(ctx context.Context, port int) (s6, s4 socket, err error) {
	for attempt := 1; ; attempt++ {
		s6, err = o.openWildcard(ctx, v6, port, v6.control)
		if err != nil {
			return socket{}, socket{}, err
		}
		ap, _ := AddrPort(s6.addr)
		s4, err = o.openWildcard(ctx, v4, int(ap.Port()), v4.control)
		if err == nil {
			return s6, s4, nil
		}
		if port != 0 || !isAddrInUse(err) {
			return s6, socket{}, err
		}
		closeAll(s6)
		if attempt == maxPortAttempts {
			return socket{}, socket{}, fmt.Errorf("no free port for both families after %d attempts: %w", attempt, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return socket{}, socket{}, errors.Join(cerr, err)
		}
	}
}

// openWildcard opens a socket of family f on its wildcard address.
func (o *opener) openWildcard(ctx context.Context, f *family, port int, extra controlFunc) (socket, error) {
	return o.open(ctx, f.network(o.proto), hostPort(f.host, port), extra)
}

// open opens one socket, setting the options and the caller's Control
// before extra. Its error is a *socketError.
func (o *opener) open(ctx context.Context, network, address string, extra controlFunc) (socket, error) {
	nlc := o.template // a copy: each socket gets its own Control
	nlc.Control = sockopt.Chain(o.base, extra)
	var s socket
	var err error
	if o.proto == "udp" {
		var pc net.PacketConn
		if pc, err = o.sys.listenPacket(ctx, &nlc, network, address); err == nil {
			s = socket{c: pc, addr: pc.LocalAddr()}
		}
	} else {
		var l net.Listener
		if l, err = o.sys.listen(ctx, &nlc, network, address); err == nil {
			s = socket{c: l, addr: l.Addr()}
		}
	}
	if err != nil {
		return socket{}, newSocketError(network, address, err)
	}
	return s, nil
}

// clearV6Only clears IPV6_V6ONLY for the single dual-stack socket and
// marks a refusal as a v6OnlyError.
func (o *opener) clearV6Only(network, address string, c syscall.RawConn) error {
	if err := o.sys.clearV6Only(network, address, c); err != nil {
		return &v6OnlyError{err}
	}
	return nil
}
