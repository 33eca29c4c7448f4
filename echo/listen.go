package echo

import (
	"context"
	"net"
)

// listenStream binds a TCP listener. dual asks for one listener serving
// IPv4 and IPv6.
func listenStream(ctx context.Context, network, address string, dual bool) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, network, address)
}

// listenPacket binds a UDP socket.
func listenPacket(ctx context.Context, network, address string, dual bool) (net.PacketConn, error) {
	var lc net.ListenConfig
	return lc.ListenPacket(ctx, network, address)
}
