package echo

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// KnowsSegmentation is the check newBatcher makes before it segments
// replies, for the tests of package echo_test.
var KnowsSegmentation = knowsSegmentation

// GROSegmentSize is how the batched loop finds the datagram size of a
// coalesced read in its control messages.
var GROSegmentSize = groSegmentSize

// SetGROOption makes newBatcher ask for socket option opt at level
// SOL_UDP instead of UDP_GRO, so that a test can see the kernel refuse
// it; the returned func restores UDP_GRO.
func SetGROOption(opt int) (restore func()) {
	old := groOption
	groOption = opt
	return func() { groOption = old }
}

// BatchReader reads datagrams in batches through the PacketServer's own
// recvmmsg path, for benchmark clients that must not allocate.
type BatchReader struct{ m *mmsgConn }

// NewBatchReader reads up to n datagrams of up to size bytes per Read.
func NewBatchReader(c *net.UDPConn, n, size int) *BatchReader {
	rc, err := c.SyscallConn()
	if err != nil {
		panic(err)
	}
	return &BatchReader{newMmsgConn(rc, n, size, 0)}
}

// Read waits for datagrams and returns how many it read.
func (r *BatchReader) Read() (int, error) { return r.m.recv() }

// Datagram returns datagram i of the last Read.
func (r *BatchReader) Datagram(i int) []byte {
	p, _, _ := r.m.message(i)
	return p
}

// PeerDecoder decodes the raw socket addresses recvmmsg writes as the
// batched loop does, with its cache of zone names.
type PeerDecoder struct{ z zoneNames }

// Decode decodes sa.
func (d *PeerDecoder) Decode(sa *unix.RawSockaddrInet6) netip.AddrPort { return d.z.addrPort(sa) }
