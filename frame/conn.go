package frame

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// A Conn sends and receives frames over a [net.Conn] with context support.
//
// Send is safe for concurrent use: each message is written whole under a
// lock, so messages from different goroutines never interleave. Recv may
// be called by one goroutine at a time (concurrent calls are serialised).
// Close may be called at any time: it closes the net.Conn without waiting
// for the locks, so it unblocks a Recv or Send in progress.
//
// Cancelling the context of a blocked Send or Recv sets the connection's
// deadline to the past, which makes the blocked system call return; the
// call then returns ctx.Err(). A context deadline is applied as a
// connection deadline (the earlier of the two wins). The deadline set
// through [Conn.SetReadDeadline] or [Conn.SetWriteDeadline] is restored
// afterwards, so set deadlines through the Conn, not the net.Conn. Because
// a Reader resumes after a timeout, a cancelled Recv loses no bytes: the
// next Recv continues the frame.
type Conn struct {
	nc net.Conn

	rmu sync.Mutex // serialises Recv
	r   Reader

	wmu sync.Mutex // serialises Send
	w   Writer

	dmu      sync.Mutex // guards the deadlines the user set
	rdl, wdl time.Time
}

var _ io.Closer = (*Conn)(nil)

// aLongTimeAgo is a deadline in the past, used to interrupt blocked I/O,
// as net/http does.
var aLongTimeAgo = time.Unix(1, 0)

// NewConn returns a Conn that frames messages over c. The options apply to
// both directions.
func NewConn(c net.Conn, opts ...Option) *Conn {
	cfg := newConfig(opts)
	fc := &Conn{nc: c}
	fc.r = Reader{src: c, cfg: cfg, err: cfg.err}
	fc.w = Writer{cfg: cfg}
	fc.w.Reset(c)
	return fc
}

// Send writes msg as one frame and flushes it. It returns a [*SizeError],
// with nothing written, for a message above the limit, and an error
// matching [ErrLayoutMismatch] on a layout with header fields, which
// [Conn.SendFrame] writes.
//
// If ctx ends, or the write deadline set with [Conn.SetWriteDeadline]
// expires, before any byte of msg was written, msg is dropped and Send
// returns ctx.Err() (or the timeout). If that happens after part of the
// frame was written, the rest stays buffered and goes out first on the
// next Send, so the peer never sees a frame cut short; Send still returns
// the error.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if c.w.cfg.fields != 0 && c.w.cfg.err == nil {
		return c.w.cfg.layout.noFields("Conn.Send", "Conn.SendFrame")
	}
	return c.SendFrame(ctx, nil, msg)
}

// SendFrame writes one frame with header fields, as [Writer.WriteFrame]
// does, and flushes it, with the guarantees of Send.
func (c *Conn) SendFrame(ctx context.Context, fields, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	framed := len(payload) + c.w.cfg.headerLen(uint64(len(payload)))
	return c.send(ctx, framed, func() error {
		if err := c.w.WriteFrame(fields, payload); err != nil {
			return err
		}
		return c.w.Flush()
	})
}

// SendBatch writes msgs as consecutive frames in one write, with the
// guarantees of Send for the batch as a whole. If any message is too
// large, nothing is written. Like Send it writes no header fields.
func (c *Conn) SendBatch(ctx context.Context, msgs ...[]byte) error {
	if c.w.cfg.fields != 0 && c.w.cfg.err == nil {
		return c.w.cfg.layout.noFields("Conn.SendBatch", "Conn.SendFrame")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	size := 0
	for _, m := range msgs {
		size += len(m) + c.w.cfg.headerLen(uint64(len(m)))
	}
	return c.send(ctx, size, func() error { return c.w.WriteBatch(msgs...) })
}

// send runs write under ctx. framed is the size on the wire of what write
// sends, to know whether any of it was written when a timeout stops it.
func (c *Conn) send(ctx context.Context, framed int, write func() error) error {
	var stop func()
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.dmu.Lock()
		user := c.wdl
		c.dmu.Unlock()
		stop = c.watch(ctx, c.nc.SetWriteDeadline, user)
	}
	// First the rest of a frame an earlier interrupted Send left behind,
	// so that afterwards the buffer holds only this message.
	err := c.w.Flush()
	if err == nil {
		err = write()
	}
	if stop != nil {
		stop()
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && c.w.Buffered() == framed {
		// None of this message reached the wire: forget it, so that
		// a failed Send does not deliver it later.
		c.w.dropTail(framed)
	}
	if cerr := ctxErr(ctx, err); cerr != nil {
		return cerr
	}
	return err
}

// Recv reads the next frame and returns its payload, which stays valid
// until the next Recv (copy it to keep it). Errors are those of
// [Reader.ReadMessage], or ctx.Err() when ctx ended first; the frame in
// progress is then resumed by the next Recv.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.recv(ctx)
}

// RecvFrame is Recv that also returns the frame's whole header, as
// [Reader.Header] does: both stay valid until the next Recv or
// RecvFrame. Returning them from one call keeps them together when
// several goroutines take turns to receive.
func (c *Conn) RecvFrame(ctx context.Context) (header, payload []byte, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if payload, err = c.recv(ctx); err != nil {
		return nil, nil, err
	}
	return c.r.Header(), payload, nil
}

// recv is Recv under rmu.
func (c *Conn) recv(ctx context.Context) ([]byte, error) {
	if ctx.Done() == nil {
		return c.r.ReadMessage()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.r.ready() {
		// The next message is already buffered: no read to
		// interrupt, so skip the deadline work.
		return c.r.ReadMessage()
	}
	c.dmu.Lock()
	user := c.rdl
	c.dmu.Unlock()
	stop := c.watch(ctx, c.nc.SetReadDeadline, user)
	msg, err := c.r.ReadMessage()
	stop()
	if err != nil {
		if cerr := ctxErr(ctx, err); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	return msg, nil
}

// watch applies ctx to the deadline that set controls: the context's
// deadline if earlier than the user's, and a past deadline when ctx is
// cancelled. The returned function undoes it, waiting for a cancellation
// in flight so that it cannot land after the restore.
func (c *Conn) watch(ctx context.Context, set func(time.Time) error, user time.Time) (stop func()) {
	changed := false
	if d, ok := ctx.Deadline(); ok && (user.IsZero() || d.Before(user)) {
		set(d)
		changed = true
	}
	fired := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		set(aLongTimeAgo)
		close(fired)
	})
	return func() {
		if !stopAfter() {
			<-fired
			changed = true
		}
		if changed {
			set(user)
		}
	}
}

// ctxErr returns the context's error if err is the timeout that ctx caused,
// or nil.
func ctxErr(ctx context.Context, err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	// The connection deadline and the context's timer fire at the same
	// instant; the deadline can win the race by a hair.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// Close closes the underlying connection. It does not wait for a Send or
// Recv in progress: they return an error matching [net.ErrClosed].
func (c *Conn) Close() error { return c.nc.Close() }

// NetConn returns the underlying connection. Reading from or writing to it
// directly desynchronises the framing; it is there for addresses and
// socket options.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetDeadline sets the read and write deadlines, as [net.Conn.SetDeadline].
func (c *Conn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdl, c.wdl = t, t
	c.dmu.Unlock()
	return c.nc.SetDeadline(t)
}

// SetReadDeadline sets the deadline for Recv, as
// [net.Conn.SetReadDeadline]; Recv restores it after applying a context.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdl = t
	c.dmu.Unlock()
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for Send, as
// [net.Conn.SetWriteDeadline]; Send restores it after applying a context.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return c.nc.SetWriteDeadline(t)
}

// Buffered returns the number of received bytes not yet returned by Recv,
// as [Reader.Buffered]. It waits for a Recv in progress, so call it from
// the goroutine that receives.
func (c *Conn) Buffered() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.Buffered()
}

// Release gives idle buffers back to the shared pools, as
// [Reader.Release] and [Writer.Release] do; a server calls it before
// waiting for the next message on a connection that may stay idle. It
// skips a side that another goroutine is using rather than wait for it.
func (c *Conn) Release() {
	if c.rmu.TryLock() {
		c.r.Release()
		c.rmu.Unlock()
	}
	if c.wmu.TryLock() {
		c.w.Release()
		c.wmu.Unlock()
	}
}
