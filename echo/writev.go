//go:build linux || darwin

package echo

import (
	"net"

	"golang.org/x/sys/unix"
)

// The write system calls of the raw write path, as variables so that the
// package's tests can count them.
var (
	sysWrite  = unix.Write
	sysWritev = unix.Writev
)

// maxIovecs is IOV_MAX on Linux and macOS: writev(2) refuses more
// buffers than that with EINVAL, so longer lists go out in several calls.
const maxIovecs = 1024

// gather is a gathered write in progress.
type gather struct {
	v  *net.Buffers          // still to write
	fn func(fd uintptr) bool // writevSys, bound once
}

func (g *gather) bind(s *sysConn) { g.fn = s.writevSys }

// writeBuffers writes all of v, or fails, with writev(2) through the
// RawConn, under WriteTimeout as write is: the deadline is set only if a
// call must wait for room. It consumes v as net.Buffers.WriteTo does.
func (s *sysConn) writeBuffers(v *net.Buffers) (int64, error) {
	if s.rc == nil {
		return s.r.plainWriteBuffers(v)
	}
	s.gather.v, s.wn = v, 0
	err := s.rawWrite(s.gather.fn)
	s.gather.v = nil
	return int64(s.wn), err
}

func (s *sysConn) writevSys(fd uintptr) bool {
	v := s.gather.v
	for len(*v) > 0 {
		iovs := *v
		n, err := sysWritev(int(fd), iovs[:min(len(iovs), maxIovecs)])
		if n > 0 {
			s.wn += n
		}
		consume(v, max(n, 0)) // drops empty buffers too, so the loop ends
		if err != nil && err != unix.EINTR {
			return s.writeFailed("writev", err)
		}
	}
	return true
}

// consume removes the first n bytes from v, as net.Buffers' own
// consume does.
func consume(v *net.Buffers, n int) {
	for len(*v) > 0 {
		if n < len((*v)[0]) {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= len((*v)[0])
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}
