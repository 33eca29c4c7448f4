package echo

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Backoff bounds for Accept and read errors: those of
// net/http.Server.Serve, so that a server out of file descriptors neither
// spins nor waits long once descriptors free up.
const (
	minRetryDelay = 5 * time.Millisecond
	maxRetryDelay = 1 * time.Second
)

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// lifecycle is what [Server] and [PacketServer] share: the shutdown flag
// and signal, the sockets that Shutdown and Close must reach, the address
// of the first, and the count of goroutines Shutdown waits for (a
// Server's connections, a PacketServer's Serve loops).
type lifecycle struct {
	inShutdown atomic.Bool // set once by Shutdown or Close

	mu      sync.Mutex
	addr    net.Addr             // of the first socket bound or served
	sockets map[*socket]struct{} // bound by Listen and not yet closed, or being served
	busy    int                  // goroutines Shutdown waits for
	done    chan struct{}        // closed by Shutdown and Close: ends pauses
	drained chan struct{}        // made by Shutdown and Close; closed once busy is 0
}

// socket is a listener or packet socket that a server tracks. It closes
// once, however many of Serve, Shutdown and Close ask, and keeps the first
// Close error for each of them, as net/http's onceCloseListener does:
// closing a net.Listener twice is an error for most implementations.
type socket struct {
	c       io.Closer    // the net.Listener or net.PacketConn itself
	addr    net.Addr     // its local address
	bound   bool         // made by Listen
	serving bool         // a Serve loop owns it; guarded by lifecycle.mu
	batch   *net.UDPConn // PacketServer: the socket to batch on, if any
	once    sync.Once
	err     error
}

func (k *socket) Close() error {
	k.once.Do(func() { k.err = k.c.Close() })
	return k.err
}

func (lc *lifecycle) shuttingDown() bool { return lc.inShutdown.Load() }

func (lc *lifecycle) firstAddr() net.Addr {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.addr
}

// listen is the frame of a Listen call: unless the server is shutting
// down, it opens a socket with open and tracks it, so that Shutdown and
// Close close it even if Serve never runs. It returns the listener or
// packet conn itself, an S. It sweeps out the sockets Listen made that were
// closed without being served, so that a program that listens and closes
// in a loop does not grow the server.
func listen[S io.Closer](lc *lifecycle, open func() (*socket, error)) (S, error) {
	var none S
	if lc.shuttingDown() {
		return none, ErrServerClosed
	}
	k, err := open()
	if err != nil {
		return none, err
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.shuttingDown() {
		k.c.Close()
		return none, ErrServerClosed
	}
	for b := range lc.sockets {
		if !b.serving && isClosed(b.c) {
			delete(lc.sockets, b)
		}
	}
	k.bound = true
	lc.trackLocked(k)
	return k.c.(S), nil
}

// serve marks c as served by a Serve loop, taking over the socket Listen
// bound for it if there is one, and counts the loop as busy if wait is set.
// Once the server is shutting down it closes c and reports false, so that
// a Serve racing Shutdown returns ErrServerClosed instead of serving a
// socket nobody would close.
func (lc *lifecycle) serve(c io.Closer, addr net.Addr, wait bool) (*socket, bool) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.shuttingDown() {
		c.Close()
		return nil, false
	}
	var k *socket
	for b := range lc.sockets {
		// Only sockets Listen made are compared: their dynamic types
		// are pointers, so == cannot panic on an incomparable c.
		if b.bound && b.c == c {
			k = b
			break
		}
	}
	if k == nil {
		k = &socket{c: c, addr: addr}
		lc.trackLocked(k)
	}
	k.serving = true
	if wait {
		lc.enterLocked()
	}
	return k, true
}

func (lc *lifecycle) trackLocked(k *socket) {
	if lc.sockets == nil {
		lc.sockets = make(map[*socket]struct{})
	}
	lc.sockets[k] = struct{}{}
	if lc.addr == nil {
		lc.addr = k.addr
	}
}

// run is the frame of a Serve call: it tracks c as served, runs loop,
// then closes c and stops tracking it. It returns ErrServerClosed after
// Shutdown or Close, and loop's error otherwise. With wait set, Shutdown
// waits for it to return.
func (lc *lifecycle) run(c io.Closer, addr net.Addr, wait bool, loop func(*socket) error) error {
	k, ok := lc.serve(c, addr, wait)
	if !ok {
		return ErrServerClosed
	}
	defer lc.release(k, wait)
	err := loop(k)
	if lc.shuttingDown() {
		return ErrServerClosed
	}
	return err
}

// release closes k when its Serve loop ends and stops tracking it.
func (lc *lifecycle) release(k *socket, wait bool) {
	k.Close()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	delete(lc.sockets, k)
	if wait {
		lc.leaveLocked()
	}
}

// listenAndServe is ListenAndServe of either server.
func listenAndServe[S any](listen func(context.Context) (S, error), serve func(S) error) error {
	sock, err := listen(context.Background())
	if err != nil {
		return err
	}
	return serve(sock)
}

// enterLocked counts a goroutine that Shutdown waits for. The caller has
// checked that the server is not shutting down.
func (lc *lifecycle) enterLocked() { lc.busy++ }

// leaveLocked records that a goroutine Shutdown waits for has finished.
// No goroutine enters once shutdown has begun, so busy reaches 0 after it
// once at most, and drained is closed once.
func (lc *lifecycle) leaveLocked() {
	lc.busy--
	if lc.busy == 0 && lc.drained != nil {
		close(lc.drained)
	}
}

// beginShutdownLocked marks the server as shutting down, once, and
// returns the channel closed when no goroutine is busy any more.
func (lc *lifecycle) beginShutdownLocked() <-chan struct{} {
	if !lc.inShutdown.Swap(true) {
		close(lc.doneLocked())
		lc.drained = make(chan struct{})
		if lc.busy == 0 {
			close(lc.drained)
		}
	}
	return lc.drained
}

func (lc *lifecycle) doneLocked() chan struct{} {
	if lc.done == nil {
		lc.done = make(chan struct{})
	}
	return lc.done
}

// closeSocketsLocked closes the sockets for which close reports true, and
// those only, and returns the errors other than net.ErrClosed.
func (lc *lifecycle) closeSocketsLocked(close func(*socket) bool) error {
	var errs []error
	for k := range lc.sockets {
		if !close(k) {
			continue
		}
		if err := k.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		delete(lc.sockets, k)
	}
	return errors.Join(errs...)
}

func closeAll(*socket) bool { return true }

// closeSockets marks the server as shutting down and closes every socket
// at once: the part of Close that both servers share.
func (lc *lifecycle) closeSockets() error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.beginShutdownLocked()
	return lc.closeSocketsLocked(closeAll)
}

// await is the wait of Shutdown: it returns err once drained is closed,
// or, if ctx ends first, calls force and returns ctx.Err().
func await(ctx context.Context, drained <-chan struct{}, err error, force func()) error {
	select {
	case <-drained:
		return err
	case <-ctx.Done():
		force()
		return ctx.Err()
	}
}

// pause waits d after an Accept or read error, or less if the server
// shuts down meanwhile, in which case it reports false. Unlike net/http's
// time.Sleep, Shutdown is never held up by a second-long pause.
func (lc *lifecycle) pause(d time.Duration) bool {
	lc.mu.Lock()
	done := lc.doneLocked()
	lc.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// nextDelay doubles a retry pause from minRetryDelay up to maxRetryDelay.
func nextDelay(d time.Duration) time.Duration {
	if d == 0 {
		return minRetryDelay
	}
	return min(2*d, maxRetryDelay)
}

// isClosed reports whether c, a socket Listen made, has been closed:
// asking its raw connection for the descriptor fails with net.ErrClosed
// then, and costs no system call otherwise.
func isClosed(c io.Closer) bool {
	var scs []syscall.Conn
	switch c := c.(type) {
	case interface{ SyscallConns() []syscall.Conn }: // dualstack's
		scs = c.SyscallConns()
	case syscall.Conn:
		scs = []syscall.Conn{c}
	}
	for _, sc := range scs {
		rc, err := sc.SyscallConn()
		if err == nil {
			err = rc.Control(func(uintptr) {})
		}
		if errors.Is(err, net.ErrClosed) {
			return true
		}
	}
	return false
}
