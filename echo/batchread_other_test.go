//go:build !linux

package echo_test

import "net"

// batchReader reads one datagram per call where the PacketServer has no
// batched reads.
type batchReader struct {
	c   *net.UDPConn
	buf []byte
	n   int
}

func newBatchReader(c *net.UDPConn, _, size int) *batchReader {
	return &batchReader{c: c, buf: make([]byte, size)}
}

// Read reads one datagram and returns 1, or 0 and the error.
func (r *batchReader) Read() (int, error) {
	n, err := r.c.Read(r.buf)
	if err != nil {
		return 0, err
	}
	r.n = n
	return 1, nil
}

// Datagram returns the datagram of the last Read.
func (r *batchReader) Datagram(int) []byte { return r.buf[:r.n] }
