package frame

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// streamChunk is the size of the buffer through which a Writer copies a
// streamed payload that the kernel cannot move by itself: a write of it
// fills a good share of a socket's send buffer, so the copy costs few
// system calls, and it comes from the pools, so it costs no allocation.
const streamChunk = 256 << 10

// WriteMessageFrom writes one message of exactly size bytes read from
// src, for a payload too large to hold in memory. A payload that fits in
// the Writer's buffer is read into it and written like [Writer.WriteMessage],
// so call [Writer.Flush] to send it; a larger one is written as it is
// read, through a pooled buffer, and only its last part may stay buffered.
// On Linux, when src is a regular *os.File (or a *net.TCPConn or
// *net.UnixConn) and the Writer writes to a *net.TCPConn, the header goes
// out with the bytes buffered before it and the payload goes from src to
// the socket without passing through user space (sendfile(2), splice(2)).
//
// A size that is negative, above the stream limit ([WithMaxStreamSize];
// by default the maximum of [WithMaxSize]) or beyond what the layout's
// length field can express is refused, with a [*SizeError] for the last
// two, before any byte is read or written. The Writer stays usable then,
// and nothing of the message is sent, as when the bytes buffered before
// the message cannot be written (a timeout there is not sticky, as for
// Flush, and src is not read), and when an error of src or a timeout
// stops the message before any byte of it was written (the error is
// returned as it is; what was read from src is dropped).
//
// Otherwise a message cut short breaks the Writer for good, because the
// peer is inside a message that nothing but the rest of src can complete:
// a src that ends before size bytes makes WriteMessageFrom return an
// error matching [io.ErrUnexpectedEOF], and every later call returns that
// error (even if nothing of the message had been written); an error of
// src or of the underlying writer, or a timeout, once a byte of the
// message may have been written, is returned as it is, and every later
// call returns an error that wraps it. Unlike WriteMessage, a timeout
// here cannot leave the rest for the next call: that would mean keeping
// src after the call returns, past a deferred Close.
func (w *Writer) WriteMessageFrom(src io.Reader, size int64) error {
	return w.writeFrom("WriteMessageFrom", nil, src, size)
}

// WriteFrameFrom is WriteMessageFrom for a layout with header fields,
// which it writes as [Writer.WriteFrame] does: fields are the Offset
// bytes, then the After bytes, and the length field counts size. Fields
// of the wrong length, or a size shorter than a positive Adjust, return
// an error matching [ErrLayoutMismatch] before any byte is read or
// written.
func (w *Writer) WriteFrameFrom(fields []byte, src io.Reader, size int64) error {
	return w.writeFrom("WriteFrameFrom", fields, src, size)
}

// writeFrom is WriteFrameFrom, and WriteMessageFrom (call) with no fields.
func (w *Writer) writeFrom(call string, fields []byte, src io.Reader, size int64) error {
	if err := w.stopped(); err != nil {
		return err
	}
	if len(fields) != w.cfg.fields {
		return w.cfg.fieldsErr(call, len(fields))
	}
	if err := w.cfg.checkStream(call, size); err != nil {
		return err
	}
	hl := w.cfg.headerLen(uint64(size))
	if w.bufp == nil {
		w.acquire(0)
	}
	if int64(hl)+size > int64(cap(w.buf)) {
		return w.streamFrom(call, fields, src, size, hl)
	}
	if len(w.buf)+hl+int(size) > cap(w.buf) {
		if err := w.flush(nil); err != nil {
			return err
		}
	}
	w.acquire(len(w.buf) + hl + int(size))
	start := len(w.buf)
	w.buf = w.cfg.layout.appendHeader(w.buf, fields, uint64(size))
	n, err := io.ReadFull(src, w.buf[len(w.buf):len(w.buf)+int(size)])
	if err != nil {
		w.buf = w.buf[:start]
		return w.srcErr(call, err, int64(n), size, false)
	}
	w.buf = w.buf[:len(w.buf)+int(size)]
	return nil
}

// streamFrom writes a frame too large for the buffer, whose header is hl
// bytes long, from src: without a copy through user space where the
// platform can, else through a pooled buffer of streamChunk bytes.
func (w *Writer) streamFrom(call string, fields []byte, src io.Reader, size int64, hl int) error {
	if canSendDirect(w.dst, src) {
		w.buf = w.cfg.layout.appendHeader(w.buf, fields, uint64(size))
		if err := w.flush(nil); err != nil {
			if w.err == nil && len(w.buf) >= hl {
				// A timeout before the header: the message was
				// not begun.
				w.dropTail(hl)
				return err
			}
			return w.cut(call, err, 0, size)
		}
		n, err := sendDirect(w.dst, src, size)
		if n < size && err == nil {
			err = io.ErrUnexpectedEOF
		}
		return w.srcErr(call, err, n, size, true)
	}
	// The bytes buffered before the message go out first, so that a
	// timeout writing them leaves src unread.
	if len(w.buf) > 0 {
		if err := w.flush(nil); err != nil {
			return err
		}
	}
	w.acquire(streamChunk)
	w.buf = w.cfg.layout.appendHeader(w.buf, fields, uint64(size))
	read, sent := int64(0), false
	for {
		room := w.buf[len(w.buf):cap(w.buf)]
		room = room[:min(int64(len(room)), size-read)]
		n, err := io.ReadFull(src, room)
		w.buf = w.buf[:len(w.buf)+n]
		read += int64(n)
		if err != nil {
			if !sent {
				w.buf = w.buf[:0]
			}
			return w.srcErr(call, err, read, size, sent)
		}
		if read == size {
			// The end of the message stays buffered, as a
			// message written by WriteMessage does.
			return nil
		}
		k, err := w.dst.Write(w.buf)
		if err = checkWrite(int64(k), len(w.buf), err); err != nil {
			if !sent && k == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				// Not begun: the message is dropped, as when src
				// fails before any of it is written.
				w.buf = w.buf[:0]
				return err
			}
			return w.cut(call, err, read, size)
		}
		sent = true
		w.buf = w.buf[:0]
	}
}

// srcErr returns the error for a streamed frame whose src returned err
// after got of size bytes; sent says whether the peer may have seen part
// of the frame. A src that ended early breaks the Writer in any case,
// with an error matching io.ErrUnexpectedEOF; other errors only once the
// frame was sent in part.
func (w *Writer) srcErr(call string, err error, got, size int64, sent bool) error {
	switch {
	case err == nil:
		return nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		w.cut(call, err, got, size)
		w.err = fmt.Errorf("frame: %s: the source ended after %d of %d bytes: %w", call, got, size, io.ErrUnexpectedEOF)
		return w.err
	case !sent:
		return err
	}
	return w.cut(call, err, got, size)
}

// cut breaks the Writer after err stopped a streamed frame got bytes into
// its payload of size, and returns err: nothing can complete the frame the
// peer is reading, so nothing else may be sent.
func (w *Writer) cut(call string, err error, got, size int64) error {
	w.err = fmt.Errorf("frame: %s was cut %d bytes into a %d-byte payload, leaving the peer inside it: %w", call, got, size, err)
	putBuf(w.bufp)
	w.bufp, w.buf = nil, nil
	return err
}
