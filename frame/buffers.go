package frame

import (
	"io"
	"net"
)

// A BuffersWriter is a writer that can write several buffers in one call,
// as writev(2) does. WriteBuffers writes the contents of v, consuming it as
// [net.Buffers.WriteTo] does: it writes all the bytes of v, in order, or
// returns a non-nil error saying why it stopped; n is the number of bytes
// written, and on return v holds what was not written. WriteBuffers must
// not retain v or the buffers it holds.
//
// A [Writer], and so [SendMessage], [SendBatch] and [Conn], hands a
// BuffersWriter a payload too large to copy together with its header and
// the bytes buffered before it, so that they leave in one call and the
// payload is not copied. A *net.TCPConn or *net.UnixConn gets the same
// through net.Buffers, but a type that wraps one does not
// (golang/go#21676): a wrapper implements WriteBuffers to keep the single
// gathered write, with writev(2) through [syscall.RawConn] or by passing v
// on to the wrapped connection's net.Buffers.WriteTo.
//
// What was written is counted by n, so a writer that consumes v wrongly
// cannot make bytes go out twice: a count outside [0, len] is an error, as
// is a count short of all of v without an error ([io.ErrShortWrite]).
type BuffersWriter interface {
	WriteBuffers(v *net.Buffers) (n int64, err error)
}

// gatherer returns what writes several buffers to w in one call: w itself
// if it is a BuffersWriter, net.Buffers for the net package's own conns,
// or nil.
func gatherer(w io.Writer) BuffersWriter {
	switch c := w.(type) {
	case BuffersWriter:
		return c
	case *net.TCPConn:
		return (*tcpConn)(c)
	case *net.UnixConn:
		return (*unixConn)(c)
	}
	return nil
}

// tcpConn and unixConn write with net.Buffers.WriteTo, which turns into
// writev(2) only for the net package's own conns (through an unexported
// interface). A pointer conversion, unlike a wrapper struct, costs no
// allocation when stored in an interface.
type (
	tcpConn  net.TCPConn
	unixConn net.UnixConn
)

func (c *tcpConn) WriteBuffers(v *net.Buffers) (int64, error) {
	return v.WriteTo((*net.TCPConn)(c))
}

func (c *unixConn) WriteBuffers(v *net.Buffers) (int64, error) {
	return v.WriteTo((*net.UnixConn)(c))
}

// unwritten returns the part of segs past its first n bytes, trimming the
// first buffer in place.
func unwritten(segs [][]byte, n int64) [][]byte {
	n = max(n, 0)
	for i, s := range segs {
		if n < int64(len(s)) {
			segs[i] = s[n:]
			return segs[i:]
		}
		n -= int64(len(s))
	}
	return nil
}
