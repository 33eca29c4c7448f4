package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
)

// A Reader reads frames from an [io.Reader] through a buffer, so one read
// system call can yield many small messages, while large payloads are read
// straight into their destination. The buffer is taken on the first read,
// starts at 4 KiB and doubles up to 64 KiB while reads keep filling it (see
// [WithBufferSize]); a large payload gets a buffer of its own from a pool,
// reused while large messages follow one another and returned at the first
// small one, so a burst does not pin memory. [Reader.NextReader] streams a
// payload too large to hold in memory.
//
// A Reader keeps the state of a frame in progress across calls: after an
// error from the underlying reader, such as a deadline or a
// [iotest.TimeoutReader] timeout, the next call resumes where the last one
// stopped, so a message is never split in two and the stream never loses
// its place. [WithLayout] and [Reader.SetLayout] set the frames' layout.
//
// The zero value of Reader has nothing to read from: its reads return
// [ErrNoStream] until [Reader.Reset] gives it a source, after which it
// reads with the defaults of NewReader without options ([DefaultMaxSize],
// [Uint32BE], the default buffer sizes).
//
// A Reader is not safe for concurrent use; [Conn] adds the locking.
type Reader struct {
	src  io.Reader
	cfg  config
	rerr error // error that came with the last bytes read, returned next

	readBuf // embedded: the parsing code reads buf[r:w] as r.buf[r.r:r.w]

	// A frame whose header was consumed but whose payload is incomplete.
	inFrame bool
	need    int       // payload length; math.MaxInt while a body is out, so that ready says no
	large   largeBufs // payloads too large for buf, and who owns their buffers

	stream streamState // the message NextReader handed out (stream.go)

	discard uint64 // bytes of a payload nobody reads (oversize, or a body's rest) still to skip
	err     error  // sticky: a broken stream
}

// NewReader returns a Reader that reads frames from r. It takes no memory
// until the first read.
func NewReader(r io.Reader, opts ...Option) *Reader {
	cfg := newConfig(opts)
	return &Reader{src: r, cfg: cfg, err: cfg.err}
}

// ReadMessage reads the next frame and returns its payload. The slice
// points into the Reader's memory and stays valid only until the next
// read, Release, Handoff or Reset; copy it (or use [Reader.AppendMessage])
// to keep it. A zero-length payload is an empty, non-nil slice.
//
// ReadMessage returns [io.EOF] only when the stream ends between frames,
// and an error wrapping [io.ErrUnexpectedEOF] when it ends inside a header
// or payload. A header that claims more than the maximum returns a
// [*SizeError] before any memory is taken for the payload; see
// [WithDiscardOversize] for what follows. End of stream inside a frame, a
// malformed header and (by default) an oversize one are sticky: every
// later call returns the same error. Other errors from the underlying
// reader are returned once, and the next call resumes the frame.
func (r *Reader) ReadMessage() ([]byte, error) {
	if err := r.next(); err != nil {
		return nil, err
	}
	return r.readPayload()
}

// Header returns the whole header of the message last returned (its
// Offset bytes, its length field, its After bytes) as received, valid
// until the next read, Handoff or Reset; Release keeps it. It is nil
// before the first message and after a read that returned an error. The
// fields [Writer.WriteFrame] takes are its first Offset bytes and last
// After bytes: with l := r.Layout(), append(h[:l.Offset:l.Offset],
// h[len(h)-l.After:]...).
func (r *Reader) Header() []byte {
	if r.inFrame && !r.stream.on {
		return nil
	}
	return r.header()
}

// Layout returns the layout r reads the next header with.
func (r *Reader) Layout() Layout { return r.cfg.layout }

// SetLayout makes r read the frames that follow with layout l, keeping
// the bytes it has buffered, for a protocol whose framing changes after a
// message (PostgreSQL's startup message has no type byte). It takes
// effect at the next header r reads: a frame whose header was read
// already (its payload cut by a timeout, or an oversize one being
// discarded) ends as it began. Reset restores the options' layout. A
// Layout that cannot be right is [ErrInvalidOption] and changes nothing.
func (r *Reader) SetLayout(l Layout) error {
	if !r.cfg.built {
		r.cfg = newConfig(nil)
	}
	return r.cfg.setLayout("SetLayout", l)
}

// next does everything before the payload of the next frame: it recycles
// the last large buffer, reports a sticky error, skips an oversize payload
// or the rest of a body
// being discarded and reads the header.
func (r *Reader) next() error {
	if r.large.lastp != nil {
		r.large.reclaim()
	}
	if r.err != nil {
		return r.err
	}
	if r.discard > 0 {
		if err := r.skip(); err != nil {
			return err
		}
	}
	if !r.inFrame {
		return r.readHeader()
	}
	if r.stream.on {
		return r.endBody()
	}
	return nil
}

// AppendMessage reads the next frame like [Reader.ReadMessage] and appends
// its payload to dst, returning the extended slice: the form for a caller
// that keeps messages in memory it owns. A payload too large for the
// Reader's buffer is read straight into dst, without an intermediate
// copy, when dst has the capacity (pass buf[:0] to reuse a buffer); dst
// grows as bytes arrive, never by more than the bytes received so far
// (at least 64 KiB at a time), so a lying header cannot make it allocate.
// On error dst is returned unchanged, and a frame in progress resumes on
// the next call of either read method.
func (r *Reader) AppendMessage(dst []byte) ([]byte, error) {
	if err := r.next(); err != nil {
		return dst, err
	}
	if dst == nil {
		// Keep "empty, non-nil" for a zero-length message.
		dst = []byte{}
	}
	if r.large.bigp != nil || r.need <= max(len(r.buf), r.cfg.bufSize) || r.w-r.r >= r.need {
		msg, err := r.readPayload()
		if err != nil {
			return dst, err
		}
		return append(dst, msg...), nil
	}
	return r.readInto(dst)
}

// readInto reads the payload of the frame in progress, too large for the
// buffer and not started, straight into dst's spare capacity.
func (r *Reader) readInto(dst []byte) ([]byte, error) {
	start, need := len(dst), r.need
	dst = append(dst, r.buf[r.r:r.w]...)
	r.r, r.w = 0, 0
	for len(dst)-start < need {
		if len(dst) == cap(dst) {
			got := len(dst) - start
			dst = slices.Grow(dst, min(need-got, max(got, trustedChunk)))
		}
		n, err := r.read(dst[len(dst):min(cap(dst), start+need)])
		dst = dst[:len(dst)+n]
		if err == nil {
			continue
		}
		got := dst[start:]
		if len(got) == need {
			r.rerr = err // the frame is whole; the error is for the next call
			break
		}
		if err != io.EOF && r.err == nil {
			// Keep what arrived in a buffer of our own, so that the
			// frame resumes whatever the next call passes.
			r.large.stash(got, need)
		}
		return dst[:start], r.payloadErr(err, len(got))
	}
	r.inFrame = false
	return dst, nil
}

// Messages returns an iterator over the payloads that ReadMessage returns,
// each valid until the next iteration. It stops at [io.EOF] without
// yielding it, and after yielding any other error, except a [*SizeError]
// under [WithDiscardOversize], after which it goes on.
func (r *Reader) Messages() iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for {
			msg, err := r.ReadMessage()
			if err == io.EOF {
				return
			}
			if !yield(msg, err) {
				return
			}
			if err != nil && !(r.cfg.discard && errors.Is(err, ErrTooLarge)) {
				return
			}
		}
	}
}

// ready reports whether the next ReadMessage can return a message (or a
// header error) from what is buffered, without reading.
func (r *Reader) ready() bool {
	if r.err != nil || r.discard > 0 || r.large.bigp != nil {
		return r.err != nil
	}
	if r.inFrame {
		return r.w-r.r >= r.need
	}
	hl, n, err := r.cfg.layout.parse(r.buf[r.r:r.w])
	return err != nil || (hl > 0 && (n > uint64(r.cfg.max) || uint64(r.w-r.r-hl) >= n))
}

// Buffered returns the number of bytes read and not yet returned, counting
// the payload received so far of a frame in progress.
func (r *Reader) Buffered() int { return r.w - r.r + len(r.large.big) }

// Handoff returns a reader that yields the bytes the Reader has buffered
// beyond the last message returned, then the rest of the underlying
// stream, for a protocol that stops framing and takes the stream over
// (netty/netty#4087 lost these bytes). If a frame is in progress, its
// header has been consumed and its payload bytes come first. The Reader is
// left empty, as after Reset(nil). A Reader with no underlying reader
// hands off a reader whose reads return [ErrNoStream].
func (r *Reader) Handoff() io.Reader {
	rest := make([]byte, 0, r.Buffered())
	rest = append(rest, r.large.big...)
	rest = append(rest, r.buf[r.r:r.w]...)
	var src io.Reader = noStream{}
	if r.src != nil {
		src = r.src
	}
	r.Reset(nil)
	return io.MultiReader(bytes.NewReader(rest), src)
}

// Reset discards all state, including any buffered bytes and a sticky
// error, gives the buffers back to the pools and makes r read from src.
// A Reader made by NewReader keeps its options (and the error of an
// invalid one) and goes back to their layout, undoing SetLayout; on the
// zero value Reset sets the defaults, as
// NewReader(src) would, so that
//
//	var r frame.Reader
//	r.Reset(src)
//
// is ready to read. After Reset(nil), reads return [ErrNoStream].
func (r *Reader) Reset(src io.Reader) {
	r.large.reset()
	putBuf(r.bufp)
	cfg := r.cfg.orDefaults()
	*r = Reader{src: src, cfg: cfg, err: cfg.err, stream: streamState{gen: r.stream.gen}}
}

// Release gives the Reader's buffers back to a shared pool when it holds
// no unread bytes, so a connection waiting for its next message pins no
// buffer memory; the next read takes one again, without allocating in
// steady state. It is safe to call at any time: bytes already received
// are kept (Release is then a no-op for them), and the state of a frame in
// progress is kept. Release invalidates the slice the last ReadMessage
// returned, not Header's.
//
// A server with many idle connections calls it before each blocking read.
func (r *Reader) Release() {
	r.large.release()
	r.readBuf.release()
}

// fill reads once into the buffer, after moving the unread bytes to its
// front, and returns nil once at least one byte arrived. Callers need at
// most a buffer's worth of bytes from r.r, so there is always room.
func (r *Reader) fill() error {
	if r.rerr == nil {
		// Only a real read needs room: a kept error is returned as is.
		r.makeRoom(r.cfg.bufSize, r.cfg.bufMax)
	}
	free := len(r.buf) - r.w
	n, err := r.read(r.buf[r.w:])
	if n == 0 {
		return err
	}
	r.w += n
	// A read that filled the buffer suggests more is waiting: a larger
	// buffer would save system calls.
	r.grow = n == free
	// Keep the error for the next call: these bytes may complete a frame.
	r.rerr = err
	return nil
}

// read is the one place that calls the underlying reader. An error kept
// from the last read comes first, without reading. A read that returns
// (0, nil) is retried, up to maxEmptyReads times before
// [io.ErrNoProgress], and a count outside [0, len(p)] breaks the stream
// for good. So read returns n > 0 or an error, and may return both: the
// caller decides whether the error waits for the next call (in rerr).
func (r *Reader) read(p []byte) (int, error) {
	if err := r.rerr; err != nil {
		r.rerr = nil
		return 0, err
	}
	if r.src == nil {
		return 0, ErrNoStream
	}
	for range maxEmptyReads {
		n, err := r.src.Read(p)
		if n < 0 || n > len(p) {
			r.err = errNegativeRead
			return 0, r.err
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readHeader parses the next header, reading until it is complete.
func (r *Reader) readHeader() error {
	r.hdrLen = 0 // the last message's header is valid until this read
	for {
		// The default header inline; others, and partial headers, by
		// the layout parser.
		b := r.buf[r.r:r.w]
		hl, n, err := 4, uint64(0), error(nil)
		if r.cfg.plain && len(b) >= 4 {
			n = uint64(binary.BigEndian.Uint32(b))
		} else {
			hl, n, err = r.cfg.layout.parse(b)
		}
		if err != nil {
			r.err = err
			return err
		}
		if hl > 0 {
			if n > uint64(r.cfg.max) {
				if r.stream.hdr {
					return r.streamHeader(hl, n)
				}
				r.r += hl
				return r.refuse(r.buf[r.r-hl:r.r], n, uint64(r.cfg.max), false)
			}
			r.markHeader(r.r, hl)
			r.r += hl
			r.inFrame, r.need = true, int(n)
			return nil
		}
		if err := r.fill(); err != nil {
			if err == io.EOF {
				if r.w == r.r {
					return io.EOF
				}
				r.err = fmt.Errorf("frame: stream ended after %d header bytes: %w", r.w-r.r, io.ErrUnexpectedEOF)
				return r.err
			}
			return err
		}
	}
}

// readPayload completes the frame in progress.
func (r *Reader) readPayload() ([]byte, error) {
	need, l := r.need, &r.large
	if l.bigp == nil {
		if r.w-r.r >= need {
			return r.take(need), nil
		}
		// Release may have returned the buffer in the middle of the
		// frame (it does so only when no payload byte is in it): then
		// decide by the size fill will take.
		if need <= max(len(r.buf), r.cfg.bufSize) {
			for r.w-r.r < need {
				if err := r.fill(); err != nil {
					return nil, r.payloadErr(err, r.w-r.r)
				}
			}
			return r.take(need), nil
		}
		l.start(need, r.buf[r.r:r.w])
		r.r, r.w = 0, 0
	}
	for len(l.big) < need {
		if len(l.big) == cap(l.big) {
			l.grow(need)
		}
		// Read straight into the destination, and never past the
		// frame: the next header is read through the buffer.
		n, err := r.read(l.big[len(l.big):min(need, cap(l.big))])
		l.big = l.big[:len(l.big)+n]
		if err != nil {
			if len(l.big) < need {
				return nil, r.payloadErr(err, len(l.big))
			}
			r.rerr = err // the frame is whole; the error is for the next call
		}
	}
	r.inFrame = false
	return l.handOut(), nil
}

// take returns the next n buffered bytes as the payload of the frame.
func (r *Reader) take(n int) []byte {
	if r.large.spare != nil {
		r.large.dropSpare()
	}
	msg := r.buf[r.r : r.r+n : r.r+n]
	r.r += n
	r.inFrame = false
	return msg
}

// payloadErr turns an error met inside a payload into the one to return:
// end of stream is sticky and unexpected; anything else leaves the frame
// in progress to be resumed.
func (r *Reader) payloadErr(err error, got int) error {
	if err == io.EOF {
		r.err = fmt.Errorf("frame: stream ended after %d of %d payload bytes: %w", got, r.need, io.ErrUnexpectedEOF)
		return r.err
	}
	return err
}
