package echo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Accept backoff bounds: the same as net/http.Server.Serve's, so that a
// server out of file descriptors neither spins on Accept nor waits long
// once descriptors free up.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = 1 * time.Second
)

// trackedListener closes its listener once, however many of Serve, Shutdown
// and Close ask, and remembers the first Close error so each caller sees it.
// net/http wraps its listeners the same way (onceCloseListener) because
// closing a net.Listener twice is an error for most implementations.
type trackedListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *trackedListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// boundBy returns the wrapper Listen made for l, or nil if l did not come
// from Listen. Only a comparable l can be a map key; Listen's listeners
// are all pointers.
func (s *Server) boundBy(l net.Listener) *trackedListener {
	if t := reflect.TypeOf(l); t == nil || !t.Comparable() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[l]
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

// trackListener adds or removes l from the listeners Shutdown closes. Adding
// fails once the server is shutting down, so that a Serve racing Shutdown
// returns ErrServerClosed instead of serving a listener nobody will close.
func (s *Server) trackListener(l *trackedListener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, l)
		return true
	}
	if s.shuttingDown() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[*trackedListener]struct{})
	}
	s.listeners[l] = struct{}{}
	if s.addr == nil {
		s.addr = l.Addr()
	}
	return true
}

// beginShutdownLocked marks the server as shutting down, once; s.mu is held.
func (s *Server) beginShutdownLocked() {
	if s.inShutdown.Swap(true) {
		return
	}
	if s.done == nil {
		s.done = make(chan struct{})
	}
	close(s.done)
	s.connsDone = make(chan struct{})
	if len(s.conns) == 0 {
		close(s.connsDone)
	}
}

func (s *Server) closeListenersLocked() error {
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		delete(s.listeners, l)
	}
	return errors.Join(errs...)
}

// closeConns closes every connection at once. The handlers see net.ErrClosed
// and return, removing themselves.
func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
}

// pause waits d after an Accept error, or less if the server shuts down
// meanwhile, in which case it reports false. Unlike net/http's time.Sleep,
// Shutdown is never held up by a second-long pause.
func (s *Server) pause(d time.Duration) bool {
	s.mu.Lock()
	if s.done == nil {
		s.done = make(chan struct{})
	}
	done := s.done
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// nextDelay doubles the Accept backoff from minAcceptDelay up to maxAcceptDelay.
func nextDelay(d time.Duration) time.Duration {
	if d == 0 {
		return minAcceptDelay
	}
	return min(2*d, maxAcceptDelay)
}

// retryAccept reports whether an Accept error is worth retrying: the
// process or system is short of descriptors or memory (accept(2) ERRORS:
// EMFILE, ENFILE, ENOBUFS, ENOMEM), or the error says it is a timeout or
// temporary. internal/poll already retries ECONNABORTED and EINTR itself.
// Anything else (a closed or broken listener) stops Serve, as it stops
// net/http's.
func retryAccept(err error) bool {
	for _, errno := range [...]error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// Temporary is deprecated on net.Error because its meaning was never
	// clear for I/O, but listeners outside net (netutil, test doubles)
	// still use it to say "try Accept again".
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// serveConn starts a goroutine for nc, or turns it away past MaxConns or
// during shutdown.
func (s *Server) serveConn(nc net.Conn) {
	c := newConn(s, nc)
	switch s.trackConn(c, true) {
	case tracked:
		s.stats.total.Add(1)
		go c.serve()
	case overLimit:
		s.stats.rejected.Add(1)
		nc.Close()
		if n, ok := s.rejectLog.allow(); ok {
			s.logger().Warn("echo: connection limit reached; closing new connections",
				"max_conns", s.MaxConns, "rejected", n, "remote", nc.RemoteAddr())
		}
	default: // refused: shutting down
		nc.Close()
	}
}

// Results of trackConn.
const (
	tracked = iota
	overLimit
	refused
)

// trackConn adds or removes c from the connections Shutdown waits for.
// Adding fails past MaxConns, checked under the lock so that several Serve
// loops cannot overshoot it together, and once the server is shutting
// down: a connection Accept returned as the listener closed is closed
// unserved.
func (s *Server) trackConn(c *conn, add bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shuttingDown() {
			return refused
		}
		if s.MaxConns > 0 && len(s.conns) >= s.MaxConns {
			return overLimit
		}
		if s.conns == nil {
			s.conns = make(map[*conn]struct{})
		}
		s.conns[c] = struct{}{}
		s.stats.active.Add(1)
		return tracked
	}
	delete(s.conns, c)
	s.stats.active.Add(-1)
	s.closedIO.merge(&c.io)
	if len(s.conns) == 0 && s.connsDone != nil {
		select {
		case <-s.connsDone:
		default:
			close(s.connsDone)
		}
	}
	return tracked
}

// rateLimit lets one log line through per second and counts the events it
// held back, so a flood of rejected connections or oversize datagrams
// cannot flood the log too.
type rateLimit struct {
	last   atomic.Int64  // UnixNano of the last line allowed
	events atomic.Uint64 // events since then
}

// allow records one event and reports whether to log it, with the number of
// events the line stands for.
func (r *rateLimit) allow() (uint64, bool) {
	n := r.events.Add(1)
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(time.Second) || !r.last.CompareAndSwap(last, now) {
		return 0, false
	}
	// Subtract what this line reports; events racing in count next time.
	r.events.Add(-n)
	return n, true
}

// forLoopback calls listen with an ephemeral loopback address for network
// ("tcp", "tcp4", "tcp6" or the udp forms; base is "tcp" or "udp"): IPv4
// loopback first, as net/http/httptest does, then IPv6 for a host without
// it.
func forLoopback(network, base string, listen func(address string) error) error {
	if network == base+"6" {
		return listen("[::1]:0")
	}
	err := listen("127.0.0.1:0")
	if err != nil && network == base {
		if err6 := listen("[::1]:0"); err6 == nil {
			return nil
		}
	}
	return err
}

// stopForTest shuts a server started by Start or StartPacket down from
// tb.Cleanup and waits for its Serve to return.
func stopForTest(tb TB, shutdown func(context.Context) error, served <-chan error) {
	ctx, cancel := context.WithTimeout(context.Background(), startCleanupGrace)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		tb.Errorf("echo: shutting down the test server: %v (did the test leave a connection open?)", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		tb.Errorf("echo: test server stopped: %v", err)
	}
}

// startCleanupGrace is how long Start's cleanup lets live connections
// finish before it closes them.
const startCleanupGrace = 10 * time.Second
