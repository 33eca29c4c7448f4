package echo

import (
	"errors"
	"io"
	"net"
	"os"
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

// conn is one served TCP connection; one goroutine runs serve.
type conn struct {
	srv       *Server
	nc        net.Conn
	transform Transform
	idle      time.Duration // <= 0: none
	writeTO   time.Duration // <= 0: none
	quitting  atomic.Bool   // set by Shutdown before it wakes the reader

	// Lazy deadlines: when each was last moved, as monoNow readings, zero
	// for never (see Server.IdleTimeout).
	readArmed, writeArmed time.Duration

	sys     sysConn // platform read and write paths (sysconn_*.go)
	traffic traffic

	// Framed mode only.
	fw        *frame.Writer
	unflushed bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, transform: s.Transform}
	c.idle = orDefault(s.IdleTimeout, DefaultIdleTimeout)
	c.writeTO = orDefault(s.WriteTimeout, DefaultWriteTimeout)
	c.sys.init(c)
	return c
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

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

// armRead moves the read deadline to IdleTimeout from now, unless it was
// moved less than IdleTimeout/8 ago: SetReadDeadline takes a lock and
// resets a runtime timer, which would otherwise cost every read. Once the
// connection is quitting it returns errQuit and leaves in place the past
// deadline quit set, which later reads of buffered input then meet.
func (c *conn) armRead() error {
	if c.quitting.Load() {
		return errQuit
	}
	if c.idle > 0 {
		now := monoNow()
		if c.readArmed == 0 || now-c.readArmed >= c.idle/8 {
			c.readArmed = now
			if err := c.nc.SetReadDeadline(clockBase.Add(now + c.idle)); err != nil {
				return err
			}
			// quit may have run between the check above and this
			// deadline, which then replaced its past one: restore it.
			if c.quitting.Load() {
				c.nc.SetReadDeadline(aLongTimeAgo)
				return errQuit
			}
		}
	}
	return nil
}

// armWrite is armRead for WriteTimeout, for the platforms whose writes go
// through net.Conn.Write (plainWrite).
func (c *conn) armWrite() error {
	if c.writeTO > 0 {
		now := monoNow()
		if c.writeArmed == 0 || now-c.writeArmed >= c.writeTO/8 {
			c.writeArmed = now
			return c.nc.SetWriteDeadline(clockBase.Add(now + c.writeTO))
		}
	}
	return nil
}

// Write writes p to the connection under WriteTimeout and counts it. It is
// also the frame.Writer's destination.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.sys.write(c, p)
	c.traffic.bytesOut.Add(uint64(n))
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// WriteBuffers writes v to the connection as Write writes p, in one
// gathered write (writev(2)) where it can. It makes conn a
// [frame.BuffersWriter], so that a large framed reply leaves with its
// header and the replies buffered before it in one system call, its
// payload not copied.
func (c *conn) WriteBuffers(v *net.Buffers) (int64, error) {
	n, err := c.sys.writeBuffers(c, v)
	c.traffic.bytesOut.Add(uint64(n))
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

var _ frame.BuffersWriter = (*conn)(nil)

// Read is the frame.Reader's source. Before it may block, it flushes the
// replies the frame.Writer holds: the client may be waiting for them before
// it sends more, and this is the one place the server can block on input.
func (c *conn) Read(p []byte) (int, error) {
	if c.unflushed {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	n, err := c.nc.Read(p)
	c.traffic.bytesIn.Add(uint64(n))
	return n, err
}

func (c *conn) flush() error {
	c.unflushed = false
	return c.fw.Flush()
}

// writeError marks an error of a write to the client, so that a write
// deadline is told apart from the read deadline that IdleTimeout sets.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// serve runs the connection until the client leaves, a limit cuts it, a
// transform panics or the server shuts down, and then closes it.
func (c *conn) serve() {
	defer c.srv.untrackConn(c)
	defer func() {
		if v := recover(); v != nil {
			c.srv.stats.panics.Add(1)
			c.srv.logger().Error("echo: transform panicked; closing connection",
				"remote", c.remote(), "panic", v, "stack", string(debug.Stack()))
			c.nc.Close()
		}
	}()
	var err error
	if c.srv.Framed {
		err = c.serveFramed()
	} else {
		err = c.serveRaw()
	}
	c.finish(err)
}

// serveRaw echoes a byte stream chunk by chunk. Each chunk's reply is
// written in full before the next read, so a client that does not read
// stops the server reading from it (TCP flow control) instead of growing a
// queue, and every byte read has been echoed whenever a read begins.
func (c *conn) serveRaw() error {
	defer c.sys.release()
	for {
		if err := c.armRead(); err != nil {
			return err
		}
		p, err := c.sys.read()
		if len(p) > 0 {
			c.traffic.bytesIn.Add(uint64(len(p)))
			if c.transform != nil {
				p = c.transform(p)
			}
			if _, werr := c.Write(p); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

// serveFramed echoes message by message. Replies are buffered in the
// frame.Writer and flushed when the server is about to block on input (see
// conn.Read), so many small pipelined messages leave in one write. While a
// connection waits for its next message it holds neither reader nor writer
// buffer: both are released and the wait is for readability only.
func (c *conn) serveFramed() error {
	opts := c.srv.FrameOptions
	if c.srv.MaxMessageSize != 0 {
		opts = append(opts[:len(opts):len(opts)], frame.WithMaxSize(c.srv.MaxMessageSize))
	}
	fr := frame.NewReader(c, opts...)
	c.fw = frame.NewWriter(c, opts...)
	defer fr.Release()
	defer c.fw.Release()
	for {
		// On shutdown, complete messages already in the reader's buffer
		// have been read from the socket, so they are still answered;
		// the past read deadline then stops the loop at the first
		// message that needs the socket.
		if err := c.armRead(); err != nil && (err != errQuit || fr.Buffered() == 0) {
			return c.flushThen(err)
		}
		if fr.Buffered() == 0 {
			if c.unflushed {
				if err := c.flush(); err != nil {
					return err
				}
			}
			fr.Release()
			c.fw.Release()
			if err := c.sys.waitReadable(); err != nil {
				return err
			}
		}
		msg, err := fr.ReadMessage()
		if err != nil {
			return c.flushThen(err)
		}
		c.traffic.msgsIn.Add(1)
		if c.transform != nil {
			msg = c.transform(msg)
		}
		if err := c.fw.WriteMessage(msg); err != nil {
			return err
		}
		c.unflushed = true
		c.traffic.msgsOut.Add(1)
	}
}

// flushThen sends the replies still buffered before a read error ends the
// connection: they answer messages the server has read.
func (c *conn) flushThen(err error) error {
	if c.unflushed {
		if ferr := c.flush(); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
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
				"remote", c.remote(), "write_timeout", c.writeTO)
		} else {
			s.logger().Info("echo: idle timeout; closing connection",
				"remote", c.remote(), "idle_timeout", c.idle)
		}
	case errors.Is(err, frame.ErrTooLarge), errors.Is(err, frame.ErrInvalidHeader):
		s.logger().Warn("echo: protocol error; closing connection",
			"remote", c.remote(), "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		s.logger().Debug("echo: connection ended", "remote", c.remote(), "err", err)
	default:
		s.logger().Warn("echo: connection error; closing connection",
			"remote", c.remote(), "err", err)
	}
	c.nc.Close()
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

// plainWrite writes through net.Conn.Write, with the lazy write deadline.
func (c *conn) plainWrite(p []byte) (int, error) {
	if err := c.armWrite(); err != nil {
		return 0, err
	}
	return c.nc.Write(p)
}

// plainWriteBuffers is plainWrite for WriteBuffers: net.Buffers.WriteTo
// makes one writev(2) of the net package's own conns, and calls Write
// for each buffer of any other.
func (c *conn) plainWriteBuffers(v *net.Buffers) (int64, error) {
	if err := c.armWrite(); err != nil {
		return 0, err
	}
	return v.WriteTo(c.nc)
}
