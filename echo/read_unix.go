//go:build unix

package echo

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/framesock/framesock/dualstack"
	"golang.org/x/sys/unix"
)

// sysConn reads a *net.TCPConn through its syscall.RawConn so that a
// connection waiting for input holds no buffer. net.Conn.Read needs its
// buffer before it blocks; RawConn.Read instead calls readFn, which tries
// read(2) into the held buffer and, if the read would block, gives the
// buffer back to the pool before RawConn.Read waits for the poller. That
// costs no extra system call: net.Conn.Read also tries read(2) first and
// waits on EAGAIN. A connection that always has input waiting (a stream,
// pipelined requests) keeps its buffer from read to read.
type sysConn struct {
	nc    net.Conn
	rc    syscall.RawConn // nil: not a socket we may read directly
	buf   heldBuf
	n     int
	err   error
	peek  [1]byte
	woken bool // peekSys has run once in this waitReadable

	// Bound once per connection: a method value passed to RawConn.Read
	// would otherwise be allocated on every call.
	readFn, peekFn func(fd uintptr) bool
}

func (s *sysConn) init(c *conn) {
	s.nc = c.nc
	// Only the net package's own TCP and Unix conns: a user type that
	// embeds one would promote SyscallConn while overriding Read, and
	// reading its socket directly would bypass that Read.
	var sc syscall.Conn
	switch nc := c.nc.(type) {
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	case *dualstack.Conn:
		// Only its address methods differ from the *net.TCPConn's.
		sc = nc.TCPConn
	default:
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	s.rc = rc
	s.readFn = s.readSys
	s.peekFn = s.peekSys
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

// release gives the held buffer back to the pool.
func (s *sysConn) release() { s.buf.release() }

func (s *sysConn) readSys(fd uintptr) bool {
	b := s.buf.get()
	for {
		n, err := unix.Read(int(fd), b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			s.buf.release() // nothing to read: wait with no buffer held
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
	s.woken = false
	return s.rc.Read(s.peekFn)
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
		// Data, EOF or an error: the next read reports the last two.
		return err != unix.EAGAIN
	}
}
