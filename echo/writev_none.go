//go:build unix && !linux && !darwin

package echo

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// sysWrite is the write system call of the raw write path, as a variable
// so that the package's tests can count it.
var sysWrite = unix.Write

// golang.org/x/sys/unix has no writev(2) here (and OpenBSD allows no
// direct system calls), so a gathered write goes through the net
// package's own writev, net.Buffers.WriteTo, and gather, which keeps its
// state where writev is ours, holds nothing.
type gather struct{}

func (*gather) bind(*sysConn) {}

// writeBuffers writes all of v through net.Buffers.WriteTo, one writev(2)
// on the net package's conns, under a write deadline of WriteTimeout from
// now that it clears when the write is done, so that, as on the RawConn
// path, no deadline outlives its write.
func (s *sysConn) writeBuffers(v *net.Buffers) (int64, error) {
	if s.rc == nil || s.r.writeTO <= 0 {
		return s.r.plainWriteBuffers(v)
	}
	if err := s.nc.SetWriteDeadline(time.Now().Add(s.r.writeTO)); err != nil {
		return 0, err
	}
	n, err := v.WriteTo(s.nc)
	if cerr := s.nc.SetWriteDeadline(time.Time{}); err == nil {
		err = cerr
	}
	return n, err
}
