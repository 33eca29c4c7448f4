package echo

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/framesock/framesock/dualstack"
)

// trackedPacketConn closes its socket once, however many of Serve,
// Shutdown and Close ask.
type trackedPacketConn struct {
	net.PacketConn
	served bool // guarded by PacketServer.mu
	once   sync.Once
	err    error
}

func (p *trackedPacketConn) Close() error {
	p.once.Do(func() { p.err = p.PacketConn.Close() })
	return p.err
}

// boundBy returns the wrapper Listen made for pc, or nil; see
// Server.boundBy.
func (s *PacketServer) boundBy(pc net.PacketConn) *trackedPacketConn {
	if t := reflect.TypeOf(pc); t == nil || !t.Comparable() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[pc]
}

func (s *PacketServer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// track registers tp so Shutdown and Close reach it, and counts it as
// served if serve is set. It fails once the server is shutting down.
func (s *PacketServer) track(tp *trackedPacketConn, serve bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return false
	}
	if s.pcs == nil {
		s.pcs = make(map[*trackedPacketConn]struct{})
	}
	s.pcs[tp] = struct{}{}
	if s.addr == nil {
		s.addr = tp.LocalAddr()
	}
	if serve {
		tp.served = true
		s.serving++
	}
	return true
}

func (s *PacketServer) untrack(tp *trackedPacketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pcs, tp)
	s.serving--
	if s.serving == 0 && s.servingDone != nil {
		select {
		case <-s.servingDone:
		default:
			close(s.servingDone)
		}
	}
}

func (s *PacketServer) beginShutdownLocked() {
	if s.inShutdown.Swap(true) {
		return
	}
	if s.done == nil {
		s.done = make(chan struct{})
	}
	close(s.done)
	s.servingDone = make(chan struct{})
	if s.serving == 0 {
		close(s.servingDone)
	}
}

func (s *PacketServer) maxDatagram() int {
	if s.MaxDatagramSize > 0 {
		return s.MaxDatagramSize
	}
	return DefaultMaxDatagramSize
}

// servePackets runs the batched loop where the platform has one, and the
// plain ReadFrom/WriteTo loop otherwise.
func (s *PacketServer) servePackets(pc net.PacketConn) error {
	// A dualstack.PacketConn on one socket is that socket's
	// *net.UDPConn underneath; serve it directly so it is batched too.
	// (With two sockets, its own goroutines read them: go through it.)
	if dp, ok := pc.(*dualstack.PacketConn); ok {
		if scs := dp.SyscallConns(); len(scs) == 1 {
			if uc, ok := scs[0].(*net.UDPConn); ok {
				pc = uc
			}
		}
	}
	if b := newBatcher(pc, s.maxDatagram()); b != nil {
		return b.run(s)
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
	for !s.inShutdown.Load() {
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
			s.drop(peer(from, ap), "datagram larger than MaxDatagramSize", n)
			continue
		}
		if err != nil {
			if !s.readFailed(err, &delay) {
				return err
			}
			continue
		}
		delay = 0
		s.io.bytesIn.Add(uint64(n))
		s.io.msgsIn.Add(1)
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
			s.drop(peer(from, ap), "reply not sent: "+err.Error(), len(reply))
			continue
		}
		s.sent(len(reply))
	}
	return ErrServerClosed
}

// peer returns from, or ap as a net.Addr, for logging.
func peer(from net.Addr, ap netip.AddrPort) net.Addr {
	if from != nil {
		return from
	}
	return net.UDPAddrFromAddrPort(ap)
}

func (s *PacketServer) sent(n int) {
	s.io.bytesOut.Add(uint64(n))
	s.io.msgsOut.Add(1)
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
					"remote", peer(from, ap), "panic", v, "stack", string(debug.Stack()), "events", n)
			}
			ok = false
		}
	}()
	return s.Transform(p), true
}

// drop counts and (at most once a second) logs a datagram not echoed.
func (s *PacketServer) drop(from net.Addr, why string, size int) {
	s.stats.dropped.Add(1)
	if n, log := s.dropLog.allow(); log {
		s.logger().Warn("echo: datagram dropped", "reason", why, "remote", from,
			"size", size, "max_datagram_size", s.maxDatagram(), "dropped", n)
	}
}

// readFailed decides what a read error means: the end of Serve on
// shutdown or a closed socket (false), or a pause and another read (true).
// A datagram socket has no connection to lose: an error such as
// ECONNREFUSED (Linux and Windows report an ICMP port unreachable, caused
// by an earlier reply, on a later call) or ENOBUFS concerns one datagram.
// The pause keeps an error that repeats from spinning the loop.
func (s *PacketServer) readFailed(err error, delay *time.Duration) bool {
	if s.inShutdown.Load() || errors.Is(err, net.ErrClosed) {
		return false
	}
	*delay = nextDelay(*delay)
	if n, log := s.errLog.allow(); log {
		s.logger().Error("echo: read failed; retrying", "err", err, "delay", *delay, "events", n)
	}
	s.mu.Lock()
	if s.done == nil {
		s.done = make(chan struct{})
	}
	done := s.done
	s.mu.Unlock()
	t := time.NewTimer(*delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done: // Shutdown or Close
		return false
	}
}

// noAddrPort stands for "peer given as a net.Addr" in reply and peer.
var noAddrPort netip.AddrPort
