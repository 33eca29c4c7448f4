package echo

import (
	"context"
	"net"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// listenStream binds a TCP listener with opts. Package sockopt sets each
// option in its phase: before bind through Control, and the after-connect
// ones (NoDelay, KeepAlive, which net resets on every accepted socket) on
// each connection as Accept returns it. dual asks package dualstack for
// one listener that serves IPv4 and IPv6, with IPv4 peers reported
// unmapped so logs name a client one way.
func listenStream(ctx context.Context, network, address string, dual bool, opts []sockopt.Option) (net.Listener, error) {
	if dual {
		lc := dualstack.ListenConfig{Unmap: true}
		return lc.Listen(ctx, network, address, opts...)
	}
	return sockopt.Listen(ctx, network, address, opts...)
}

// listenPacket binds a UDP socket with opts; see listenStream.
func listenPacket(ctx context.Context, network, address string, dual bool, opts []sockopt.Option) (net.PacketConn, error) {
	if dual {
		lc := dualstack.ListenConfig{Unmap: true}
		return lc.ListenPacket(ctx, network, address, opts...)
	}
	lc := net.ListenConfig{Control: sockopt.Control(opts...)}
	return lc.ListenPacket(ctx, network, address)
}
