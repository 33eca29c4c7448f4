package faultnet

import (
	"bytes"
	"errors"
	"math"
	"net"
	"sync"
	"time"
)

// conn is a real connection with faults. Outbound faults act inside
// Write, on the way to c; inbound bytes are read from c into a stream
// when a Read finds it empty, and leave it through the inbound faults.
type conn struct {
	c        net.Conn
	rmu, wmu sync.Mutex // one Read and one Write at a time, as net's own
	mu       sync.Mutex // guards the rest

	err    error   // an invalid option: every Read and Write fails with it
	in     *stream // read from c, not yet returned by Read
	out    link    // the faults on what Write sends
	outSig signal  // wakes a Write that waits out a delay or a stall

	sent      int64     // bytes Write has taken
	pieceLeft int64     // of the piece being written; 0 between writes
	pieceAt   time.Time // when that piece may go

	readDeadline, writeDeadline time.Time
	closed                      bool
	reset                       bool // c was reset
	shut                        bool // c's writing side was shut by TruncateAfter
	cClosed                     bool // c was closed by a fault
	rbuf                        []byte
}

var (
	_ net.Conn = (*conn)(nil)
	_ closeRW  = (*conn)(nil)
)

// minFill is the least a Read asks of c, so that a Read of a few bytes
// does not turn into as many reads of c.
const minFill = 4 << 10

func newConn(c net.Conn, cfg config) *conn {
	w := &conn{c: c, err: cfg.err}
	if w.err == nil {
		w.err = checkWrap(cfg.dir[outbound])
	}
	w.in = newStream(cfg.dir[inbound], cfg.seed, inbound)
	w.out = newLink(cfg.dir[outbound], cfg.seed, outbound)
	if w.err == nil {
		if cfg.dir[inbound].resetAt == 0 {
			w.resetNow()
		}
		w.reached()
	}
	return w
}

// checkWrap refuses the options that cannot act on the outbound side of
// a real connection, where the peer reads in its own process.
func checkWrap(f faults) error {
	switch {
	case f.readExplicit && f.readMax > 0:
		return invalidError("MaxRead or RandomReads inside Outbound on a wrapped connection: the peer's reads are out of reach")
	case f.bufferExplicit:
		return invalidError("Buffer inside Outbound on a wrapped connection: it writes straight through")
	}
	return nil
}

func (w *conn) opError(op string, err error) error {
	return opError(op, w.c.LocalAddr(), w.c.RemoteAddr(), err)
}

// NetConn returns the wrapped connection. Reads and writes on it bypass
// the faults.
func (w *conn) NetConn() net.Conn { return w.c }

// Read reads from c through the inbound faults.
func (w *conn) Read(b []byte) (int, error) {
	w.rmu.Lock()
	defer w.rmu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		now := time.Now()
		if err := stopped(w.err, w.closed, len(b) == 0, w.readDeadline, now); err != nil {
			return 0, w.opError("read", err)
		}
		if len(b) == 0 {
			return 0, nil
		}
		n, due, err := w.in.read1(now, b, w.opError)
		if n > 0 || err != nil {
			return n, err
		}
		if w.in.queued() || w.in.read >= w.in.stallLimit() {
			// Bytes are on their way, or a stall holds them: c is not
			// read meanwhile, so its peer meets flow control.
			if w.in.wait(&w.mu, w.readDeadline, due, w.in.releaseChan()) {
				w.in.released = true
			}
			continue
		}
		if err := w.fill(len(b)); err != nil {
			return 0, err
		}
	}
}

// fill reads once from c into the inbound stream, with mu unlocked
// meanwhile. It returns only the errors a Read should return at once: a
// deadline's; others end the stream after the bytes read.
func (w *conn) fill(want int) error {
	size := min(w.in.buffer, max(want, minFill))
	if cap(w.rbuf) < size {
		w.rbuf = make([]byte, size)
	}
	buf := w.rbuf[:size]
	w.mu.Unlock()
	n, err := w.c.Read(buf)
	w.mu.Lock()
	if w.closed || w.reset {
		return nil // the loop reports it
	}
	if n > 0 {
		end := w.in.tail + int64(n)
		if _, reset := w.in.push(time.Now(), buf[:n], end); reset {
			w.resetNow()
			return nil
		}
	}
	switch {
	case err == nil:
	case isTimeout(err):
		if n == 0 {
			return err
		}
	default:
		w.in.closeWrite()
		w.in.endErr = err
	}
	return nil
}

// Write writes b to c through the outbound faults, piece by piece.
func (w *conn) Write(b []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() { w.pieceLeft = 0 }() // a piece never spans two writes
	o := &w.out
	n := 0
	for {
		now := time.Now()
		if err := stopped(w.err, w.closed, false, w.writeDeadline, now); err != nil {
			return n, w.opError("write", err)
		}
		switch {
		case w.reset:
			return n, w.opError("write", syscallError("write", errReset))
		case n == len(b):
			return n, nil
		}
		limit := int64(math.MaxInt64)
		if o.truncAt >= 0 {
			limit = o.truncAt
		}
		if o.resetAt >= 0 {
			limit = min(limit, o.resetAt)
		}
		if w.sent >= limit { // past a truncation: dropped
			w.sent += int64(len(b) - n)
			n = len(b)
			if w.reached() {
				return n, nil
			}
			continue
		}
		if w.pieceLeft == 0 {
			w.pieceLeft = o.pieceSize(int64(len(b) - n))
			w.pieceAt = time.Time{}
			if o.timed() {
				w.pieceAt = o.arrival(now, w.pieceLeft)
			}
		}
		if now.Before(w.pieceAt) {
			w.outSig.wait(&w.mu, w.writeDeadline, w.pieceAt, nil)
			continue
		}
		k := min(w.pieceLeft, limit-w.sent, o.stallLimit()-w.sent)
		if k <= 0 {
			if w.outSig.wait(&w.mu, w.writeDeadline, time.Time{}, o.releaseChan()) {
				o.released = true
			}
			continue
		}
		chunk := b[n : n+int(k)]
		if o.hasCorruption(w.sent, k) {
			chunk = bytes.Clone(chunk)
			o.corrupt(chunk, w.sent)
		}
		w.mu.Unlock()
		m, err := w.c.Write(chunk)
		w.mu.Lock()
		n += m
		w.sent += int64(m)
		w.pieceLeft -= int64(m)
		if w.reached() {
			return len(b), nil // the rest is lost, as bytes sent into a reset are
		}
		if err != nil {
			switch {
			case w.closed:
				return n, w.opError("write", net.ErrClosed)
			case w.reset:
				return n, w.opError("write", syscallError("write", errReset))
			}
			return n, err
		}
	}
}

// reached acts on the outbound offset just reached: at a truncation
// point it shuts c's writing side, at a reset point it resets c. It
// reports whether it reset.
func (w *conn) reached() bool {
	o := &w.out
	if o.truncAt >= 0 && w.sent >= o.truncAt && !w.shut {
		w.shut = true
		if cw, ok := w.c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			w.cClosed = true
			w.c.Close()
		}
	}
	if o.resetAt >= 0 && w.sent >= o.resetAt && !w.reset {
		w.resetNow()
		return true
	}
	return false
}

// resetNow resets c, so that its peer's kernel receives an RST where c
// can send one, and ends the inbound stream after what it holds.
func (w *conn) resetNow() {
	w.reset = true
	w.in.fired = true
	w.in.fail(errReset)
	w.outSig.notify()
	// With SO_LINGER 0, closing a TCP socket sends RST instead of FIN.
	if l, ok := w.c.(interface{ SetLinger(sec int) error }); ok {
		l.SetLinger(0)
	}
	w.cClosed = true
	w.c.Close()
}

// Close closes c and makes blocked Reads and Writes return.
func (w *conn) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.opError("close", net.ErrClosed)
	}
	w.closed = true
	w.in.notify()
	w.outSig.notify()
	cClosed := w.cClosed
	w.mu.Unlock()
	if cClosed {
		return nil // by a fault, already
	}
	return w.c.Close()
}

// CloseWrite calls c's CloseWrite.
func (w *conn) CloseWrite() error {
	cw, ok := w.c.(interface{ CloseWrite() error })
	if !ok {
		return w.opError("close", errors.ErrUnsupported)
	}
	return cw.CloseWrite()
}

// CloseRead calls c's CloseRead.
func (w *conn) CloseRead() error {
	cr, ok := w.c.(interface{ CloseRead() error })
	if !ok {
		return w.opError("close", errors.ErrUnsupported)
	}
	return cr.CloseRead()
}

func (w *conn) LocalAddr() net.Addr  { return w.c.LocalAddr() }
func (w *conn) RemoteAddr() net.Addr { return w.c.RemoteAddr() }

// SetDeadline sets the deadlines of c and of the waits the faults add.
func (w *conn) SetDeadline(t time.Time) error {
	w.setDeadline(t, true, true)
	return w.c.SetDeadline(t)
}

func (w *conn) SetReadDeadline(t time.Time) error {
	w.setDeadline(t, true, false)
	return w.c.SetReadDeadline(t)
}

func (w *conn) SetWriteDeadline(t time.Time) error {
	w.setDeadline(t, false, true)
	return w.c.SetWriteDeadline(t)
}

func (w *conn) setDeadline(t time.Time, read, write bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if read {
		w.readDeadline = t
		w.in.notify()
	}
	if write {
		w.writeDeadline = t
		w.outSig.notify()
	}
}
