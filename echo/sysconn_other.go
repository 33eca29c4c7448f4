//go:build !unix

package echo

import "net"

// sysConn on platforms without a non-blocking read through
// syscall.RawConn (Windows' sockets are not in non-blocking mode; js and
// wasip1 have no sockets of their own) reads through net.Conn, so a
// connection blocked on input holds its pooled buffer, and writes go
// through net.Conn.Write (net.Buffers.WriteTo when gathered) under the
// lazy write deadline.
type sysConn struct {
	nc  net.Conn
	buf heldBuf
}

func (s *sysConn) init(c *conn) { s.nc = c.nc }

func (s *sysConn) read() ([]byte, error) { return plainRead(s.nc, &s.buf) }

func (s *sysConn) release() { s.buf.release() }

func (s *sysConn) waitReadable() error { return nil }

func (s *sysConn) write(c *conn, p []byte) (int, error) { return c.plainWrite(p) }

func (s *sysConn) writeBuffers(c *conn, v *net.Buffers) (int64, error) {
	return c.plainWriteBuffers(v)
}
