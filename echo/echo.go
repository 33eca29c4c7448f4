package echo

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framesock/framesock/frame"
	"github.com/framesock/framesock/sockopt"
)

// ErrServerClosed is returned by the Serve and ListenAndServe methods of
// [Server] and [PacketServer] after a call to Shutdown or Close, and by
// Listen on a server that has been shut down.
var ErrServerClosed = errors.New("echo: server closed")

// Defaults applied when the corresponding [Server] or [PacketServer] field is
// zero. A negative timeout disables the limit instead.
const (
	// DefaultIdleTimeout is the [Server.IdleTimeout] used when it is zero.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultWriteTimeout is the [Server.WriteTimeout] used when it is zero.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxDatagramSize is the [PacketServer.MaxDatagramSize] used when
	// it is not positive: more than any UDP payload can be (65,507 bytes
	// over IPv4, 65,527 over IPv6 without jumbograms), so by default no
	// datagram is too large.
	DefaultMaxDatagramSize = 65535
)

// A Transform computes the reply to one unit of input: a chunk of a raw
// stream (as the kernel delivered it: chunk boundaries carry no meaning), a
// whole framed message, or a whole datagram.
//
// p is owned by the server and valid only during the call; the transform may
// rewrite it in place and return it (or a sub-slice), which costs no
// allocation, or return another slice, which the server writes before calling
// the transform again on the same connection. A nil return sends an empty
// reply. A Transform is called concurrently from many connections.
//
// For a [PacketServer], which reads and answers datagrams in batches, a
// returned slice must stay untouched until the batch is sent: return p,
// part of it, or fresh memory, not a buffer the transform reuses.
//
// On a raw stream a transform should be byte-wise (each output byte depends on
// one input byte, as [Upper]'s does), because the stream is cut into chunks
// wherever reads happen to end.
//
// A panic in a Transform closes the connection it ran for (for UDP: drops the
// datagram) and is logged with its stack; the server keeps serving.
type Transform func(p []byte) []byte

// Upper upper-cases the ASCII letters of p in place and returns p: the same
// bytes Python's bytes.upper() returns. Bytes outside 'a'..'z', UTF-8 included,
// are left alone, so the reply has the length of the request.
func Upper(p []byte) []byte {
	// Eight bytes at a time (SWAR). For each byte b, with h = b&0x7f:
	// h+0x1f sets bit 7 when h >= 'a', h+0x05 sets it when h > 'z'; no sum
	// carries into the next byte. Clearing bytes whose own bit 7 is set
	// (not ASCII) leaves bit 7 set exactly for 'a'..'z', and shifted to
	// bit 5 (0x20) it flips those letters to upper case. Random bytes
	// would make a per-byte branch mispredict one time in ten.
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		h := w &^ high
		lower := (h + (0x80-'a')*ones) &^ (h + (0x80-'z'-1)*ones) &^ w & high
		binary.LittleEndian.PutUint64(p[i:], w^lower>>2)
	}
	for ; i < len(p); i++ {
		// c-'a' wraps around for c < 'a', so one comparison covers the range.
		if c := p[i]; c-'a' < 26 {
			p[i] = c - ('a' - 'A')
		}
	}
	return p
}

// Stats is a snapshot of a server's counters; see [Server.Stats] and
// [PacketServer.Stats]. Counters only grow, except ActiveConns.
type Stats struct {
	// ActiveConns is the number of connections being served now.
	ActiveConns int64
	// TotalConns counts connections accepted and served.
	TotalConns uint64
	// RejectedConns counts connections closed at once because MaxConns
	// were being served.
	RejectedConns uint64
	// BytesIn and BytesOut count payload bytes read and written: stream bytes
	// (framed: headers included) or datagram payloads.
	BytesIn, BytesOut uint64
	// MessagesIn and MessagesOut count framed messages or datagrams read and
	// echoed. Raw streams have no messages and leave them at zero.
	MessagesIn, MessagesOut uint64
	// Dropped counts datagrams received but not echoed: larger than
	// MaxDatagramSize (truncated by the kernel), or whose transform panicked
	// or whose reply could not be sent.
	Dropped uint64
	// AcceptErrors counts failed Accept calls that were retried.
	AcceptErrors uint64
	// Panics counts transform panics.
	Panics uint64
	// Timeouts counts connections closed by IdleTimeout or WriteTimeout.
	Timeouts uint64
}

// TB is the part of [testing.TB] that [Start] and [StartPacket] use.
// *testing.T, *testing.B and *testing.F satisfy it. Taking this small
// interface, as go.uber.org/goleak's TestingT does, keeps package testing
// and its command-line flags out of programs that import echo.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// counters are a server's live statistics other than traffic, updated
// atomically and read by Stats.
type counters struct {
	active              atomic.Int64
	total, rejected     atomic.Uint64
	dropped, acceptErrs atomic.Uint64
	panics, timeouts    atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		ActiveConns:   c.active.Load(),
		TotalConns:    c.total.Load(),
		RejectedConns: c.rejected.Load(),
		Dropped:       c.dropped.Load(),
		AcceptErrors:  c.acceptErrs.Load(),
		Panics:        c.panics.Load(),
		Timeouts:      c.timeouts.Load(),
	}
}

// ioCounts are traffic counters: a PacketServer's, and each TCP
// connection's own, written by its goroutine alone, so that serving a
// request touches no cache line that other connections write;
// Server.Stats sums them.
type ioCounts struct {
	bytesIn, bytesOut, msgsIn, msgsOut atomic.Uint64
}

// merge adds o's counts to c's.
func (c *ioCounts) merge(o *ioCounts) {
	c.bytesIn.Add(o.bytesIn.Load())
	c.bytesOut.Add(o.bytesOut.Load())
	c.msgsIn.Add(o.msgsIn.Load())
	c.msgsOut.Add(o.msgsOut.Load())
}

// addTo adds c's counts to st's.
func (c *ioCounts) addTo(st *Stats) {
	st.BytesIn += c.bytesIn.Load()
	st.BytesOut += c.bytesOut.Load()
	st.MessagesIn += c.msgsIn.Load()
	st.MessagesOut += c.msgsOut.Load()
}

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
	// server, such as [frame.WithHeader] for a header other than the 4-byte
	// big-endian default.
	FrameOptions []frame.Option

	// MaxMessageSize is the largest framed message accepted; zero means
	// [frame.DefaultMaxSize] (16 MiB). A header claiming more closes the
	// connection, with a warning logged, before any payload is read or
	// buffered.
	// It overrides any [frame.WithMaxSize] in FrameOptions.
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

	// Options are socket options for the listener and every connection,
	// each set in the phase where it takes effect (see package sockopt):
	// for example sockopt.ReusePort(true) before bind, or
	// sockopt.NoDelay(false) on each accepted connection. Listen fails if
	// an option fails or the platform lacks it.
	Options []sockopt.Option

	// DualStack makes Listen serve IPv4 and IPv6 clients on one port
	// through [dualstack.Listen] when Network is "tcp" and Address's host
	// is empty or a wildcard, and report IPv4 peers unmapped (127.0.0.1,
	// not ::ffff:127.0.0.1). Without it, Listen behaves as [net.Listen].
	DualStack bool

	// Logger receives connection errors, transform panics, accept retries
	// and rejections; nil means [slog.Default].
	Logger *slog.Logger

	inShutdown atomic.Bool // set once by Shutdown or Close
	stats      counters
	rejectLog  rateLimit

	mu        sync.Mutex
	addr      net.Addr // of the first listener tracked
	listeners map[*trackedListener]struct{}
	bound     map[net.Listener]*trackedListener // by Listen, for Serve
	conns     map[*conn]struct{}
	closedIO  ioCounts      // traffic of the connections no longer in conns
	done      chan struct{} // closed by Shutdown and Close: ends Accept pauses
	connsDone chan struct{} // closed when shutting down and no conn is left
}

// Listen binds Network and Address (applying Options and DualStack) and
// returns the listener without serving it, so that a caller can read its
// address before calling [Server.Serve]. The listener is tracked: Shutdown
// and Close close it even if Serve is never called. After Shutdown or
// Close, Listen returns [ErrServerClosed].
func (s *Server) Listen(ctx context.Context) (net.Listener, error) {
	network := s.Network
	if network == "" {
		network = "tcp"
	}
	return s.listen(ctx, network, s.Address, s.DualStack)
}

func (s *Server) listen(ctx context.Context, network, address string, dual bool) (net.Listener, error) {
	if s.shuttingDown() {
		return nil, ErrServerClosed
	}
	l, err := listenStream(ctx, network, address, dual, s.Options)
	if err != nil {
		return nil, err
	}
	tl := &trackedListener{Listener: l}
	if !s.trackListener(tl, true) {
		tl.Close()
		return nil, ErrServerClosed
	}
	s.mu.Lock()
	if s.bound == nil {
		s.bound = make(map[net.Listener]*trackedListener)
	}
	s.bound[l] = tl
	s.mu.Unlock()
	// The caller gets the listener itself, not the wrapper, so that it
	// keeps its type: a *dualstack.Listener's Mode, a socket to read
	// options from.
	return l, nil
}

// Serve accepts connections on l and serves each in its own goroutine. It
// always returns a non-nil error and closes l: [ErrServerClosed] after
// Shutdown or Close, otherwise the Accept error that stopped it (a listener
// closed elsewhere, or broken). Accept errors that pass with time, such as EMFILE when the process runs out of file
// descriptors, are logged and retried after a pause that starts at 5 ms and
// doubles up to 1 s, as net/http.Server does; the pause ends early on
// Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	tl := s.boundBy(l)
	if tl == nil {
		tl = &trackedListener{Listener: l}
	}
	defer tl.Close()
	if !s.trackListener(tl, true) {
		return ErrServerClosed
	}
	defer s.trackListener(tl, false)

	var delay time.Duration // how long to pause after an Accept error
	for {
		nc, err := tl.Accept()
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
func (s *Server) ListenAndServe() error {
	l, err := s.Listen(context.Background())
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Addr returns the address of the first listener the server served or
// bound with Listen, or nil if there is none yet.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops the server gracefully: it closes every listener at once,
// then lets each connection finish what it has read. Every byte or complete
// message the server has read is echoed back; then the server half-closes
// the connection, so the client reads EOF after the last reply, and closes
// it once the client has closed too (or after 2 s). Input that
// the server had not read when Shutdown began is not echoed. Shutdown
// returns nil when every connection is closed. If ctx ends first, it closes
// the remaining connections at once and returns ctx.Err(). After Shutdown,
// Serve returns [ErrServerClosed]; a Server cannot be restarted.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.beginShutdownLocked()
	lerr := s.closeListenersLocked()
	for c := range s.conns {
		c.quit()
	}
	done := s.connsDone
	s.mu.Unlock()

	select {
	case <-done:
		return lerr
	case <-ctx.Done():
		s.closeConns()
		return ctx.Err()
	}
}

// Close closes every listener and connection at once, without waiting for
// replies in flight; use [Server.Shutdown] to lose nothing. It returns the
// error, if any, of closing the listeners.
func (s *Server) Close() error {
	s.mu.Lock()
	s.beginShutdownLocked()
	err := s.closeListenersLocked()
	s.mu.Unlock()
	s.closeConns()
	return err
}

// Stats returns a snapshot of the server's counters. Each connection
// counts its own traffic, so Stats takes the lock that Accept and closing
// connections take and sums over the connections being served.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats.snapshot()
	s.closedIO.addTo(&st)
	for c := range s.conns {
		c.io.addTo(&st)
	}
	return st
}

// PacketServer is a UDP echo server: each datagram is answered with one
// datagram to its sender. Its zero value echoes datagrams of any size
// unchanged. On Linux it reads and writes batches of datagrams per system
// call (recvmmsg(2), sendmmsg(2)), and replies of one size to one peer that
// follow each other in a batch leave as one segmented send (UDP_SEGMENT,
// Linux 4.18), which the kernel cuts into separate datagrams again: the
// peer receives exactly what it would otherwise. Elsewhere it reads and
// writes one datagram per call. A PacketServer must not be copied after
// first use.
type PacketServer struct {
	// Network is "udp" (the zero value), "udp4" or "udp6", used by Listen.
	Network string

	// Address is the address Listen and ListenAndServe bind; "" picks a
	// free port on every interface. Read the bound address with
	// [PacketServer.Addr].
	Address string

	// MaxDatagramSize is the largest datagram payload echoed; zero means
	// [DefaultMaxDatagramSize], which no UDP datagram can exceed. A larger
	// datagram is dropped (never echoed truncated), counted in
	// Stats.Dropped and logged at most once a second.
	MaxDatagramSize int

	// Transform computes each reply; nil echoes datagrams unchanged.
	Transform Transform

	// Options are socket options for the socket (see package sockopt),
	// such as sockopt.ReadBuffer to absorb bursts; Listen fails if one
	// fails or the platform lacks it.
	Options []sockopt.Option

	// DualStack makes Listen serve IPv4 and IPv6 clients on one port
	// through [dualstack.ListenPacket] when Network is "udp" and Address's
	// host is empty or a wildcard.
	DualStack bool

	// Logger receives errors, panics and drops; nil means [slog.Default].
	Logger *slog.Logger

	inShutdown atomic.Bool
	stats      counters
	io         ioCounts
	segmented  atomic.Uint64 // replies sent in segmented runs (udp_linux.go)
	segRefused atomic.Uint64 // segmented runs the kernel refused
	dropLog    rateLimit     // oversize datagrams and failed sends
	errLog     rateLimit     // read errors and transform panics

	mu          sync.Mutex
	addr        net.Addr
	pcs         map[*trackedPacketConn]struct{}
	bound       map[net.PacketConn]*trackedPacketConn // by Listen, for Serve
	serving     int                                   // Serve loops running
	done        chan struct{}                         // closed by Shutdown and Close: ends read-error pauses
	servingDone chan struct{}                         // closed when shutting down and serving is 0
}

// Listen binds Network and Address (applying DualStack) and returns the
// socket without serving it, so that a caller can read its address before
// calling [PacketServer.Serve]. Shutdown and Close close it even if Serve is
// never called.
func (s *PacketServer) Listen(ctx context.Context) (net.PacketConn, error) {
	network := s.Network
	if network == "" {
		network = "udp"
	}
	return s.listen(ctx, network, s.Address, s.DualStack)
}

func (s *PacketServer) listen(ctx context.Context, network, address string, dual bool) (net.PacketConn, error) {
	if s.inShutdown.Load() {
		return nil, ErrServerClosed
	}
	pc, err := listenPacket(ctx, network, address, dual, s.Options)
	if err != nil {
		return nil, err
	}
	tp := &trackedPacketConn{PacketConn: pc}
	if !s.track(tp, false) {
		tp.Close()
		return nil, ErrServerClosed
	}
	s.mu.Lock()
	if s.bound == nil {
		s.bound = make(map[net.PacketConn]*trackedPacketConn)
	}
	s.bound[pc] = tp
	s.mu.Unlock()
	return pc, nil // itself, not the wrapper: see Server.listen
}

// Serve reads datagrams from pc and echoes each to its sender, until
// Shutdown or Close or a read error it cannot get past. It always returns a
// non-nil error and closes pc: [ErrServerClosed] after Shutdown or Close.
// Errors that concern one datagram (an ICMP error reported for an earlier
// reply, ENOBUFS) are logged, at most once a second, and reading goes on
// after a pause that starts at 5 ms and doubles up to 1 s.
func (s *PacketServer) Serve(pc net.PacketConn) error {
	tp := s.boundBy(pc)
	if tp == nil {
		tp = &trackedPacketConn{PacketConn: pc}
	}
	defer tp.Close()
	if !s.track(tp, true) {
		return ErrServerClosed
	}
	defer s.untrack(tp)
	err := s.servePackets(tp.PacketConn)
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	return err
}

// ListenAndServe calls [PacketServer.Listen] and then [PacketServer.Serve].
// It always returns a non-nil error.
func (s *PacketServer) ListenAndServe() error {
	pc, err := s.Listen(context.Background())
	if err != nil {
		return err
	}
	return s.Serve(pc)
}

// Addr returns the local address of the first socket served or bound with
// Listen, or nil if there is none yet.
func (s *PacketServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops reading at once, sends the replies to every datagram
// already read, closes the sockets and waits for every Serve to return. If
// ctx ends first, it closes the sockets at once and returns ctx.Err(); a
// reply being sent then may be lost. After Shutdown, Serve returns
// [ErrServerClosed].
func (s *PacketServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.beginShutdownLocked()
	for tp := range s.pcs {
		if tp.served {
			// Wake the reader; Serve closes the socket when its loop
			// has sent the replies it owes.
			tp.SetReadDeadline(aLongTimeAgo)
		} else {
			tp.Close()
		}
	}
	done := s.servingDone
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes the sockets at once. It returns the first error, if any, of
// closing them.
func (s *PacketServer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beginShutdownLocked()
	var errs []error
	for tp := range s.pcs {
		if err := tp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns a snapshot of the server's counters.
func (s *PacketServer) Stats() Stats {
	st := s.stats.snapshot()
	s.io.addTo(&st)
	return st
}

// Start serves s on an ephemeral loopback port ("127.0.0.1:0"; "[::1]:0"
// when Network is "tcp6" or IPv4 loopback is missing) in a new goroutine and
// returns the bound address, ready for dialing: the listener exists before
// Start returns. s.Address and s.DualStack are ignored. tb.Cleanup shuts the
// server down and waits for Serve to return, reporting through tb.Errorf a
// connection the test left open past a 10 s grace; call s.Shutdown or
// s.Close to stop it sooner. Start calls tb.Fatalf if it cannot listen.
func Start(tb TB, s *Server) net.Addr {
	tb.Helper()
	network := s.Network
	if network == "" {
		network = "tcp"
	}
	var l net.Listener
	err := forLoopback(network, "tcp", func(address string) (err error) {
		l, err = s.listen(context.Background(), network, address, false)
		return err
	})
	if err != nil {
		tb.Fatalf("echo: Start: %v", err)
		return nil
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	tb.Cleanup(func() { stopForTest(tb, s.Shutdown, served) })
	return l.Addr()
}

// StartPacket is [Start] for a [PacketServer].
func StartPacket(tb TB, s *PacketServer) net.Addr {
	tb.Helper()
	network := s.Network
	if network == "" {
		network = "udp"
	}
	var pc net.PacketConn
	err := forLoopback(network, "udp", func(address string) (err error) {
		pc, err = s.listen(context.Background(), network, address, false)
		return err
	})
	if err != nil {
		tb.Fatalf("echo: StartPacket: %v", err)
		return nil
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()
	tb.Cleanup(func() { stopForTest(tb, s.Shutdown, served) })
	return pc.LocalAddr()
}
