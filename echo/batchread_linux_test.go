package echo_test

import (
	"net"

	"github.com/framesock/framesock/echo"
)

// newBatchReader reads up to n datagrams of up to size bytes from c per
// call to Read, through recvmmsg(2) as the PacketServer does, allocating
// nothing: a benchmark client that reads as fast as the server writes.
func newBatchReader(c *net.UDPConn, n, size int) *echo.BatchReader {
	return echo.NewBatchReader(c, n, size)
}
