package dualstack

import (
	"context"
	"net"
	"syscall"

	"github.com/framesock/framesock/sockopt"
)

type controlFunc = func(network, address string, c syscall.RawConn) error

// sysHooks is the seam between the package and the kernel. The zero
// ListenConfig uses realSys; export_test.go installs others, so tests can
// make socket creation or IPV6_V6ONLY fail the way other kernels do.
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
