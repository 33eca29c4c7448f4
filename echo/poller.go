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
	slots     []slot
	free      int32         // first free slot (chained through slot.pos), or -1
	heap      []int32       // the slots with a deadline, nearest first
	parked    int           // slots in use
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

// slot is one parked connection, or a free slot.
type slot struct {
	c        *conn
	since    time.Duration // when c parked, as a monoNow reading
	deadline time.Duration // when IdleTimeout cuts c, likewise; 0: never
	gen      uint32        // counts the slot's uses
	pos      int32         // index in heap or -1; while free, the next free slot
}

// A token is a slot's index in its low idxBits bits, under the low bits
// of the slot's generation. Token 0 is never a slot's: generations start
// at 1.
const (
	idxBits = 20 + 12*(^uintptr(0)>>63) // 32 on 64-bit platforms
	maxIdx  = 1<<idxBits - 1
)

func token(i int32, gen uint32) uintptr { return uintptr(gen)<<idxBits | uintptr(i) }

// newPoller opens a pollset and starts the loop that watches it.
func newPoller(s *Server) (*poller, error) {
	ps, err := newPollset()
	if err != nil {
		return nil, err
	}
	p := &poller{srv: s, ps: ps, done: make(chan struct{}), started: make(chan struct{}, 1), free: -1, toks: make([]uintptr, maxEvents)}
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
	i := p.free
	if i >= 0 {
		p.free = p.slots[i].pos
	} else {
		if len(p.slots) > maxIdx {
			return false, errPollerFull
		}
		i = int32(len(p.slots))
		p.slots = append(p.slots, slot{})
	}
	sl := &p.slots[i]
	sl.gen++
	p.addTok, p.addAgain, p.addErr = token(i, sl.gen), c.armed, nil
	err := rc.Control(p.addFn)
	if err == nil {
		err = p.addErr
	}
	if err != nil {
		sl.pos, p.free = p.free, i
		return false, err
	}
	c.armed = true
	sl.c, sl.since, sl.deadline, sl.pos = c, monoNow(), deadline, -1
	p.parked++
	if deadline != 0 {
		p.push(i)
		if p.waitUntil == 0 || deadline < p.waitUntil {
			p.waitUntil = deadline
			p.ps.hurry(deadline)
		}
	}
	return true, nil
}

// take removes slot i's connection from the poller and returns it.
func (p *poller) take(i int32) *conn {
	sl := &p.slots[i]
	c := sl.c
	if sl.pos >= 0 {
		p.remove(sl.pos)
	}
	sl.c, sl.pos, p.free = nil, p.free, i
	p.parked--
	return c
}

// count returns how many connections are parked.
func (p *poller) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked
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
	for i := range p.slots {
		if p.slots[i].c != nil {
			parked = append(parked, p.take(int32(i)))
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
		p.waitUntil = p.nearest()
		p.ps.setDeadline(p.waitUntil)
		p.mu.Unlock()

		room := maxPending - int(p.pending.Load())
		n, err := p.ps.wait(p.toks[:room])

		p.mu.Lock()
		now := monoNow()
		quietSince := now - p.srv.parkAfter()
		for _, tok := range p.toks[:n] {
			i := int32(tok & maxIdx)
			if int(i) < len(p.slots) && p.slots[i].c != nil && token(i, p.slots[i].gen) == tok {
				quiet := p.slots[i].since <= quietSince
				p.woken = append(p.woken, wake{p.take(i), quiet})
				p.wakes++
			}
		}
		for len(p.heap) > 0 && p.slots[p.heap[0]].deadline <= now && len(p.woken)+len(p.expired) < room {
			p.expired = append(p.expired, p.take(p.heap[0]))
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

// nearest returns the nearest deadline, 0 if there is none.
func (p *poller) nearest() time.Duration {
	if len(p.heap) == 0 {
		return 0
	}
	return p.slots[p.heap[0]].deadline
}

// The deadline heap: heap holds slot indices, each slot its position in
// heap, and the nearest deadline is at heap[0].

func (p *poller) push(i int32) {
	p.slots[i].pos = int32(len(p.heap))
	p.heap = append(p.heap, i)
	p.up(len(p.heap) - 1)
}

// remove removes the entry at heap position k.
func (p *poller) remove(k int32) {
	last := len(p.heap) - 1
	p.swap(int(k), last)
	p.slots[p.heap[last]].pos = -1
	p.heap = p.heap[:last]
	if int(k) < last && !p.down(int(k)) {
		p.up(int(k))
	}
}

func (p *poller) less(a, b int) bool {
	return p.slots[p.heap[a]].deadline < p.slots[p.heap[b]].deadline
}

func (p *poller) swap(a, b int) {
	h := p.heap
	h[a], h[b] = h[b], h[a]
	p.slots[h[a]].pos, p.slots[h[b]].pos = int32(a), int32(b)
}

func (p *poller) up(k int) {
	for k > 0 {
		parent := (k - 1) / 2
		if !p.less(k, parent) {
			return
		}
		p.swap(k, parent)
		k = parent
	}
}

// down moves the entry at k towards the leaves and reports whether it
// moved.
func (p *poller) down(k int) bool {
	start := k
	for {
		child := 2*k + 1
		if child >= len(p.heap) {
			break
		}
		if r := child + 1; r < len(p.heap) && p.less(r, child) {
			child = r
		}
		if !p.less(child, k) {
			break
		}
		p.swap(k, child)
		k = child
	}
	return k > start
}
