package echo

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/framesock/framesock/frame"
)

// lingerTimeout bounds how long a connection being shut down waits for the
// client to close after the server half-closed it. Closing while the client
// still sends makes the kernel answer with RST, and a client that receives
// RST may lose replies it has not read yet (RFC 1122 4.2.2.13; net/http's
// closeWriteAndWait waits for the same reason).
const lingerTimeout = 2 * time.Second

// errQuit is the reason a handler stops when its connection is shut down.
var errQuit = errors.New("echo: shutting down")

// conn is one served TCP connection. While it is served, one goroutine
// runs serve with a run holding its buffers and state; a connection that
// waits ParkAfter for input parks: the goroutine hands it to the server's
// poller and ends, and what stays is this struct, kept small.
type conn struct {
	srv      *Server
	nc       net.Conn
	quitting atomic.Bool // set by Shutdown before it wakes the reader
	raw      bool        // nc is the net package's own TCP or Unix conn: served through its RawConn
	noPark   bool        // parking failed once: the connection keeps its goroutine
	armed    bool        // registered in the poller's pollset; guarded by the poller's mu
	traffic  traffic
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		c.raw = true
	}
	return c
}

// mayPark reports whether c may park when it waits long enough.
func (c *conn) mayPark() bool { return parkSupported && c.raw && !c.noPark }

// quit asks the handler to stop reading: it sets the flag first and then
// wakes any blocked read with a past deadline. The handler checks the flag
// after moving its own deadline, so whichever runs first, it cannot go back
// to sleep on a fresh deadline.
func (c *conn) quit() {
	c.quitting.Store(true)
	c.nc.SetReadDeadline(aLongTimeAgo)
}

// clockBase anchors monoNow.
var clockBase = time.Now()

// monoNow reads the monotonic clock alone, for the lazy deadlines' check
// on every request: time.Since of a fixed time.Time skips the wall clock
// reading that time.Now also makes, which costs more (BENCHMARKS.md).
func monoNow() time.Duration { return time.Since(clockBase) }

// serve is the body of a connection's goroutine: the one started when
// the connection is accepted, and one started each time the poller wakes
// it. It serves the connection until the client leaves, a limit cuts it, a
// transform panics or the server shuts down, and then closes it; or, when
// the connection has waited ParkAfter for input, hands it to the poller
// and returns.
//
// quiet says that the poller woke the connection after it had been
// parked for ParkAfter or longer: it has been idle, and its input is
// likely one message (a push, a keepalive). It then parks again as soon
// as no more input is waiting, instead of holding a goroutine for
// another ParkAfter; so a burst of input across many idle connections
// does not bring a goroutine back for each at once. A connection woken
// sooner than that is talking, and holds its goroutine for ParkAfter.
func (c *conn) serve(quiet bool) {
	s := c.srv
	r := getRun(c, quiet)
	defer func() {
		if v := recover(); v != nil {
			s.stats.panics.Add(1)
			s.logger().Error("echo: transform panicked; closing connection",
				"remote", c.remote(), "panic", v, "stack", string(debug.Stack()))
			c.nc.Close()
			r.put()
			s.untrackConn(c)
		}
	}()
	for {
		err := r.serve()
		if err != errPark {
			r.put()
			c.finish(err)
			s.untrackConn(c)
			return
		}
		rc, deadline := rawConn(c.nc), r.idleDeadline()
		r.put()
		if s.park(c, rc, deadline) {
			return // the poller's now: c must not be touched
		}
		r = getRun(c, false)
	}
}

// expire ends a parked connection that IdleTimeout cut, in a goroutine the
// poller starts.
func (c *conn) expire() {
	c.finish(os.ErrDeadlineExceeded)
	c.srv.untrackConn(c)
}

// rawConn returns nc's RawConn, or nil. It allocates a small value on
// every call: a connection asks when a goroutine takes it up or parks it,
// not per request.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// finish logs why the connection ended and closes it; on shutdown it first
// half-closes and lingers so that the replies already sent are not lost to
// a reset.
func (c *conn) finish(err error) {
	s := c.srv
	var we *writeError
	quit := c.quitting.Load() && !errors.As(err, &we) &&
		(errors.Is(err, errQuit) || errors.Is(err, os.ErrDeadlineExceeded))
	switch {
	case quit:
		c.linger()
		return
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		// The client left, or Close or a Shutdown deadline closed it.
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.stats.timeouts.Add(1)
		if errors.As(err, &we) {
			s.logger().Warn("echo: write timeout; client is not reading; closing connection",
				"remote", c.remote(), "write_timeout", orDefault(s.WriteTimeout, DefaultWriteTimeout))
		} else {
			s.logger().Info("echo: idle timeout; closing connection",
				"remote", c.remote(), "idle_timeout", orDefault(s.IdleTimeout, DefaultIdleTimeout))
		}
	case errors.Is(err, errBadReply):
		s.logger().Warn("echo: reply cannot be framed; closing connection",
			"remote", c.remote(), "err", err)
	case errors.Is(err, frame.ErrTooLarge), errors.Is(err, frame.ErrInvalidHeader):
		s.logger().Warn("echo: protocol error; closing connection",
			"remote", c.remote(), "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF), isReset(err), errors.Is(err, syscall.EPIPE):
		s.logger().Debug("echo: connection ended", "remote", c.remote(), "err", err)
	default:
		s.logger().Warn("echo: connection error; closing connection",
			"remote", c.remote(), "err", err)
	}
	c.nc.Close()
}

// wsaECONNRESET is WSAECONNRESET, the errno of a reset connection on
// Windows, where syscall.ECONNRESET is a value of Go's own that no
// system call returns.
const wsaECONNRESET = syscall.Errno(10054)

// isReset reports whether err is that of a connection the peer reset.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || runtime.GOOS == "windows" && errors.Is(err, wsaECONNRESET)
}

// remote is the client's address as echo logs it (see peer).
func (c *conn) remote() any { return peer(c.nc.RemoteAddr()) }

// linger half-closes a connection being shut down, then reads and discards
// until the client closes its side or lingerTimeout passes, and closes.
func (c *conn) linger() {
	defer c.nc.Close()
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if c.nc.SetReadDeadline(time.Now().Add(lingerTimeout)) != nil {
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	// Bounded by the deadline, and by a byte count against a client
	// that could stream faster than the deadline matters.
	for discarded := 0; discarded < maxLingerDiscard; {
		n, err := c.nc.Read(*buf)
		if err != nil {
			return
		}
		discarded += n
	}
}

// maxLingerDiscard caps what linger reads and discards.
const maxLingerDiscard = 256 << 20
