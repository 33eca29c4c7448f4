package echo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// PacketServer is a UDP echo server: each datagram is answered with one
// datagram to its sender. Its zero value echoes datagrams of any size
// unchanged. On Linux it reads and writes batches of datagrams per system
// call (recvmmsg(2), sendmmsg(2)) and allocates nothing per datagram.
// Replies of one size to one peer that follow each other in a batch leave
// as one segmented send (UDP_SEGMENT, Linux 4.18), which the kernel cuts
// into separate datagrams again: the peer receives exactly what it would
// otherwise. Datagrams the kernel coalesces on the way in (UDP_GRO, Linux
// 5.0; a local peer's segmented sends arrive that way) are read together
// and each is echoed as its own datagram. Elsewhere it reads and writes
// one datagram per call. A PacketServer must not be copied after first
// use.
//
// The batched path takes the sockets of Listen (a dual-stack PacketConn
// through its one socket) and a *net.UDPConn given to Serve. Any other
// net.PacketConn, among them a *dualstack.PacketConn made elsewhere or
// one on two sockets, is served through its own ReadFrom and WriteTo, or
// their netip forms where it has them, which allocate nothing per
// datagram.
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
	// host is empty or a wildcard. Either way the server logs IPv4 peers
	// as a.b.c.d, never as the IPv4-mapped ::ffff:a.b.c.d that a
	// dual-stack socket reports.
	DualStack bool

	// Logger receives errors, panics and drops; nil means [slog.Default].
	Logger *slog.Logger

	lifecycle
	stats      counters
	traffic    traffic
	batchReads atomic.Uint64 // batched reads that returned datagrams (batch_linux.go)
	groReads   atomic.Uint64 // messages read that held coalesced datagrams
	segmented  atomic.Uint64 // replies sent in segmented runs
	segRefused atomic.Uint64 // segmented runs the kernel refused
	dropLog    rateLimit     // oversize datagrams and failed sends
	errLog     rateLimit     // read errors and transform panics
}

// Listen binds Network and Address (applying Options and DualStack) and
// returns the socket without serving it, so that a caller can read its
// address before calling [PacketServer.Serve]. The socket is tracked until
// Serve has served it or it is closed: Shutdown and Close close it even if
// Serve is never called. It is a *net.UDPConn, or with DualStack a
// *dualstack.PacketConn; Serve batches on it where the platform can, on a
// dual-stack PacketConn when it has one socket.
func (s *PacketServer) Listen(ctx context.Context) (net.PacketConn, error) {
	return listen[net.PacketConn](&s.lifecycle, func() (*socket, error) {
		return listenPacket(ctx, s.Network, s.Address, s.DualStack, s.Options)
	})
}

// Serve reads datagrams from pc and echoes each to its sender, until
// Shutdown or Close or a read error it cannot get past. It always returns a
// non-nil error and closes pc: [ErrServerClosed] after Shutdown or Close.
// Errors that concern one datagram (an ICMP error reported for an earlier
// reply, ENOBUFS) are logged, at most once a second, and reading goes on
// after a pause that starts at 5 ms and doubles up to 1 s.
func (s *PacketServer) Serve(pc net.PacketConn) error {
	return s.run(pc, pc.LocalAddr(), true, func(k *socket) error { return s.servePackets(pc, k.batch) })
}

// ListenAndServe calls [PacketServer.Listen] and then [PacketServer.Serve].
// It always returns a non-nil error.
func (s *PacketServer) ListenAndServe() error { return listenAndServe(s.Listen, s.Serve) }

// Addr returns the local address of the first socket served or bound with
// Listen, or nil if there is none yet.
func (s *PacketServer) Addr() net.Addr { return s.firstAddr() }

// Shutdown stops reading at once, sends the replies to every datagram
// already read, closes the sockets and waits for every Serve to return. If
// ctx ends first, it closes the sockets at once and returns ctx.Err(); a
// reply being sent then may be lost. After Shutdown, Serve returns
// [ErrServerClosed].
func (s *PacketServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	drained := s.beginShutdownLocked()
	for k := range s.sockets {
		if k.serving {
			// Wake the reader; Serve closes the socket when its loop
			// has sent the replies it owes.
			k.c.(net.PacketConn).SetReadDeadline(aLongTimeAgo)
		}
	}
	err := s.closeSocketsLocked(func(k *socket) bool { return !k.serving })
	s.mu.Unlock()
	return await(ctx, drained, err, func() { s.Close() })
}

// Close closes the sockets at once. It returns the errors, if any, of
// closing them.
func (s *PacketServer) Close() error { return s.closeSockets() }

// Stats returns a snapshot of the server's counters.
func (s *PacketServer) Stats() Stats {
	st := s.stats.snapshot()
	s.traffic.addTo(&st)
	return st
}

func (s *PacketServer) logger() *slog.Logger { return loggerOr(s.Logger) }

func (s *PacketServer) maxDatagram() int {
	if s.MaxDatagramSize > 0 {
		return s.MaxDatagramSize
	}
	return DefaultMaxDatagramSize
}

// servePackets runs the batched loop where the platform has one, on uc
// (the socket Listen recorded) or on pc itself if it is a *net.UDPConn,
// and otherwise the plain loop through pc's own methods. Only net's own
// type is taken as a socket to batch on: a type that embeds one could
// override ReadFrom or WriteTo, which batching would bypass.
func (s *PacketServer) servePackets(pc net.PacketConn, uc *net.UDPConn) error {
	if uc == nil {
		uc, _ = pc.(*net.UDPConn)
	}
	if uc != nil {
		if b := newBatcher(uc, s.maxDatagram()); b != nil {
			return b.run(s)
		}
	}
	return s.plainLoop(pc)
}

// addrPortConn is the allocation-free datagram API that *net.UDPConn and
// *dualstack.PacketConn share.
type addrPortConn interface {
	ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error)
}

// plainLoop echoes one datagram per system call each way. The buffer is
// one byte larger than MaxDatagramSize so that a datagram that does not
// fit is seen as oversize, whether or not the platform reports truncation
// (Windows fails the read with WSAEMSGSIZE; Unix silently cuts it).
func (s *PacketServer) plainLoop(pc net.PacketConn) error {
	max := s.maxDatagram()
	buf := make([]byte, max+1)
	uc, _ := pc.(addrPortConn)
	var delay time.Duration
	for !s.shuttingDown() {
		var (
			n    int
			ap   netip.AddrPort // peer, when uc != nil
			from net.Addr       // peer, otherwise
			err  error
		)
		// The netip forms allocate nothing per datagram.
		if uc != nil {
			n, ap, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, from, err = pc.ReadFrom(buf)
		}
		if n > max {
			s.drop(from, ap, "datagram larger than MaxDatagramSize", nil, n)
			continue
		}
		if err != nil {
			if !s.readFailed(err, &delay) {
				return err
			}
			continue
		}
		delay = 0
		s.traffic.bytesIn.Add(uint64(n))
		s.traffic.msgsIn.Add(1)
		reply, ok := s.reply(buf[:n], from, ap)
		if !ok {
			continue
		}
		if uc != nil {
			_, err = uc.WriteToUDPAddrPort(reply, ap)
		} else {
			_, err = pc.WriteTo(reply, from)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.drop(from, ap, "reply not sent", err, len(reply))
			continue
		}
		s.sent(len(reply))
	}
	return ErrServerClosed
}

// remoteOf is the sender of a datagram as echo logs it (see peer): from,
// or ap if from is nil.
func remoteOf(from net.Addr, ap netip.AddrPort) any {
	if from != nil {
		return peer(from)
	}
	return peerAddrPort(ap)
}

func (s *PacketServer) sent(n int) {
	s.traffic.bytesOut.Add(uint64(n))
	s.traffic.msgsOut.Add(1)
}

// reply runs the transform on one datagram, turning a panic into a drop.
func (s *PacketServer) reply(p []byte, from net.Addr, ap netip.AddrPort) (out []byte, ok bool) {
	if s.Transform == nil {
		return p, true
	}
	defer func() {
		if v := recover(); v != nil {
			s.stats.panics.Add(1)
			s.stats.dropped.Add(1)
			if n, log := s.errLog.allow(); log {
				s.logger().Error("echo: transform panicked; datagram dropped",
					"remote", remoteOf(from, ap), "panic", v, "stack", string(debug.Stack()), "events", n)
			}
			ok = false
		}
	}()
	return s.Transform(p), true
}

// drop counts and (at most once a second) logs a datagram not echoed,
// from from or, if from is nil, ap, and why, with err if there is one.
func (s *PacketServer) drop(from net.Addr, ap netip.AddrPort, why string, err error, size int) {
	s.stats.dropped.Add(1)
	if n, log := s.dropLog.allow(); log {
		args := []any{"reason", why, "remote", remoteOf(from, ap),
			"size", size, "max_datagram_size", s.maxDatagram(), "dropped", n}
		if err != nil {
			args = append(args, "err", err)
		}
		s.logger().Warn("echo: datagram dropped", args...)
	}
}

// readFailed decides what a read error means: the end of Serve on
// shutdown or a closed socket (false), or a pause and another read (true).
// A datagram socket has no connection to lose: an error such as
// ECONNREFUSED (Linux and Windows report an ICMP port unreachable, caused
// by an earlier reply, on a later call) or ENOBUFS concerns one datagram.
// The pause keeps an error that repeats from spinning the loop.
func (s *PacketServer) readFailed(err error, delay *time.Duration) bool {
	if s.shuttingDown() || errors.Is(err, net.ErrClosed) {
		return false
	}
	*delay = nextDelay(*delay)
	if n, log := s.errLog.allow(); log {
		s.logger().Error("echo: read failed; retrying", "err", err, "delay", *delay, "events", n)
	}
	return s.pause(*delay)
}
