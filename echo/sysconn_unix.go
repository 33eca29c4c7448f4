//go:build unix

package echo

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sysConn reads a *net.TCPConn through its syscall.RawConn so that a
// connection waiting for input holds no buffer. net.Conn.Read needs its
// buffer before it blocks; RawConn.Read instead calls readFn, which tries
// read(2) into the held buffer and, if the read would block, gives the
// buffer back to the pool before RawConn.Read waits for the poller. That
// costs no extra system call: net.Conn.Read also tries read(2) first and
// waits on EAGAIN. A connection that always has input waiting (a stream,
// pipelined requests) keeps its buffer from read to read. Writes go through
// the same RawConn so that the write deadline is set only for a write that
// has to wait (see write).
type sysConn struct {
	r     *run
	nc    net.Conn
	rc    syscall.RawConn // nil: not a socket we may use directly
	buf   heldBuf
	n     int
	err   error
	peek  [1]byte
	woken bool // peekSys has run once in this waitReadable

	// parkNow makes a read or wait that finds no input return errPark
	// at once instead of waiting (see conn.serve).
	parkNow bool

	// The write in progress (see write and writeBuffers).
	wp     []byte // still to write
	gather gather // still to write, gathered, where writev is ours
	wn     int    // written
	werr   error
	armed  bool // the write deadline is set

	// Bound once per run: a method value passed to RawConn.Read would
	// otherwise be allocated on every call.
	readFn, peekFn, writeFn func(fd uintptr) bool
}

func (s *sysConn) bind(r *run) {
	s.r = r
	s.readFn = s.readSys
	s.peekFn = s.peekSys
	s.writeFn = s.writeSys
	s.gather.bind(s)
}

// attach makes s read and write c's socket: through its RawConn if c is
// one of the net package's own TCP and Unix conns. A user type that
// embeds one would promote SyscallConn while overriding Read, and reading
// its socket directly would bypass that Read.
func (s *sysConn) attach(c *conn) {
	s.nc = c.nc
	if c.raw {
		s.rc = rawConn(c.nc)
	}
}

// detach gives the held buffer back and forgets the connection.
func (s *sysConn) detach() {
	s.buf.release()
	s.nc, s.rc, s.parkNow = nil, nil, false
}

// read returns the next n > 0 bytes of the stream, in the held buffer and
// valid until the next read or release, or an error (io.EOF at the end of
// the stream).
func (s *sysConn) read() ([]byte, error) {
	if s.rc == nil {
		return plainRead(s.nc, &s.buf)
	}
	s.n, s.err = 0, nil
	if err := s.rc.Read(s.readFn); err != nil {
		return nil, err // deadline or close: the connection ends, and its buffer with it
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.buf.get()[:s.n], nil
}

func (s *sysConn) readSys(fd uintptr) bool {
	b := s.buf.get()
	for {
		n, err := unix.Read(int(fd), b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.buf.release() // nothing to read: wait with no buffer held
			if s.parkNow {
				s.err = errPark
				return true
			}
			return false
		case err != nil:
			s.err = os.NewSyscallError("read", err)
		case n == 0:
			s.err = io.EOF
		default:
			s.n = n
		}
		return true
	}
}

// waitReadable blocks, holding no buffer, until the socket has input, an
// end of stream or an error pending, or the read deadline passes. It peeks
// (recv(2) with MSG_PEEK) so the bytes stay queued for the frame.Reader;
// the socket is non-blocking, so the peek returns EAGAIN rather than block.
func (s *sysConn) waitReadable() error {
	if s.rc == nil {
		return nil // the frame.Reader's read will block, holding its buffer
	}
	s.woken, s.err = false, nil
	if err := s.rc.Read(s.peekFn); err != nil {
		return err
	}
	return s.err
}

// peekSys peeks once. When RawConn.Read calls it again, the poller has
// reported the socket readable, and a second peek would only confirm it:
// skipping it keeps a framed round trip at the system calls of a plain
// net.Conn read (one try that meets EAGAIN, one read). A rare spurious
// wake-up costs only a read that blocks holding its buffer.
func (s *sysConn) peekSys(fd uintptr) bool {
	if s.woken {
		return true
	}
	s.woken = true
	for {
		err := peek(int(fd), s.peek[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN && s.parkNow {
			s.err = errPark
			return true
		}
		// Data, EOF or an error: the next read reports the last two.
		return err != unix.EAGAIN
	}
}

// write writes all of p, or fails. It tries write(2) at once and sets the
// write deadline (WriteTimeout from now) only when the socket's send buffer
// is full and the write must wait, then clears it when the write is done:
// a reply that fits, the usual case, costs no clock read and no timer, and
// no deadline outlives the write it bounded.
func (s *sysConn) write(p []byte) (int, error) {
	if s.rc == nil {
		return s.r.plainWrite(p)
	}
	s.wp, s.wn = p, 0
	err := s.rawWrite(s.writeFn)
	s.wp = nil
	return s.wn, err
}

// rawWrite runs fn, a write callback, through RawConn.Write and clears
// the write deadline if fn had to set it.
func (s *sysConn) rawWrite(fn func(fd uintptr) bool) error {
	s.werr, s.armed = nil, false
	err := s.rc.Write(fn)
	if s.armed {
		if cerr := s.nc.SetWriteDeadline(time.Time{}); err == nil && s.werr == nil {
			err = cerr
		}
	}
	if err == nil {
		err = s.werr
	}
	return err
}

func (s *sysConn) writeSys(fd uintptr) bool {
	for len(s.wp) > 0 {
		n, err := sysWrite(int(fd), s.wp)
		if n > 0 {
			s.wn += n
			s.wp = s.wp[n:]
		}
		if err != nil && err != unix.EINTR {
			return s.writeFailed("write", err)
		}
	}
	return true
}

// writeFailed ends a write callback's system call that failed with err.
// On EAGAIN, the send buffer being full, it sets the write deadline if
// it is not set yet and returns false, so that RawConn.Write waits for
// room or the deadline. Any other error is kept, and ends the write.
func (s *sysConn) writeFailed(op string, err error) bool {
	if err != unix.EAGAIN {
		s.werr = os.NewSyscallError(op, err)
		return true
	}
	if !s.armed && s.r.writeTO > 0 {
		s.armed = true
		if err := s.nc.SetWriteDeadline(time.Now().Add(s.r.writeTO)); err != nil {
			s.werr = err
			return true
		}
	}
	return false
}
