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
	r       *run
	nc      net.Conn
	buf     heldBuf
	parkNow bool // never set: no connection parks
}

func (s *sysConn) bind(r *run) { s.r = r }

func (s *sysConn) attach(c *conn) { s.nc = c.nc }

func (s *sysConn) detach() {
	s.buf.release()
	s.nc = nil
}

func (s *sysConn) read() ([]byte, error) { return plainRead(s.nc, &s.buf) }

func (s *sysConn) waitReadable() error { return nil }

func (s *sysConn) write(p []byte) (int, error) { return s.r.plainWrite(p) }

func (s *sysConn) writeBuffers(v *net.Buffers) (int64, error) { return s.r.plainWriteBuffers(v) }
