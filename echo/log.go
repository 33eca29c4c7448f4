package echo

import (
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/framesock/framesock/dualstack"
)

// loggerOr returns l, or slog.Default if l is nil.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

// peer is how echo logs a client's address: a [netip.AddrPort] with an
// IPv4-mapped address (::ffff:a.b.c.d, as a dual-stack socket reports
// IPv4 peers) unmapped, whichever socket, path or platform it came
// through, so that one IPv4 client has one name in every line, and a
// handler that marshals values (slog.JSONHandler) prints it as
// "a.b.c.d:port". An address without an IP and port, such as a Unix
// socket's, is logged as it is.
func peer(a net.Addr) any {
	if ap, ok := dualstack.AddrPort(a); ok {
		return ap
	}
	return a
}

// peerAddrPort is peer for an address read as a netip.AddrPort.
func peerAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
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
