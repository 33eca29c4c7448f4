package faultnet

import (
	"io"
	"math"
	"time"
)

// A stream is one direction of a connection: the bytes written into it
// and not yet read, and what the direction's faults do to them. Offsets
// count the bytes of the direction from 0. Its methods are called with
// the connection's mutex held.
type stream struct {
	link
	signal // wakes the direction's reader and writer

	buf  []byte // queued bytes: buf[off:] holds offsets read..tail
	off  int
	read int64 // offset of the next byte to read
	tail int64 // offset after the last byte queued
	sent int64 // bytes written into the direction, queued or dropped

	endAt  int64 // the reader gets endErr at this offset
	endErr error // io.EOF, errReset, or an error of a wrapped connection

	readerGone bool // the reading end closed: writes fail
	discard    bool // the reading end shut down reading: writes are dropped
	fired      bool // the direction's reset point was reached

	// With fragments or delays, one mark per queued chunk, and the piece
	// being read, drawn when the reader reaches it: piece sizes are drawn
	// in the order of the stream, whenever the reader gets there, so they
	// depend on the seed and the writes, not on timing.
	marks    []mark
	mhead    int // marks[mhead:] are the chunks not wholly read
	pieceEnd int64
	pieceAt  time.Time // when the piece can be read
}

// A mark records a chunk: the bytes one write queued at once.
type mark struct {
	end      int64     // offset after its last byte
	writeEnd int64     // offset after the last byte of its write
	at       time.Time // when it was queued
}

// shrinkAbove is the buffer capacity above which an emptied stream lets
// its buffer go, so that an idle connection does not pin a burst's memory.
const shrinkAbove = 64 << 10

func newStream(f faults, seed uint64, dir int) *stream {
	s := &stream{link: newLink(f, seed, dir), endAt: math.MaxInt64}
	if f.truncAt >= 0 {
		s.endAt, s.endErr = f.truncAt, io.EOF
	}
	return s
}

// marked reports whether the stream keeps marks.
func (s *stream) marked() bool { return s.split() || s.timed() }

// push queues what of p fits in the buffer, as part of a write that ends
// at offset writeEnd, and returns how many bytes of p it took, queued or
// dropped, and whether this reached the direction's reset point.
func (s *stream) push(now time.Time, p []byte, writeEnd int64) (n int, reset bool) {
	limit := s.endAt
	if s.resetAt >= 0 {
		limit = min(limit, s.resetAt)
	}
	for n < len(p) {
		if s.discard || s.sent >= limit {
			s.sent += int64(len(p) - n) // past a truncation or reset: lost
			n = len(p)
			break
		}
		k := min(len(p)-n, s.buffer-int(s.tail-s.read))
		if k <= 0 {
			break
		}
		k = int(min(int64(k), limit-s.sent))
		if s.off > 0 && len(s.buf)+k > cap(s.buf) {
			s.buf = s.buf[:copy(s.buf, s.buf[s.off:])]
			s.off = 0
		}
		s.buf = append(s.buf, p[n:n+k]...)
		s.corrupt(s.buf[len(s.buf)-k:], s.sent)
		s.tail += int64(k)
		s.sent += int64(k)
		n += k
		if s.marked() {
			s.marks = append(s.marks, mark{end: s.tail, writeEnd: writeEnd, at: now})
		}
	}
	if s.resetAt >= 0 && !s.fired && s.sent >= s.resetAt {
		s.fired = true
		return n, true
	}
	return n, false
}

// endWrite ends the write in progress at the bytes it queued, when it
// stops early, so that no piece continues into the next write.
func (s *stream) endWrite() {
	for i := len(s.marks) - 1; i >= s.mhead && s.marks[i].writeEnd > s.tail; i-- {
		s.marks[i].writeEnd = s.tail
	}
	s.pieceEnd = min(s.pieceEnd, s.tail)
}

// take moves readable bytes into b, shaped by MaxRead or RandomReads.
// With nothing readable it returns the error that ends the direction (nil
// while more may come) and, if queued bytes are due later, when they are.
func (s *stream) take(now time.Time, b []byte) (n int, due time.Time, err error) {
	limit := min(s.tail, s.stallLimit())
	if s.read >= limit {
		if s.read >= s.endAt {
			return 0, time.Time{}, s.endErr
		}
		return 0, time.Time{}, nil
	}
	if !s.marked() {
		k := s.readSize(int(min(int64(len(b)), limit-s.read)))
		s.consume(b[:k])
		return k, time.Time{}, nil
	}
	for n < len(b) {
		if s.read >= s.pieceEnd {
			if s.read >= limit {
				break
			}
			s.nextPiece()
		}
		if now.Before(s.pieceAt) {
			if n == 0 {
				due = s.pieceAt
			}
			break
		}
		want := min(limit, s.pieceEnd, s.read+int64(len(b)-n))
		ready, next := s.arrived(now, want)
		if ready <= s.read {
			if n == 0 {
				due = next
			}
			break
		}
		if n == 0 {
			b = b[:s.readSize(len(b))]
		}
		k := int(min(ready-s.read, int64(len(b)-n)))
		s.consume(b[n : n+k])
		n += k
		if s.split() {
			break // a Read never returns bytes of two fragments
		}
	}
	return n, due, nil
}

// read1 is one pass of a Read: the bytes readable now, shaped, or the
// error that ends the direction as a Read reports it (opError makes the
// *net.OpError). With neither, due says when queued bytes are due.
func (s *stream) read1(now time.Time, b []byte, opError func(op string, err error) error) (n int, due time.Time, err error) {
	n, due, err = s.take(now, b)
	switch {
	case n > 0 || err == nil || err == io.EOF:
		return n, due, err
	case err == errReset:
		return 0, due, opError("read", syscallError("read", errReset))
	}
	return 0, due, err // an error of a wrapped connection, as it came
}

// nextPiece starts the piece at the read offset: a fragment of the write
// there, or, unfragmented, the rest of the chunk.
func (s *stream) nextPiece() {
	m := s.marks[s.mhead]
	rest := m.end - s.read
	if s.split() {
		rest = m.writeEnd - s.read
	}
	size := s.pieceSize(rest)
	s.pieceEnd = s.read + size
	s.pieceAt = time.Time{}
	if s.timed() {
		s.pieceAt = s.arrival(m.at, size)
	}
}

// arrived returns the offset, up to want, to which the queued chunks have
// arrived, and when the next one will. A piece is due at pieceAt, but the
// later parts of a write taken into a full buffer in several chunks
// arrive a latency after each was queued.
func (s *stream) arrived(now time.Time, want int64) (int64, time.Time) {
	if s.latency == 0 {
		return want, time.Time{}
	}
	start := s.read
	for _, m := range s.marks[s.mhead:] {
		if start >= want {
			break
		}
		if due := m.at.Add(s.latency); now.Before(due) {
			return start, due
		}
		start = m.end
	}
	return want, time.Time{}
}

// consume copies the next len(b) queued bytes into b.
func (s *stream) consume(b []byte) {
	copy(b, s.buf[s.off:])
	s.off += len(b)
	s.read += int64(len(b))
	for s.mhead < len(s.marks) && s.marks[s.mhead].end <= s.read {
		s.mhead++
	}
	if s.mhead == len(s.marks) {
		s.marks, s.mhead = s.marks[:0], 0
	} else if s.mhead > len(s.marks)/2 {
		s.marks = s.marks[:copy(s.marks, s.marks[s.mhead:])]
		s.mhead = 0
	}
	if s.off == len(s.buf) {
		s.buf, s.off = s.buf[:0], 0
		if cap(s.buf) > shrinkAbove {
			s.buf = nil
		}
	}
	s.notify() // room for the writer
}

// queued reports whether bytes wait in the buffer.
func (s *stream) queued() bool { return s.read < s.tail }

// fail ends the direction with err after the bytes that can still be
// delivered: those queued, less those held back by a stall, which are
// lost as bytes in flight are.
func (s *stream) fail(err error) {
	s.endAt = min(s.endAt, max(s.read, min(s.tail, s.stallLimit())))
	s.endErr = err
	s.notify()
}

// closeWrite ends the direction cleanly after the bytes written so far.
func (s *stream) closeWrite() {
	if s.tail < s.endAt {
		s.endAt = s.tail
		if s.endErr == nil {
			s.endErr = io.EOF
		}
	}
	s.notify()
}

// closeRead drops what is queued; later writes fail, or with discard are
// dropped.
func (s *stream) closeRead(discard bool) {
	s.buf, s.off = nil, 0
	s.read = s.tail
	s.marks, s.mhead = nil, 0
	s.pieceEnd = s.tail
	if discard {
		s.discard = true
	} else {
		s.readerGone = true
	}
	s.notify()
}
