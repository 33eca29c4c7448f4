package frame

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
)

// sendWriters holds the Writers behind SendMessage and SendBatch.
var sendWriters = sync.Pool{New: func() any { return NewWriter(nil) }}

// A Writer writes frames to an [io.Writer] through a buffer, so many small
// messages leave in one system call. A payload too large for the buffer is
// not copied: on a [BuffersWriter], *net.TCPConn or *net.UnixConn it goes
// out with its header and the buffered bytes in one call (one writev(2) on
// a socket); on other writers, after them, in a second Write.
//
// Every message is checked against the limit before any byte of it is
// buffered or written, so a rejected message leaves the stream usable.
//
// Write errors are sticky, as in [bufio.Writer], except timeouts (errors
// matching [os.ErrDeadlineExceeded]): after one, the bytes not yet written
// stay buffered and the next Flush or write sends them first, so a frame
// is never cut short on the wire. [Writer.WriteMessageFrom] streams a
// payload too large to hold in memory; a timeout that cuts one is sticky.
//
// The frame's layout is set by [WithLayout] and changed between messages
// by [Writer.SetLayout]; [Writer.WriteFrame] writes the header fields of
// a layout that has some.
//
// The zero value of Writer has nothing to write to: its writes return
// [ErrNoStream] until [Writer.Reset] gives it a destination, after which
// it writes with the defaults of NewWriter without options
// ([DefaultMaxSize], [Uint32BE], the default buffer sizes).
//
// A Writer is not safe for concurrent use; [Conn] adds the locking.
type Writer struct {
	dst io.Writer
	cfg config
	bw  BuffersWriter // writes several buffers to dst in one call, or nil

	bufp *[]byte // from the pools on first use; nil after Release
	buf  []byte  // bytes not yet written, in the storage of *bufp

	store [][]byte    // the buffers of a gathered write, reused
	vec   net.Buffers // a copy of them for bw to consume (a field, so &vec does not escape)
	vecs  [][]byte    // backing array for vec, reused
	err   error       // sticky
}

// NewWriter returns a Writer that writes frames to w. It takes no memory
// until the first write.
func NewWriter(w io.Writer, opts ...Option) *Writer {
	wr := &Writer{cfg: newConfig(opts)}
	wr.Reset(w)
	return wr
}

// WriteMessage writes p as one frame into the buffer, writing the buffer
// out first when p does not fit; call [Writer.Flush] to send what remains.
// A payload longer than the limit, or than the header can express, returns
// a [*SizeError] with nothing written. WriteMessage does not keep p.
//
// On a layout with header fields (Offset or After above 0) WriteMessage
// writes nothing and returns an error matching [ErrLayoutMismatch] that
// names [Writer.WriteFrame], rather than write zeros into a protocol's
// type byte.
//
// After a timeout the message has been taken: it is buffered, or partly
// written with the rest buffered, and the next Flush or write sends it on.
// Do not send it again.
func (w *Writer) WriteMessage(p []byte) error {
	return w.write("WriteMessage", nil, p)
}

// WriteFrame writes one frame whose header holds fields (the Offset bytes,
// then the After bytes) around a length field computed from payload: its
// value is len(payload) - Adjust. Buffering, flushing and timeouts are as
// for [Writer.WriteMessage], which is WriteFrame(nil, p) on a layout
// without fields.
//
// Fields whose length is not Offset+After, or a payload shorter than a
// positive Adjust, return an error matching [ErrLayoutMismatch]; a payload
// above the maximum or beyond what the length field can express, a
// [*SizeError]. In each case nothing is written and the Writer stays
// usable. WriteFrame keeps neither slice.
func (w *Writer) WriteFrame(fields, payload []byte) error {
	return w.write("WriteFrame", fields, payload)
}

// SetLayout makes w write the frames that follow with layout l, for a
// protocol whose framing changes after a message (a PostgreSQL client's
// startup message has no type byte; the messages after it do). Bytes
// already buffered keep the layout they were written with. Reset restores
// the layout of w's options. A Layout that cannot be right returns an
// error matching [ErrInvalidOption] and changes nothing.
func (w *Writer) SetLayout(l Layout) error {
	if !w.cfg.built {
		w.cfg = newConfig(nil)
	}
	return w.cfg.setLayout("SetLayout", l)
}

// write is WriteFrame, and WriteMessage (call) with no fields.
func (w *Writer) write(call string, fields, p []byte) error {
	if err := w.stopped(); err != nil {
		return err
	}
	if len(fields) != w.cfg.fields {
		return w.cfg.fieldsErr(call, len(fields))
	}
	if err := w.cfg.checkPayload(len(p)); err != nil {
		return err
	}
	hl := w.cfg.headerLen(uint64(len(p)))
	if w.bufp == nil {
		w.acquire(0)
	}
	if len(w.buf)+hl+len(p) > cap(w.buf) {
		if hl+len(p) > cap(w.buf) {
			// Too large for any buffer: send the buffered bytes, the
			// header and the payload without copying the payload.
			if len(w.buf)+hl > cap(w.buf) {
				if err := w.flush(nil); err != nil {
					return w.keep(err, fields, p)
				}
			}
			w.buf = w.cfg.appendHeader(w.buf, fields, len(p))
			return w.flush(p)
		}
		if err := w.flush(nil); err != nil {
			return w.keep(err, fields, p)
		}
		// The stream filled the buffer: a larger one would carry
		// more messages per system call. Swapping it now, empty,
		// costs no copy.
		if w.bufp != nil && cap(w.buf) < w.cfg.bufMax {
			putBuf(w.bufp)
			w.bufp = getBuf(2 * cap(w.buf))
			w.buf = (*w.bufp)[:0]
		}
	}
	w.buf = w.cfg.appendHeader(w.buf, fields, len(p))
	w.buf = append(w.buf, p...)
	return nil
}

// keep accepts a frame after a timeout while writing out earlier bytes,
// so that the rule for callers stays simple: a write has taken the frame
// unless it returned a size error or a sticky one.
func (w *Writer) keep(err error, fields, p []byte) error {
	if w.err == nil {
		w.buf = w.cfg.appendHeader(w.buf, fields, len(p))
		w.buf = append(w.buf, p...)
	}
	return err
}

// WriteBatch writes the buffered bytes and msgs, each as one frame, in
// one call to the underlying Write, or one gathered write on a
// [BuffersWriter], *net.TCPConn or *net.UnixConn, where large payloads are
// not copied; and so flushes. If any message is too large, it returns a
// [*SizeError] and writes nothing. Like WriteMessage it writes no header
// fields, and refuses a layout that has some.
func (w *Writer) WriteBatch(msgs ...[]byte) error {
	if err := w.stopped(); err != nil {
		return err
	}
	if w.cfg.fields != 0 {
		return w.cfg.fieldsErr("WriteBatch", 0)
	}
	room := 0
	for _, m := range msgs {
		if err := w.cfg.checkPayload(len(m)); err != nil {
			return err
		}
		room += w.cfg.headerLen(uint64(len(m)))
		if w.bw == nil || len(m) < vectorThreshold {
			room += len(m)
		}
	}
	w.acquire(len(w.buf) + room)
	if w.bw == nil {
		for _, m := range msgs {
			w.buf = w.cfg.appendHeader(w.buf, nil, len(m))
			w.buf = append(w.buf, m...)
		}
		return w.flush(nil)
	}
	// Gather: headers and small payloads are copied into buf (which has
	// room for all of them, so it does not move), large payloads are
	// referenced where they are.
	seg := w.store[:0]
	start := 0
	for _, m := range msgs {
		w.buf = w.cfg.appendHeader(w.buf, nil, len(m))
		if len(m) < vectorThreshold {
			w.buf = append(w.buf, m...)
			continue
		}
		seg = append(seg, w.buf[start:], m)
		start = len(w.buf)
	}
	if start < len(w.buf) {
		seg = append(seg, w.buf[start:])
	}
	w.store = seg
	if len(seg) == 1 {
		// Nothing large after all: a plain write of the buffer.
		clear(seg)
		return w.flush(nil)
	}
	return w.writeVec(seg)
}

// vectorThreshold is the payload size from which a gathered write
// references a payload instead of copying it: below it a copy is cheaper
// than another iovec. CPython's multiprocessing picks 16 KiB for the same
// trade (bpo-20540).
const vectorThreshold = 16 << 10

// Flush writes all buffered bytes to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.stopped(); err != nil {
		return err
	}
	return w.flush(nil)
}

// stopped returns the error that every write returns: a sticky one, or
// ErrNoStream when there is nothing to write to.
func (w *Writer) stopped() error {
	if w.err != nil {
		return w.err
	}
	if w.dst == nil {
		return ErrNoStream
	}
	return nil
}

// Buffered returns the number of bytes written into the buffer and not
// yet to the underlying writer.
func (w *Writer) Buffered() int { return len(w.buf) }

// Reset discards all state, including unflushed bytes and a sticky error,
// gives the buffer back to the pools and makes w write to dst. A Writer
// made by NewWriter keeps its options (and the error of an invalid one);
// on the zero value Reset sets the defaults, as NewWriter(dst) would, so
// that
//
//	var w frame.Writer
//	w.Reset(dst)
//
// is ready to write. After Reset(nil), writes return [ErrNoStream].
func (w *Writer) Reset(dst io.Writer) {
	putBuf(w.bufp)
	clear(w.store)
	cfg := w.cfg.orDefaults()
	*w = Writer{dst: dst, cfg: cfg, bw: gatherer(dst), store: w.store[:0], vecs: w.vecs, err: cfg.err}
}

// Release gives the Writer's buffer back to a shared pool when nothing is
// waiting to be written, so an idle connection pins no buffer memory; the
// next write takes one again, without allocating in steady state. It is
// safe to call at any time and does nothing while bytes are buffered.
func (w *Writer) Release() {
	if w.bufp != nil && len(w.buf) == 0 {
		putBuf(w.bufp)
		w.bufp, w.buf = nil, nil
	}
}

// acquire makes the buffer hold at least n bytes, keeping its contents.
func (w *Writer) acquire(n int) {
	if w.bufp != nil && cap(w.buf) >= n {
		return
	}
	p := getBuf(max(n, w.cfg.bufSize))
	nb := append((*p)[:0], w.buf...)
	putBuf(w.bufp)
	w.bufp, w.buf = p, nb
}

// flush writes the buffer, then tail if it is not nil, gathered into one
// call where the writer supports it.
func (w *Writer) flush(tail []byte) error {
	if w.bw != nil && tail != nil {
		w.store = append(w.store[:0], w.buf, tail)
		return w.writeVec(w.store)
	}
	if len(w.buf) > 0 {
		n, err := w.dst.Write(w.buf)
		if err = checkWrite(int64(n), len(w.buf), err); err != nil {
			return w.failed(err, w.buf[clampCount(n, len(w.buf)):], tail)
		}
	}
	if len(tail) > 0 {
		n, err := w.dst.Write(tail)
		if err = checkWrite(int64(n), len(tail), err); err != nil {
			return w.failed(err, tail[clampCount(n, len(tail)):])
		}
	}
	w.written()
	return nil
}

// writeVec writes segs (held in store) with one call of bw. It hands bw
// a copy of segs to consume, and takes what was written from the count
// bw returns, not from what bw left in the copy.
func (w *Writer) writeVec(segs [][]byte) error {
	want := 0
	for _, s := range segs {
		want += len(s)
	}
	w.vec = append(w.vecs[:0], segs...)
	w.vecs = w.vec[:0]
	n, err := w.bw.WriteBuffers(&w.vec)
	clear(w.vecs[:len(segs)])
	w.vec = nil
	if err = checkWrite(n, want, err); err != nil {
		return w.failed(err, unwritten(segs, n)...)
	}
	clear(w.store)
	w.written()
	return nil
}

// written resets the buffer after everything was written, giving a buffer
// that grew for a batch back to the pools so one burst does not pin it.
func (w *Writer) written() {
	if w.bufp == nil || cap(*w.bufp) > w.cfg.bufMax {
		putBuf(w.bufp)
		w.bufp, w.buf = nil, nil
		return
	}
	// Back to the pooled storage even if keep grew buf past it.
	w.buf = (*w.bufp)[:0]
}

// failed decides whether err is sticky and, if it is not (a timeout),
// keeps the unwritten bytes, in order, as the new buffer contents so the
// next write sends them first. After a sticky error they could never be
// sent, so the buffer goes back to the pools.
func (w *Writer) failed(err error, rest ...[]byte) error {
	defer clear(w.store)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		w.err = err
		putBuf(w.bufp)
		w.bufp, w.buf = nil, nil
		return err
	}
	total := 0
	for _, b := range rest {
		total += len(b)
	}
	// The unwritten bytes may alias the buffer, so gather them into a
	// fresh one. This is the error path: the copy does not matter.
	p := getBuf(max(total, w.cfg.bufSize))
	nb := (*p)[:0]
	for _, b := range rest {
		nb = append(nb, b...)
	}
	putBuf(w.bufp)
	w.bufp, w.buf = p, nb
	return err
}

// checkWrite applies the io.Writer contract to the result of a Write (or
// WriteBuffers) of want bytes.
func checkWrite(n int64, want int, err error) error {
	switch {
	case n < 0 || n > int64(want):
		return errInvalidWrite
	case err == nil && n < int64(want):
		return io.ErrShortWrite
	}
	return err
}

// dropTail removes the last n buffered bytes, a message none of whose
// bytes reached the wire, after a cancelled Send.
func (w *Writer) dropTail(n int) {
	if n <= len(w.buf) {
		w.buf = w.buf[:len(w.buf)-n]
	}
}

// clampCount bounds a count from Write to [0, want] so that a writer that
// broke its contract cannot make the error path panic.
func clampCount(n, want int) int { return min(max(n, 0), want) }
