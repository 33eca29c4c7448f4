//go:build !linux

package echo

import "net"

// batcher is the batched UDP loop, which only Linux has (recvmmsg(2),
// sendmmsg(2), UDP_SEGMENT and UDP_GRO); elsewhere the plain loop reads
// and writes one datagram per call, allocating nothing.
type batcher struct{}

func newBatcher(*net.UDPConn, int) *batcher { return nil }

func (*batcher) run(*PacketServer) error { return nil }
