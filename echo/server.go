package echo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/framesock/framesock/echo/internal/frameopts"
	"github.com/framesock/framesock/frame"
	"github.com/framesock/framesock/sockopt"
)

// Server is a TCP echo server. Its zero value is ready to use: it echoes a
// raw byte stream unchanged, on ListenAndServe at Address, with the default
// timeouts and no connection limit. A Server must not be copied after first
// use, and its fields must not change once it serves.
type Server struct {
	// Network is "tcp" (the zero value), "tcp4" or "tcp6", used by Listen.
	Network string

	// Address is the address Listen and ListenAndServe bind, in the form of
	// [net.Listen]'s address argument: "" or ":0" picks a free port on every
	// interface. Read the bound address with [Server.Addr].
	Address string

	// Framed makes the server read and reply length-prefixed messages
	// through [frame.Reader] and [frame.Writer] instead of echoing a raw byte
	// stream: each reply is the transform of one whole message, in one frame.
	Framed bool

	// FrameOptions configure the frame.Reader and frame.Writer of a Framed
	// server. [frame.WithLayout] serves any length-prefixed format (see
	// the package documentation): each reply's header repeats the
	// request's header fields unchanged around a length field computed
	// for the reply. Options that cannot be right make Listen and Serve
	// return an error matching [frame.ErrInvalidOption].
	FrameOptions []frame.Option

	// MaxMessageSize is the largest framed payload of a request or a
	// reply; the header never counts. Zero means the [frame.WithMaxSize]
	// of FrameOptions, if any, else [frame.DefaultMaxSize] (16 MiB); any
	// other value overrides that WithMaxSize. A header claiming more
	// closes the connection, with a warning logged, before any payload is
	// read or buffered. A negative value, or one below a layout's
	// positive Adjust, is an invalid option (see FrameOptions).
	MaxMessageSize int

	// Transform computes each reply; nil echoes input unchanged.
	Transform Transform

	// MaxConns caps the connections served at once; zero means no cap.
	// Past the cap the server still accepts each new connection, but closes
	// it at once (the client reads EOF before any reply), counts it in
	// Stats.RejectedConns and logs a warning at most once a second. Accepting
	// rather than pausing Accept keeps the kernel's backlog from filling with
	// connections that would wait unseen and time out on the client's side.
	MaxConns int

	// IdleTimeout bounds how long the server waits for the next input on a
	// connection: any byte of a raw stream, or a whole message (header and
	// payload) when Framed, so a client that trickles a frame a byte at a
	// time is cut just like a silent one. Zero means [DefaultIdleTimeout];
	// negative means no limit. To keep timer updates off the hot path the
	// deadline is moved at most every IdleTimeout/8, so a connection is cut
	// between 7/8 of IdleTimeout and IdleTimeout after its last input.
	IdleTimeout time.Duration

	// WriteTimeout bounds how long a reply may take to leave, so a client
	// that sends but never reads is cut instead of holding a goroutine and a
	// buffer forever. Zero means [DefaultWriteTimeout]; negative means no
	// limit. On Unix the clock starts when a write finds the socket's send
	// buffer full and must wait, and stops when that write is done; a write
	// that does not wait sets no deadline. Elsewhere, like IdleTimeout, the
	// deadline is moved at most every 1/8 of it.
	WriteTimeout time.Duration

	// ParkAfter is how long a connection waits for input holding a
	// goroutine. On Linux, macOS and the BSDs, a connection read through
	// its raw socket (see Serve) that has waited this long (between half
	// of ParkAfter and ParkAfter after its last input, as the deadline
	// that parks it is moved at most every ParkAfter/2) parks: its
	// goroutine, stack and buffers go, and a poller owned by the server
	// watches the socket with a one-shot registration (epoll, kqueue),
	// starting a goroutine that serves the same net.Conn again when
	// input, an end of stream or a reset arrives. A parked connection
	// keeps every limit: IdleTimeout cuts it on time, Close closes it at
	// once, Shutdown half-closes it at once and lets it linger as any
	// other connection (its client may be sending at that moment), and it
	// counts in MaxConns and Stats. Zero means [DefaultParkAfter]; negative means
	// connections never park; below a millisecond means a millisecond.
	// Elsewhere connections never park.
	//
	// A connection whose input keeps arriving within ParkAfter never
	// parks and pays nothing for it. One that parks pays a system call to
	// register, and its next input waits for one more goroutine to start:
	// tens of microseconds of latency on a small virtual machine. The
	// default keeps 10,000 idle connections at about a third of the
	// memory they take holding their goroutines (BENCHMARKS.md).
	ParkAfter time.Duration

	// Options are socket options for the listener and every connection,
	// each set in the phase where it takes effect (see package sockopt):
	// for example sockopt.ReusePort(true) before bind, or
	// sockopt.NoDelay(false) on each accepted connection. Listen fails if
	// an option fails or the platform lacks it.
	Options []sockopt.Option

	// DualStack makes Listen serve IPv4 and IPv6 clients on one port
	// through [dualstack.Listen] when Network is "tcp" and Address's host
	// is empty or a wildcard. Without it, Listen behaves as [net.Listen].
	// Either way the server logs IPv4 peers as a.b.c.d, never as the
	// IPv4-mapped ::ffff:a.b.c.d that a dual-stack socket reports.
	DualStack bool

	// Logger receives connection errors, transform panics, accept retries
	// and rejections; nil means [slog.Default].
	Logger *slog.Logger

	lifecycle // guards conns, closedIO and poller with its mu
	stats     counters
	rejectLog rateLimit
	parkLog   rateLimit
	conns     map[*conn]struct{}
	closedIO  traffic   // of the connections no longer in conns
	poller    *poller   // of the parked connections; nil until one parks
	runs      sync.Pool // *run: what a connection holds while served
}

// Listen binds Network and Address (applying Options and DualStack) and
// returns the listener without serving it, so that a caller can read its
// address before calling [Server.Serve]. The listener is tracked until
// Serve has served it or it is closed: Shutdown and Close close it even if
// Serve is never called. The listener returned is the one package
// sockopt or dualstack made, not a wrapper, so that it keeps its type (a
// *dualstack.Listener's Mode, a socket to read options from). After
// Shutdown or Close, Listen returns [ErrServerClosed]. A framed server
// whose FrameOptions and MaxMessageSize cannot be right binds nothing:
// Listen returns an error matching [frame.ErrInvalidOption].
func (s *Server) Listen(ctx context.Context) (net.Listener, error) {
	return listen[net.Listener](&s.lifecycle, func() (*socket, error) {
		if err := frameopts.Check(s.Framed, s.FrameOptions, s.MaxMessageSize); err != nil {
			return nil, err
		}
		return listenStream(ctx, s.Network, s.Address, s.DualStack, s.Options)
	})
}

// Serve accepts connections on l and serves each in its own goroutine. It
// always returns a non-nil error and closes l: [ErrServerClosed] after
// Shutdown or Close; for a framed server whose FrameOptions and
// MaxMessageSize cannot be right, an error matching
// [frame.ErrInvalidOption], before it accepts anything; otherwise the
// Accept error that stopped it (a listener closed elsewhere, or broken).
// Accept errors that pass with time, such as EMFILE when the process runs
// out of file descriptors, are logged and retried after a pause that
// starts at 5 ms and doubles up to 1 s, as net/http.Server does; the
// pause ends early on Shutdown or Close.
//
// A connection that Accept returns as a *net.TCPConn or *net.UnixConn (as
// the listeners of Listen, net.Listen and package sockopt and dualstack
// without [dualstack.ListenConfig.Unmap] do) is read and written through
// its raw socket on Unix, which holds no buffer while it waits for input,
// sets the write deadline only when a write must wait, and parks after
// ParkAfter on Linux, macOS and the BSDs. Any other net.Conn (a TLS
// connection, a wrapper) is served through its own Read and Write,
// holding its goroutine and read buffer while it waits.
func (s *Server) Serve(l net.Listener) error {
	return s.run(l, l.Addr(), false, func(*socket) error {
		if err := frameopts.Check(s.Framed, s.FrameOptions, s.MaxMessageSize); err != nil {
			return err
		}
		return s.acceptLoop(l)
	})
}

// acceptLoop accepts connections on l and starts serving each, until
// Accept fails for good or the server shuts down.
func (s *Server) acceptLoop(l net.Listener) error {
	var delay time.Duration // how long to pause after an Accept error
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			if !retryAccept(err) {
				return err
			}
			delay = nextDelay(delay)
			s.stats.acceptErrs.Add(1)
			s.logger().Error("echo: accept failed; retrying", "err", err, "delay", delay)
			if !s.pause(delay) {
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.serveConn(nc)
	}
}

// ListenAndServe calls [Server.Listen] and then [Server.Serve]. It always
// returns a non-nil error.
func (s *Server) ListenAndServe() error { return listenAndServe(s.Listen, s.Serve) }

// Addr returns the address of the first listener the server served or
// bound with Listen, or nil if there is none yet.
func (s *Server) Addr() net.Addr { return s.firstAddr() }

// Shutdown stops the server gracefully: it closes every listener at once,
// then lets each connection finish what it has read. Every byte or complete
// message the server has read is echoed back; then the server half-closes
// the connection, so the client reads EOF after the last reply, and closes
// it once the client has closed too (or after 2 s). Input that
// the server had not read when Shutdown began is not echoed. Shutdown
// returns nil when every connection is closed. If ctx ends first, it closes
// the remaining connections at once and returns ctx.Err(). After Shutdown,
// Serve returns [ErrServerClosed]; a Server cannot be restarted.
//
// A parked connection (see ParkAfter) gets a goroutine again at once and
// is half-closed and lingers as above: its client may be sending a request
// at that very moment.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	drained := s.beginShutdownLocked()
	lerr := s.closeSocketsLocked(closeAll)
	p := s.poller
	s.poller = nil
	for c := range s.conns {
		c.quit()
	}
	s.mu.Unlock()
	s.closeParked(p, true)
	return await(ctx, drained, lerr, s.closeConns)
}

// Close closes every listener and connection at once, without waiting for
// replies in flight; use [Server.Shutdown] to lose nothing. It returns the
// error, if any, of closing the listeners.
func (s *Server) Close() error {
	err := s.closeSockets()
	s.mu.Lock()
	p := s.poller
	s.poller = nil
	s.mu.Unlock()
	s.closeParked(p, false)
	s.closeConns()
	return err
}

// closeParked stops p, if any, and closes the connections parked in it.
// With graceful set (Shutdown, which has set every connection quitting),
// each is served again instead, and so half-closed and lingered as every
// other connection is: input may arrive at any moment, even after a check
// found none, and closing a socket with unread input would reset it, so
// that the client could lose the reply to a request already sent.
func (s *Server) closeParked(p *poller, graceful bool) {
	if p == nil {
		return
	}
	for _, c := range p.stop() {
		if graceful {
			go c.serve(false)
			continue
		}
		c.nc.Close()
		s.untrackConn(c)
	}
}

// Stats returns a snapshot of the server's counters. Each connection
// counts its own traffic, so Stats takes the lock that Accept and closing
// connections take and sums over the connections being served.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats.snapshot()
	if s.poller != nil {
		st.ParkedConns = int64(s.poller.count())
	}
	s.closedIO.addTo(&st)
	for c := range s.conns {
		c.traffic.addTo(&st)
	}
	return st
}

func (s *Server) logger() *slog.Logger { return loggerOr(s.Logger) }

// closeConns closes every connection at once. The handlers see net.ErrClosed
// and return, removing themselves.
func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
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
	switch s.trackConn(c) {
	case tracked:
		s.stats.total.Add(1)
		go c.serve(false)
	case overLimit:
		s.stats.rejected.Add(1)
		nc.Close()
		if n, ok := s.rejectLog.allow(); ok {
			s.logger().Warn("echo: connection limit reached; closing new connections",
				"max_conns", s.MaxConns, "rejected", n, "remote", peer(nc.RemoteAddr()))
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

// trackConn adds c to the connections Shutdown waits for. It fails past
// MaxConns, checked under the lock so that several Serve loops cannot
// overshoot it together, and once the server is shutting down: a
// connection Accept returned as the listener closed is closed unserved.
func (s *Server) trackConn(c *conn) int {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.enterLocked()
	s.stats.active.Add(1)
	return tracked
}

// untrackConn removes c, which has finished, and keeps its traffic. The
// last connection to go stops the poller, which has nothing to watch.
func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	s.stats.active.Add(-1)
	s.closedIO.merge(&c.traffic)
	if len(s.conns) == 0 && s.poller != nil {
		// Its loop takes no lock of the server's: waiting here is safe.
		s.poller.stop()
		s.poller = nil
	}
	s.leaveLocked()
}

// parkAfter returns ParkAfter with its default and floor applied.
func (s *Server) parkAfter() time.Duration {
	d := orDefault(s.ParkAfter, DefaultParkAfter)
	if d > 0 && d < minParkAfter {
		return minParkAfter
	}
	return d
}

// minParkAfter is the shortest ParkAfter. The deadline that parks a
// connection is set before each wait for input, and a deadline that has
// passed when the read is tried fails it untried: a shorter one could
// park a connection again and again without reading the input that woke
// it.
const minParkAfter = time.Millisecond

// park hands c, which has waited ParkAfter for input and released its
// run, to the poller, starting one if there is none. It reports false if
// c could not park and must be served on; after an error, c keeps its
// goroutine from then on.
func (s *Server) park(c *conn, rc syscall.RawConn, deadline time.Duration) bool {
	p, err := s.pollerFor()
	parked := false
	if p != nil {
		parked, err = p.park(c, rc, deadline)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) { // closed meanwhile: its read will say so
		c.noPark = true
		if n, ok := s.parkLog.allow(); ok {
			s.logger().Warn("echo: cannot park idle connections; they keep their goroutines",
				"err", err, "connections", n)
		}
	}
	return parked
}

// pollerFor returns the server's poller, starting one if there is none
// (or the one there failed); nil once the server is shutting down.
func (s *Server) pollerFor() (*poller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return nil, nil
	}
	if s.poller == nil || s.poller.failed() {
		p, err := newPoller(s)
		if err != nil {
			return nil, err
		}
		s.poller = p
	}
	return s.poller, nil
}
