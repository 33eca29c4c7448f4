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
// next Recv continues the frame. [Conn.RecvReader] and [Conn.SendFrom]
// stream messages too large to hold in memory.
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
	framed := int64(len(payload) + c.w.cfg.headerLen(uint64(len(payload))))
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
	return c.send(ctx, int64(size), func() error { return c.w.WriteBatch(msgs...) })
}

// SendFrom writes one message of exactly size bytes read from src, as
// [Writer.WriteMessageFrom] does, for a payload too large to hold in
// memory, and flushes it. A Send or SendFrom from another goroutine
// waits until it is done, so messages never interleave.
//
// Before any byte of the message was written, the guarantees of Send
// hold: if ctx ends, or the write deadline expires, the message is not
// sent and SendFrom returns ctx.Err() (or the timeout). Once the message
// is on its way, it cannot be interrupted without cutting it: if ctx ends
// then, or src fails or ends early, the error is returned and every later
// Send returns an error that wraps it, because the peer is inside a
// message that nothing else can complete; close the Conn. So give ctx the
// time the whole transfer needs. ctx interrupts writes to the connection,
// not a read of src that blocks: bound src yourself.
func (c *Conn) SendFrom(ctx context.Context, src io.Reader, size int64) error {
	if c.w.cfg.fields != 0 && c.w.cfg.err == nil {
		return c.w.cfg.layout.noFields("Conn.SendFrom", "Conn.SendFrameFrom")
	}
	return c.SendFrameFrom(ctx, nil, src, size)
}

// SendFrameFrom is SendFrom for a layout with header fields, written as
// [Writer.WriteFrameFrom] writes them.
func (c *Conn) SendFrameFrom(ctx context.Context, fields []byte, src io.Reader, size int64) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	framed := int64(c.w.cfg.headerLen(uint64(size))) + size
	return c.send(ctx, framed, func() error {
		if err := c.w.WriteFrameFrom(fields, src, size); err != nil {
			return err
		}
		return c.w.Flush()
	})
}

// send runs write under ctx. framed is the size on the wire of what write
// sends, to know whether any of it was written when a timeout stops it.
func (c *Conn) send(ctx context.Context, framed int64, write func() error) error {
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
	if errors.Is(err, os.ErrDeadlineExceeded) && int64(c.w.Buffered()) == framed {
		// None of this message reached the wire: forget it, so that
		// a failed Send does not deliver it later.
		c.w.dropTail(int(framed))
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

// RecvReader reads the next frame's header and returns the length of its
// payload and a reader of it, as [Reader.NextReader] does, for a payload
// too large to hold in memory. The body is valid until the next Recv,
// RecvFrame, RecvReader or RecvFrameReader, which skips what is left of
// it; reads of a stale body return [ErrBodyClosed].
//
// ctx governs the whole message: the wait for its header, and each read of
// body after RecvReader returned, until the body is done. When ctx ends,
// a blocked read returns ctx.Err() at once, and nothing of the stream is
// lost. If that happens while RecvReader waits for the header, the next
// call resumes the frame and returns the message, as Recv does. If it
// happens while the body is read, later reads of the body return
// ctx.Err() too (ctx is over), and the next receiving call skips the rest
// of the payload and returns the next message, so the Conn stays in sync:
// ending ctx abandons the message, not the connection. So give ctx the
// time the whole transfer needs. Reads of body are serialised with Recv.
func (c *Conn) RecvReader(ctx context.Context) (size int64, body io.Reader, err error) {
	_, size, body, err = c.RecvFrameReader(ctx)
	return size, body, err
}

// RecvFrameReader is RecvReader that also returns the frame's whole
// header, as [Reader.Header] does, valid until the next receiving call.
func (c *Conn) RecvFrameReader(ctx context.Context) (header []byte, size int64, body io.Reader, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var b io.Reader
	err = c.readCtx(ctx, c.r.ready(), func() error {
		size, b, err = c.r.NextReader()
		return err
	})
	if err != nil {
		return nil, 0, nil, err
	}
	return c.r.Header(), size, &connBody{c: c, ctx: ctx, body: b.(*bodyReader)}, nil
}

// readCtx runs op, a read of c.r, under ctx as Recv does; ready says that
// op will not block, so that no deadline needs setting.
func (c *Conn) readCtx(ctx context.Context, ready bool, op func() error) error {
	if ctx.Done() == nil {
		return op()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if ready {
		return op()
	}
	c.dmu.Lock()
	user := c.rdl
	c.dmu.Unlock()
	stop := c.watch(ctx, c.nc.SetReadDeadline, user)
	err := op()
	stop()
	if cerr := ctxErr(ctx, err); cerr != nil {
		return cerr
	}
	return err
}

// A connBody reads the payload of the message RecvReader returned, under
// the Conn's receive lock and RecvReader's context.
type connBody struct {
	c    *Conn
	ctx  context.Context
	body *bodyReader
}

// Read reads the next bytes of the payload, as the body of
// [Reader.NextReader] does, under the context of RecvReader.
func (b *connBody) Read(p []byte) (n int, err error) {
	b.c.rmu.Lock()
	defer b.c.rmu.Unlock()
	if !b.body.live() {
		return 0, ErrBodyClosed
	}
	err = b.c.readCtx(b.ctx, b.body.ready(), func() error {
		n, err = b.body.Read(p)
		return err
	})
	return n, err
}

// WriteTo writes the rest of the payload to w, without a copy through
// user space where the platform can, as the body of [Reader.NextReader]
// does, under the context of RecvReader.
func (b *connBody) WriteTo(w io.Writer) (n int64, err error) {
	b.c.rmu.Lock()
	defer b.c.rmu.Unlock()
	if !b.body.live() {
		return 0, ErrBodyClosed
	}
	err = b.c.readCtx(b.ctx, false, func() error {
		n, err = b.body.WriteTo(w)
		return err
	})
	return n, err
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
