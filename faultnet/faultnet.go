package faultnet

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// Pipe returns the two ends of an in-memory, buffered, full-duplex
// connection; with no options it behaves as a well-behaved TCP connection.
//
// Unlike [net.Pipe], a Write returns as soon as its bytes are queued, so
// one goroutine can write a whole request and then read the reply; each
// direction holds up to [DefaultBuffer] bytes ([Buffer] changes it), and
// a Write into a full direction waits for the reader, a deadline or
// Close, as a Write into a full socket buffer does. A Read returns what
// has arrived, up to len(b), joining separate writes as TCP does.
//
// Both ends are [net.Conn] values with deadlines, and also have
// CloseWrite and CloseRead, which half-close as those of [*net.TCPConn]
// do, and SetLinger, with which SetLinger(0) makes Close reset the
// connection. Their addresses are [*net.TCPAddr] values on 127.0.0.1
// whose ports, in the dynamic range, tell the ends of the last 8192 pipes
// apart; no socket has them.
//
// opts add faults; see the package documentation. In them, Outbound
// means what the first end writes and the second reads.
func Pipe(opts ...Option) (net.Conn, net.Conn) {
	a, b := newPipe(opts)
	return a, b
}

// Wrap returns c with the faults of opts, for a test to aim at a real
// connection or server. Outbound faults act on what the returned
// connection writes to c, inbound ones on what it reads from c. It is
// still a [net.Conn]: deadlines are set on c as well, Close closes c,
// CloseWrite and CloseRead call those of c (an error matching
// [errors.ErrUnsupported] if c has none), and NetConn returns c.
//
// No goroutine works for it: the faults act inside the Read and Write
// calls, so an outbound [Latency] or [Bandwidth] makes Write itself wait,
// and inbound bytes are read from c only when a Read needs them.
func Wrap(c net.Conn, opts ...Option) net.Conn {
	return newConn(c, newConfig(opts))
}

// WrapListener returns l with every connection it accepts wrapped by
// [Wrap] with opts, each with faults of its own. The connection accepted
// n-th, counting from 0, gets the seed s+n, where s is the seed of opts
// (0 by default): Wrap(c, append(opts, Seed(s+n))...) replays it alone.
func WrapListener(l net.Listener, opts ...Option) net.Listener {
	return &listener{Listener: l, cfg: newConfig(opts)}
}

// errReset ends a direction that a reset cut.
var errReset = syscall.ECONNRESET

// errTimeout is what a deadline gives, as in the net package: it matches
// [os.ErrDeadlineExceeded] and its Timeout method reports true.
var errTimeout = os.ErrDeadlineExceeded

// opError returns err as the net package reports errors on a connection,
// with "faultnet" as the network, so that a log shows which errors the
// faults made.
func opError(op string, local, remote net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "faultnet", Source: local, Addr: remote, Err: err}
}

func syscallError(op string, errno syscall.Errno) error {
	return os.NewSyscallError(op, errno)
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
