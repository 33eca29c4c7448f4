//go:build !unix

package echo

import "net"

// sysConn on platforms without a non-blocking read through
// syscall.RawConn (Windows' sockets are not in non-blocking mode; js and
// wasip1 have no sockets of their own) reads through net.Conn, so a
// connection blocked on input holds its pooled buffer.
type sysConn struct{ nc net.Conn }

func (s *sysConn) init(c *conn) { s.nc = c.nc }

func (s *sysConn) read() (*[]byte, int, error) { return plainRead(s.nc) }

func (s *sysConn) waitReadable() error { return nil }
