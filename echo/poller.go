package echo

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errPollerFull is why a connection cannot park when the poller has
// run out of registration tokens.
var errPollerFull = errors.New("echo: too many parked connections")

// A poller owns a server's parked connections: connections that waited
// ParkAfter for input and gave up their goroutine and buffers. It watches
// their sockets in a pollset (epoll, kqueue) with one-shot registrations,
// and starts a goroutine for a connection when its socket has input, an
// end of stream or an error, or closes it when its IdleTimeout passes: the
// nearest of those deadlines ends the pollset's wait, so a parked
// connection has no timer of its own. One goroutine runs loop.
//
// Each registration carries a token, a slot index and the slot's
// generation, rather than the descriptor: an event that arrives after its
// connection left (closed, cut, or parked again in the same slot, or its
// descriptor number reused) does not match the slot any more and is
// dropped, so it never reaches another connection.
type poller struct {
	srv  *Server
	ps   *pollset
	done chan struct{} // closed when loop returns

	// The goroutines loop started that have not begun to run, at most
	// maxPending, and a token sent when they drop below it (see loop).
	pending atomic.Int32
	started chan struct{}

	mu        sync.Mutex
	closed    bool // by stop; nothing parks any more
	tab       slots
	wakes     uint64        // connections woken by their socket
	waitUntil time.Duration // when the loop's wait ends, 0 for never

	// The registration park is making, for addFn, which is bound once
	// because a closure passed to RawConn.Control would be allocated on
	// every park.
	addTok   uintptr
	addAgain bool
	addErr   error
	addFn    func(fd uintptr)

	// loop's own.
	toks    []uintptr
	woken   []wake
	expired []*conn
}

// wake is a connection the loop wakes, and whether it was parked for
// ParkAfter or longer (see conn.serve).
type wake struct {
	c     *conn
	quiet bool
}

// newPoller opens a pollset and starts the loop that watches it.
func newPoller(s *Server) (*poller, error) {
	ps, err := newPollset()
	if err != nil {
		return nil, err
	}
	p := &poller{srv: s, ps: ps, done: make(chan struct{}), started: make(chan struct{}, 1), toks: make([]uintptr, maxEvents)}
	p.tab.free = -1
	p.addFn = func(fd uintptr) { p.addErr = p.ps.add(int(fd), p.addTok, p.addAgain) }
	go p.loop()
	return p, nil
}

// park takes c, whose goroutine has released its run and must return
// without touching c again once park reports true: from then on c is the
// poller's, until an event wakes it or its deadline (a monoNow reading, 0
// for never) cuts it. rc is c's RawConn. park reports false if the poller
// is stopped, and returns an error if c could not be registered.
func (p *poller) park(c *conn, rc syscall.RawConn, deadline time.Duration) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false, nil
	}
	i, ok := p.tab.reserve()
	if !ok {
		return false, errPollerFull
	}
	p.addTok, p.addAgain, p.addErr = token(i, p.tab.at(i).gen), c.armed, nil
	err := rc.Control(p.addFn)
	if err == nil {
		err = p.addErr
	}
	if err != nil {
		p.tab.unreserve(i)
		return false, err
	}
	c.armed = true
	p.srv.stats.parks.Add(1)
	p.tab.fill(i, c, monoNow(), deadline)
	if deadline != 0 && (p.waitUntil == 0 || deadline < p.waitUntil) {
		p.waitUntil = deadline
		p.ps.hurry(deadline)
	}
	return true, nil
}

// failed reports whether the poller stopped by itself, its pollset having
// failed. (A poller that Shutdown, Close or the last connection stops is
// no longer the server's.)
func (p *poller) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// count returns how many connections are parked.
func (p *poller) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tab.used
}

// stop stops the poller and waits for its loop to end: nothing parks any
// more, and the connections parked are returned for the caller to close.
func (p *poller) stop() []*conn {
	p.mu.Lock()
	parked := p.closeLocked()
	p.mu.Unlock()
	p.ps.stop()
	<-p.done
	return parked
}

// closeLocked marks the poller closed and takes every parked connection.
func (p *poller) closeLocked() []*conn {
	p.closed = true
	var parked []*conn
	for i := range p.tab.n {
		if p.tab.at(i).c != nil {
			parked = append(parked, p.tab.take(i))
		}
	}
	return parked
}

// maxPending bounds the goroutines the loop has started that have not
// yet begun to run. A burst of input across many parked connections
// wakes them faster than goroutines can serve them; without the bound the
// loop would start one for every connection at once, and the runtime
// keeps every goroutine (and, until the next collection, its stack) it
// ever had at once for reuse. The events not taken meanwhile wait in
// the pollset.
const maxPending = maxEvents

// loop waits for the pollset's events and deadlines, and starts a
// goroutine for each connection they wake or cut, until stop.
func (p *poller) loop() {
	defer close(p.done)
	defer p.ps.close()
	for {
		for p.pending.Load() >= maxPending {
			<-p.started
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		_, p.waitUntil, _ = p.tab.nearest()
		p.ps.setDeadline(p.waitUntil)
		p.mu.Unlock()

		room := maxPending - int(p.pending.Load())
		n, err := p.ps.wait(p.toks[:room])

		p.mu.Lock()
		now := monoNow()
		quietSince := now - p.srv.parkAfter()
		for _, tok := range p.toks[:n] {
			if i, ok := p.tab.lookup(tok); ok {
				quiet := p.tab.at(i).since <= quietSince
				p.woken = append(p.woken, wake{p.tab.take(i), quiet})
				p.wakes++
			}
		}
		for len(p.woken)+len(p.expired) < room {
			i, d, ok := p.tab.nearest()
			if !ok || d > now {
				break
			}
			p.expired = append(p.expired, p.tab.take(i))
		}
		if err != nil && !p.closed {
			// The pollset failed (it cannot: its errors are the
			// caller's mistakes). Nothing could wake the parked
			// connections any more: serve them all again.
			p.srv.logger().Error("echo: poller failed; connections keep their goroutines", "err", err)
			for _, c := range p.closeLocked() {
				p.woken = append(p.woken, wake{c: c})
			}
		}
		p.mu.Unlock()

		p.pending.Add(int32(len(p.woken) + len(p.expired)))
		for _, w := range p.woken {
			go p.resume(w.c, w.quiet)
		}
		for _, c := range p.expired {
			go p.expire(c)
		}
		clear(p.woken)
		clear(p.expired)
		p.woken, p.expired = p.woken[:0], p.expired[:0]
	}
}

// resume is the goroutine of a connection that input woke.
func (p *poller) resume(c *conn, quiet bool) {
	p.begun()
	c.serve(quiet)
}

// expire is the goroutine of a connection that IdleTimeout cut.
func (p *poller) expire(c *conn) {
	p.begun()
	c.expire()
}

// begun counts a goroutine of loop's as running.
func (p *poller) begun() {
	if p.pending.Add(-1) < maxPending {
		select {
		case p.started <- struct{}{}:
		default:
		}
	}
}
