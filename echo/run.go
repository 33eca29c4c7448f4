package echo

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/framesock/framesock/echo/internal/frameopts"
	"github.com/framesock/framesock/frame"
)

// errPark is the reason the serve loops return when a connection has
// waited ParkAfter for input with none arriving: its goroutine can go.
var errPark = errors.New("echo: park")

// run is what a connection holds only while a goroutine serves it: the
// platform's read and write state, the lazy deadlines, and for a framed
// server the frame.Reader and frame.Writer, which read from and write to
// the run itself. A connection that parks gives its run back to the
// server's pool, and takes one again when it wakes, so a parked
// connection holds none of this.
type run struct {
	c *conn

	// Read deadlines are period away, period being the shorter of
	// IdleTimeout and, where the connection may park, ParkAfter (<= 0:
	// none), and are moved at most every lag: the shorter of an eighth of
	// IdleTimeout (see Server.IdleTimeout) and, where the connection
	// parks, half of ParkAfter, not an eighth: when exactly it parks
	// matters less than the timer updates a busy connection saves.
	period, lag, idle time.Duration
	parks             bool // period is ParkAfter: a read deadline means park
	writeTO           time.Duration

	// Lazy deadlines: when each was last moved, as monoNow readings,
	// zero for never.
	readArmed, writeArmed time.Duration

	sys sysConn // platform read and write paths (sysconn_*.go)

	// Framed mode only.
	fr        *frame.Reader
	fw        *frame.Writer
	fields    replyFields // of the request being answered
	unflushed bool
	got       bool // Read has read bytes in this readMessage
}

// getRun gives c a run from its server's pool, or a new one. With
// parkNow, c parks again as soon as it finds no input waiting.
func getRun(c *conn, parkNow bool) *run {
	s := c.srv
	r, _ := s.runs.Get().(*run)
	if r == nil {
		r = newRun(s)
	}
	r.c = c
	r.readArmed, r.writeArmed = 0, 0
	r.sys.attach(c)
	r.period, r.lag, r.parks = r.idle, r.idle/8, false
	if park := s.parkAfter(); park > 0 && c.mayPark() && (r.idle <= 0 || park < r.idle) {
		r.period, r.lag, r.parks = park, park/2, true
		if r.idle > 0 {
			r.lag = min(r.lag, r.idle/8)
		}
		r.sys.parkNow = parkNow
	}
	return r
}

func newRun(s *Server) *run {
	r := &run{
		idle:    orDefault(s.IdleTimeout, DefaultIdleTimeout),
		writeTO: orDefault(s.WriteTimeout, DefaultWriteTimeout),
	}
	r.sys.bind(r)
	if s.Framed {
		opts := frameopts.Of(s.FrameOptions, s.MaxMessageSize)
		r.fr = frame.NewReader(r, opts...)
		r.fw = frame.NewWriter(r, opts...)
		// The server never changes the layout, and Reset restores the
		// options' one: it holds for every connection the run serves.
		r.fields.init(r.fr.Layout())
	}
	return r
}

// put gives r back to its server's pool with its buffers, and clears
// what it held of its last connection.
func (r *run) put() {
	s := r.c.srv
	r.sys.detach()
	if r.fr != nil {
		// Reset, not Release: after an error a frame may be half read
		// or written, and the next connection must not see it.
		r.fr.Reset(r)
		r.fw.Reset(r)
		r.unflushed = false
	}
	r.c = nil
	s.runs.Put(r)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// idleDeadline is when IdleTimeout ends the wait in progress, as a monoNow
// reading, or 0 for never.
func (r *run) idleDeadline() time.Duration {
	if r.idle <= 0 {
		return 0
	}
	return r.readArmed + r.idle
}

// armRead moves the read deadline to period from now, unless it was moved
// less than lag ago: SetReadDeadline takes a lock and resets a runtime
// timer, which would otherwise cost every read. Once the connection is
// quitting it returns errQuit and leaves in place the past deadline quit
// set, which later reads of buffered input then meet.
func (r *run) armRead() error {
	c := r.c
	if c.quitting.Load() {
		return errQuit
	}
	if r.period > 0 {
		now := monoNow()
		if r.readArmed == 0 || now-r.readArmed >= r.lag {
			r.readArmed = now
			if err := c.nc.SetReadDeadline(clockBase.Add(now + r.period)); err != nil {
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

// parking reports whether err, from a wait for input, means the
// connection may park: errPark, or ParkAfter passing (the read deadline of
// a connection that parks is ParkAfter's, except for the past one of
// quit).
func (r *run) parking(err error) bool {
	return (err == errPark || r.parks && errors.Is(err, os.ErrDeadlineExceeded)) && !r.c.quitting.Load()
}

// armWrite is armRead for WriteTimeout, for the platforms whose writes go
// through net.Conn.Write (plainWrite).
func (r *run) armWrite() error {
	if r.writeTO > 0 {
		now := monoNow()
		if r.writeArmed == 0 || now-r.writeArmed >= r.writeTO/8 {
			r.writeArmed = now
			return r.c.nc.SetWriteDeadline(clockBase.Add(now + r.writeTO))
		}
	}
	return nil
}

// Write writes p to the connection under WriteTimeout and counts it. It is
// also the frame.Writer's destination.
func (r *run) Write(p []byte) (int, error) {
	n, err := r.sys.write(p)
	r.c.traffic.bytesOut.Add(uint64(n))
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// WriteBuffers writes v to the connection as Write writes p, in one
// gathered write (writev(2)) where it can. It makes run a
// [frame.BuffersWriter], so that a large framed reply leaves with its
// header and the replies buffered before it in one system call, its
// payload not copied.
func (r *run) WriteBuffers(v *net.Buffers) (int64, error) {
	n, err := r.sys.writeBuffers(v)
	r.c.traffic.bytesOut.Add(uint64(n))
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

var _ frame.BuffersWriter = (*run)(nil)

// Read is the frame.Reader's source. Before it may block, it flushes the
// replies the frame.Writer holds: the client may be waiting for them before
// it sends more, and this is the one place the server can block on input.
func (r *run) Read(p []byte) (int, error) {
	if r.unflushed {
		if err := r.flush(); err != nil {
			return 0, err
		}
	}
	n, err := r.c.nc.Read(p)
	r.c.traffic.bytesIn.Add(uint64(n))
	r.got = r.got || n > 0
	return n, err
}

func (r *run) flush() error {
	r.unflushed = false
	return r.fw.Flush()
}

// writeError marks an error of a write to the client, so that a write
// deadline is told apart from the read deadline that IdleTimeout sets.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// serve runs the connection's loop until the connection ends, with the
// error that ended it, or can park (errPark).
func (r *run) serve() error {
	if r.fr != nil {
		return r.serveFramed()
	}
	return r.serveRaw()
}

// serveRaw echoes a byte stream chunk by chunk. Each chunk's reply is
// written in full before the next read, so a client that does not read
// stops the server reading from it (TCP flow control) instead of growing a
// queue, and every byte read has been echoed whenever a read begins.
func (r *run) serveRaw() error {
	transform := r.c.srv.Transform
	for {
		if err := r.armRead(); err != nil {
			return err
		}
		p, err := r.sys.read()
		if len(p) > 0 {
			r.c.traffic.bytesIn.Add(uint64(len(p)))
			if transform != nil {
				p = transform(p)
			}
			if _, werr := r.Write(p); werr != nil {
				return werr
			}
		}
		if err != nil {
			if r.parking(err) {
				return errPark
			}
			return err
		}
	}
}

// serveFramed echoes message by message. Replies are buffered in the
// frame.Writer and flushed when the server is about to block on input (see
// Read), so many small pipelined messages leave in one write. While a
// connection waits for its next message it holds neither reader nor writer
// buffer: both are released and the wait is for readability only.
func (r *run) serveFramed() error {
	fr, fw := r.fr, r.fw
	transform := r.c.srv.Transform
	for {
		// On shutdown, complete messages already in the reader's buffer
		// have been read from the socket, so they are still answered;
		// the past read deadline then stops the loop at the first
		// message that needs the socket.
		if err := r.armRead(); err != nil && (err != errQuit || fr.Buffered() == 0) {
			return r.flushThen(err)
		}
		fresh := fr.Buffered() == 0
		if fresh {
			if r.unflushed {
				if err := r.flush(); err != nil {
					return err
				}
			}
			fr.Release()
			fw.Release()
			if err := r.sys.waitReadable(); err != nil {
				if r.parking(err) {
					return errPark
				}
				return err
			}
		}
		msg, err := r.readMessage(fresh)
		if err != nil {
			return r.flushThen(err)
		}
		r.c.traffic.msgsIn.Add(1)
		// The reply's header repeats the request's fields (a type
		// byte, a stream id), taken before the transform, which sees
		// the payload only; its length field is the reply's.
		var fields []byte
		if !r.fields.none() {
			fields = r.fields.of(fr.Header())
		}
		if transform != nil {
			msg = transform(msg)
		}
		if err := fw.WriteFrame(fields, msg); err != nil {
			return badReply(err)
		}
		r.unflushed = true
		r.c.traffic.msgsOut.Add(1)
	}
}

// readMessage reads the next message; fresh says that none of it was
// buffered. ParkAfter bounds only the wait for a message to begin: if its
// deadline passes inside a message, the frame.Reader keeps its place, the
// deadline moves to IdleTimeout's, and the read goes on. If it passes
// before any byte of a fresh message came (the wait for readability can
// end early: the netpoller's readiness may be left from input already
// read), the connection parks.
func (r *run) readMessage(fresh bool) ([]byte, error) {
	r.got = false
	msg, err := r.fr.ReadMessage()
	if err != nil && r.parking(err) {
		if fresh && !r.got {
			return nil, errPark
		}
		var until time.Time
		if d := r.idleDeadline(); d != 0 {
			until = clockBase.Add(d)
		}
		if err := r.c.nc.SetReadDeadline(until); err != nil {
			return nil, err
		}
		msg, err = r.fr.ReadMessage()
	}
	return msg, err
}

// flushThen sends the replies still buffered before a read error ends the
// connection: they answer messages the server has read.
func (r *run) flushThen(err error) error {
	if r.unflushed {
		if ferr := r.flush(); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

// plainWrite writes through net.Conn.Write, with the lazy write deadline.
func (r *run) plainWrite(p []byte) (int, error) {
	if err := r.armWrite(); err != nil {
		return 0, err
	}
	return r.c.nc.Write(p)
}

// plainWriteBuffers is plainWrite for WriteBuffers: net.Buffers.WriteTo
// makes one writev(2) of the net package's own conns, and calls Write
// for each buffer of any other.
func (r *run) plainWriteBuffers(v *net.Buffers) (int64, error) {
	if err := r.armWrite(); err != nil {
		return 0, err
	}
	return v.WriteTo(r.c.nc)
}
