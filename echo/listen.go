package echo

import (
	"context"
	"net"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// listenStream binds a TCP listener (network "" means "tcp") with opts.
// Package sockopt sets each option in its phase: before bind through
// Control, and the after-connect ones (NoDelay, KeepAlive, which net
// resets on every accepted socket) on each connection as Accept returns
// it. dual asks package dualstack for one listener that serves IPv4 and
// IPv6. Its connections are plain *net.TCPConn values (no Unmap), so that
// Serve reads them through their raw sockets; the server unmaps peer
// addresses where it reports them.
func listenStream(ctx context.Context, network, address string, dual bool, opts []sockopt.Option) (*socket, error) {
	if network == "" {
		network = "tcp"
	}
	var l net.Listener
	var err error
	if dual {
		var lc dualstack.ListenConfig
		l, err = lc.Listen(ctx, network, address, opts...)
	} else {
		l, err = sockopt.Listen(ctx, network, address, opts...)
	}
	if err != nil {
		return nil, err
	}
	return &socket{c: l, addr: l.Addr()}, nil
}

// listenPacket binds a UDP socket (network "" means "udp") with opts. The
// socket it returns records the *net.UDPConn that Serve may batch on: the
// socket itself, or the one socket of a dual-stack PacketConn (none if it
// has two, which its own goroutines read).
func listenPacket(ctx context.Context, network, address string, dual bool, opts []sockopt.Option) (*socket, error) {
	if network == "" {
		network = "udp"
	}
	if dual {
		var lc dualstack.ListenConfig
		pc, err := lc.ListenPacket(ctx, network, address, opts...)
		if err != nil {
			return nil, err
		}
		return &socket{c: pc, addr: pc.LocalAddr(), batch: pc.UDPConn()}, nil
	}
	lc := net.ListenConfig{Control: sockopt.Control(opts...)}
	pc, err := lc.ListenPacket(ctx, network, address)
	if err != nil {
		return nil, err
	}
	uc, _ := pc.(*net.UDPConn)
	return &socket{c: pc, addr: pc.LocalAddr(), batch: uc}, nil
}
