package faultnet

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pipe is the shared state of the two ends of a Pipe: one mutex guards
// both directions, so that a reset or a close changes both at once.
type pipe struct {
	mu    sync.Mutex
	err   error      // an invalid option: every Read and Write fails with it
	s     [2]*stream // s[i] carries what end i writes
	reset bool
}

// end is one end of a Pipe; end i writes s[i] and reads s[1-i].
type end struct {
	p             *pipe
	in, out       *stream
	local, remote *net.TCPAddr

	// Guarded by p.mu.
	readDeadline, writeDeadline time.Time
	closed, readShut, writeShut bool
	abort                       bool // SetLinger(0): Close resets
}

var (
	_ net.Conn = (*end)(nil)
	_ closeRW  = (*end)(nil)
)

// closeRW is what *net.TCPConn offers beyond net.Conn for half-closing.
type closeRW interface {
	CloseRead() error
	CloseWrite() error
}

// pipes numbers the pipes, to give each a distinct pair of ports.
var pipes atomic.Uint32

// pipeAddrs returns the addresses of the two ends of a new pipe:
// 127.0.0.1 with ports in the dynamic range (RFC 6335), distinct for the
// last 8192 pipes made.
func pipeAddrs() (a, b *net.TCPAddr) {
	const first, count = 49152, 16384
	n := int(pipes.Add(1)-1) % (count / 2)
	a = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: first + 2*n}
	b = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: first + 2*n + 1}
	return a, b
}

func newPipe(opts []Option) (*end, *end) {
	cfg := newConfig(opts)
	p := &pipe{err: cfg.err}
	for d := range p.s {
		p.s[d] = newStream(cfg.dir[d], cfg.seed, d)
	}
	a, b := pipeAddrs()
	e0 := &end{p: p, out: p.s[0], in: p.s[1], local: a, remote: b}
	e1 := &end{p: p, out: p.s[1], in: p.s[0], local: b, remote: a}
	if cfg.err == nil && (cfg.dir[0].resetAt == 0 || cfg.dir[1].resetAt == 0) {
		p.resetNow()
	}
	return e0, e1
}

// resetNow resets the connection: each direction delivers what it holds,
// then errReset; every later Write fails.
func (p *pipe) resetNow() {
	p.reset = true
	for _, s := range p.s {
		s.fired = true
		s.fail(errReset)
	}
}

func (e *end) opError(op string, err error) error {
	return opError(op, e.local, e.remote, err)
}

// Read reads as a TCP connection's Read does, after the faults of the
// direction the other end writes.
func (e *end) Read(b []byte) (int, error) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		now := time.Now()
		if err := stopped(p.err, e.closed, len(b) == 0, e.readDeadline, now); err != nil {
			return 0, e.opError("read", err)
		}
		if len(b) == 0 {
			return 0, nil
		}
		if e.readShut {
			return 0, io.EOF
		}
		n, due, err := e.in.read1(now, b, e.opError)
		if n > 0 || err != nil {
			return n, err
		}
		if e.in.wait(&p.mu, e.readDeadline, due, e.in.releaseChan()) {
			e.in.released = true
		}
	}
}

// Write writes as a TCP connection's Write does: it returns once all of b
// is queued, waiting while the direction's buffer is full.
func (e *end) Write(b []byte) (int, error) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	s := e.out
	writeEnd := s.tail + int64(len(b))
	defer s.endWrite()
	n := 0
	for {
		now := time.Now()
		if err := stopped(p.err, e.closed, false, e.writeDeadline, now); err != nil {
			return n, e.opError("write", err)
		}
		switch {
		case p.reset:
			return n, e.opError("write", syscallError("write", errReset))
		case e.writeShut || s.readerGone:
			return n, e.opError("write", syscallError("write", syscall.EPIPE))
		case n == len(b):
			return n, nil
		}
		k, reset := s.push(now, b[n:], writeEnd)
		n += k
		if k > 0 {
			s.notify()
		}
		if reset {
			p.resetNow()
			return n, nil
		}
		if k == 0 {
			s.wait(&p.mu, e.writeDeadline, time.Time{}, nil)
		}
	}
}

// Close closes the end: its Reads and Writes fail with [net.ErrClosed],
// the other end reads what was written, then [io.EOF], and its Writes
// fail with an error matching [syscall.EPIPE].
func (e *end) Close() error {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.closed {
		return e.opError("close", net.ErrClosed)
	}
	e.closed = true
	if e.abort && !p.reset {
		p.resetNow()
	}
	e.out.closeWrite()
	e.in.closeRead(false)
	return nil
}

// CloseWrite shuts down the writing side, as shutdown(SHUT_WR) does: the
// other end reads what was written, then [io.EOF], and can still write
// back; Writes on this end fail with an error matching [syscall.EPIPE].
func (e *end) CloseWrite() error {
	return e.ifOpen("close", func() {
		e.writeShut = true
		e.out.closeWrite()
	})
}

// CloseRead shuts down the reading side: Reads return [io.EOF], and what
// the other end writes is dropped, as Linux does after shutdown(SHUT_RD).
func (e *end) CloseRead() error {
	return e.ifOpen("close", func() {
		e.readShut = true
		e.in.closeRead(true)
	})
}

// SetLinger(0) makes Close reset the connection, as SO_LINGER 0 does for
// TCP: the other end reads what is queued, then an error matching
// [syscall.ECONNRESET]. Any other value restores a graceful Close.
func (e *end) SetLinger(sec int) error {
	return e.ifOpen("set", func() { e.abort = sec == 0 })
}

func (e *end) LocalAddr() net.Addr  { return e.local }
func (e *end) RemoteAddr() net.Addr { return e.remote }

func (e *end) SetDeadline(t time.Time) error { return e.setDeadline(t, true, true) }

func (e *end) SetReadDeadline(t time.Time) error { return e.setDeadline(t, true, false) }

func (e *end) SetWriteDeadline(t time.Time) error { return e.setDeadline(t, false, true) }

func (e *end) setDeadline(t time.Time, read, write bool) error {
	return e.ifOpen("set", func() {
		// Waiters wake and measure again against the new deadline.
		if read {
			e.readDeadline = t
			e.in.notify()
		}
		if write {
			e.writeDeadline = t
			e.out.notify()
		}
	})
}

// ifOpen calls f with the pipe locked, or, if the end is closed, returns
// the error net gives for op on a closed connection.
func (e *end) ifOpen(op string, f func()) error {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	if e.closed {
		return e.opError(op, net.ErrClosed)
	}
	f()
	return nil
}
