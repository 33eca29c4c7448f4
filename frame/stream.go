package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// streamState is what a Reader keeps of the message NextReader handed out.
type streamState struct {
	on   bool   // a body is out: the next call ends it
	hdr  bool   // the header being read is NextReader's, whose limit is cfg.stream
	size uint64 // the payload's length
	left uint64 // payload bytes not yet read from the body, buffered ones included
	gen  uint64 // counts the bodies handed out, so that an earlier one knows it is stale
}

// NextReader reads the next frame's header and returns the length of its
// payload and a reader of it, for a payload too large to hold in memory:
// its bytes go from the stream to the caller's reads, through the
// Reader's buffer only when they arrived with the header or the reads are
// small. body returns [io.EOF] exactly at the end of the payload, and an
// error matching [io.ErrUnexpectedEOF] if the stream ends before. Header
// returns the message's header while the body is read.
//
// The payload may be up to the stream limit ([WithMaxStreamSize]; by
// default the maximum of [WithMaxSize]). A header that claims more
// returns a [*SizeError] before any byte of the payload is read, and is
// then sticky or skipped as [WithDiscardOversize] says, as for
// ReadMessage. A frame whose payload an interrupted ReadMessage or
// AppendMessage began is returned as it is, its received bytes first.
//
// body is valid until the next call on r: a read, Reset or Handoff. That
// call first skips what is left of the payload, without allocating and
// counting the bytes already buffered, so the stream stays in sync; if a
// timeout interrupts the skipping, the call after it goes on. A body read
// after that returns [ErrBodyClosed]. Reading body is using r: not
// concurrently with other calls on it.
//
// A timeout or other error of the underlying reader in the middle of the
// payload is returned by body once, and the next read of body resumes
// where it stopped. With [io.Copy] the body hands its bytes to the
// destination's ReadFrom where that moves them without a copy: on Linux,
// from a *net.TCPConn or *net.UnixConn into a regular *os.File with
// splice(2), after the bytes already buffered. An error there other than a
// timeout leaves the stream's position unknown and is sticky.
func (r *Reader) NextReader() (size int64, body io.Reader, err error) {
	resumed := r.inFrame && !r.stream.on
	r.stream.hdr, r.stream.size = true, 0
	err = r.next()
	r.stream.hdr = false
	if err != nil {
		return 0, nil, err
	}
	// streamHeader kept the length of a payload above the message
	// limit; the others fit in need.
	n := uint64(r.need)
	if r.stream.size > 0 {
		n = r.stream.size
	} else if !resumed && n > r.cfg.stream {
		return 0, nil, r.refuse(r.header(), n, r.cfg.stream, true)
	}
	s := &r.stream
	s.on, s.size, s.left = true, n, n
	s.gen++
	r.need = math.MaxInt
	return int64(n), &bodyReader{r: r, gen: s.gen}, nil
}

// streamHeader handles, for NextReader, the header of hl bytes at
// buf[r.r:] that claims n payload bytes, above the message limit: a
// payload up to the stream limit is accepted, a larger one refused.
func (r *Reader) streamHeader(hl int, n uint64) error {
	r.r += hl
	if n > r.cfg.stream {
		return r.refuse(r.buf[r.r-hl:r.r], n, r.cfg.stream, true)
	}
	r.markHeader(r.r-hl, hl)
	r.inFrame, r.stream.size = true, n
	return nil
}

// refuse returns the error for hdr, the header just consumed, which
// claims n payload bytes, above limit: it is sticky, or under
// WithDiscardOversize the payload is skipped by the next call.
func (r *Reader) refuse(hdr []byte, n, limit uint64, stream bool) error {
	err := &SizeError{Size: n, Max: clampInt(limit), Layout: r.cfg.layout, HeaderBytes: bytes.Clone(hdr), Stream: stream}
	r.inFrame, r.hdrLen = false, 0
	if !r.cfg.discard {
		r.err = err
		return err
	}
	r.discard = n
	return err
}

// endBody ends the message whose body is out: what is left of its payload
// is skipped (through discard, so a timeout resumes the skipping), then
// the next header is read.
func (r *Reader) endBody() error {
	s := &r.stream
	r.discard = s.left - uint64(len(r.large.big))
	r.large.drop()
	s.on, s.left, r.inFrame = false, 0, false
	if r.discard > 0 {
		if err := r.skip(); err != nil {
			return err
		}
	}
	return r.readHeader()
}

// skip discards the rest of a payload nobody reads: an oversize one, or
// the rest of a body. It takes no memory beyond the read buffer.
func (r *Reader) skip() error {
	for {
		k := min(r.discard, uint64(r.w-r.r))
		r.r += int(k)
		r.discard -= k
		if r.discard == 0 {
			return nil
		}
		if err := r.fill(); err != nil {
			if err == io.EOF {
				r.err = fmt.Errorf("frame: stream ended with %d bytes of a skipped payload unread: %w", r.discard, io.ErrUnexpectedEOF)
				return r.err
			}
			return err
		}
	}
}

// A bodyReader reads the payload of the message NextReader returned.
type bodyReader struct {
	r   *Reader
	gen uint64 // the Reader's stream.gen when it was handed out
}

// reader returns b's Reader, or the error that b's reads return without
// reading: ErrBodyClosed when the Reader moved on, or its sticky error.
func (b *bodyReader) reader() (*Reader, error) {
	if !b.live() {
		return nil, ErrBodyClosed
	}
	if b.r.err != nil {
		return nil, b.r.err
	}
	return b.r, nil
}

// live reports whether b is the body of the Reader's message in progress.
func (b *bodyReader) live() bool { return b.r.stream.on && b.r.stream.gen == b.gen }

// ready reports whether Read returns without reading from the stream.
func (b *bodyReader) ready() bool {
	r, err := b.reader()
	return err != nil || r.stream.left == 0 || len(b.buffered()) > 0
}

// Read reads the next bytes of the payload, up to len(p).
func (b *bodyReader) Read(p []byte) (int, error) {
	r, err := b.reader()
	if err != nil {
		return 0, err
	}
	if r.stream.left == 0 {
		return 0, io.EOF
	}
	if uint64(len(p)) > r.stream.left {
		p = p[:r.stream.left]
	}
	if len(p) == 0 {
		return 0, nil
	}
	k := b.buffered()
	if len(k) == 0 {
		if len(p) >= r.cfg.bufSize {
			// A large read goes straight into p, as bufio's does.
			n, err := r.read(p)
			if n == 0 {
				return 0, b.fail(err)
			}
			r.rerr = err // for the next read, after these bytes
			r.stream.left -= uint64(n)
			return n, nil
		}
		if err := r.fill(); err != nil {
			return 0, b.fail(err)
		}
		k = b.buffered()
	}
	n := copy(p, k)
	b.consume(n)
	return n, nil
}

// WriteTo writes the rest of the payload to w, so that [io.Copy] from the
// body moves the bytes without an intermediate buffer of its own, and
// without any copy through user space where the platform can (see
// NextReader). It returns the bytes written and nil at the end of the
// payload. A write error leaves the bytes not written in the body, except
// on the zero-copy path, where the error is sticky.
func (b *bodyReader) WriteTo(w io.Writer) (int64, error) {
	r, err := b.reader()
	if err != nil {
		return 0, err
	}
	var total int64
	for r.stream.left > 0 {
		k := b.buffered()
		if len(k) == 0 {
			if r.rerr == nil && r.src != nil {
				want := int64(r.stream.left)
				n, err, handled := receiveDirect(w, r.src, want)
				if handled {
					r.stream.left -= uint64(n)
					return total + n, b.direct(err, n, want)
				}
			}
			if err := r.fill(); err != nil {
				return total, b.fail(err)
			}
			continue
		}
		n, err := w.Write(k)
		n = clampCount(n, len(k))
		b.consume(n)
		total += int64(n)
		if err = checkWrite(int64(n), len(k), err); err != nil {
			return total, err
		}
	}
	return total, nil
}

// buffered returns the payload bytes b can hand out without reading: the
// start of a payload that ReadMessage began, or else those in the
// Reader's buffer, at most the rest of the payload.
func (b *bodyReader) buffered() []byte {
	r := b.r
	if len(r.large.big) > 0 {
		return r.large.big[:min(uint64(len(r.large.big)), r.stream.left)]
	}
	return r.buf[r.r : r.r+int(min(uint64(r.w-r.r), r.stream.left))]
}

// consume marks the first n bytes that buffered returned as read.
func (b *bodyReader) consume(n int) {
	r := b.r
	r.stream.left -= uint64(n)
	if len(r.large.big) == 0 {
		r.r += n
		return
	}
	r.large.big = r.large.big[n:]
	if len(r.large.big) == 0 {
		r.large.drop()
	}
}

// fail turns an error met reading the payload into the one to return:
// end of stream is sticky and unexpected; anything else, such as a
// timeout, leaves the body to be resumed.
func (b *bodyReader) fail(err error) error {
	r := b.r
	if err != io.EOF {
		return err
	}
	s := &r.stream
	r.err = fmt.Errorf("frame: stream ended after %d of %d payload bytes: %w", s.size-s.left, s.size, io.ErrUnexpectedEOF)
	return r.err
}

// direct returns the error of a zero-copy transfer that moved n of want
// bytes: a short one met the end of the stream; a timeout can only have
// come from the socket, before any byte left it, so the body resumes;
// any other error may have lost bytes between the two descriptors, so
// the stream's position is unknown from then on.
func (b *bodyReader) direct(err error, n, want int64) error {
	switch {
	case err == nil && n < want:
		return b.fail(io.EOF)
	case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		return err
	}
	s := &b.r.stream
	b.r.err = fmt.Errorf("frame: moving a payload to a file stopped after %d of %d bytes, leaving the stream's position unknown: %w",
		s.size-s.left, s.size, err)
	return b.r.err
}
