//go:build !linux

package echo

import "net"

// batcher is the batched UDP loop, which only Linux has (recvmmsg(2) and
// sendmmsg(2)); x/net's ReadBatch elsewhere reads one datagram per call
// through recvmsg, no better than the plain loop.
type batcher struct{}

func newBatcher(*net.UDPConn, int) *batcher { return nil }

func (*batcher) run(*PacketServer) error { return nil }
