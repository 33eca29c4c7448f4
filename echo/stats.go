package echo

import "sync/atomic"

// Stats is a snapshot of a server's counters; see [Server.Stats] and
// [PacketServer.Stats]. Counters only grow, except ActiveConns.
type Stats struct {
	// ActiveConns is the number of connections being served now.
	ActiveConns int64
	// ParkedConns is how many of them are parked (see
	// [Server.ParkAfter]): waiting for input without a goroutine.
	ParkedConns int64
	// Parks counts the times connections parked; each was woken, cut or
	// closed afterwards.
	Parks uint64
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

// counters are a server's live statistics other than traffic, updated
// atomically and read by Stats.
type counters struct {
	active              atomic.Int64
	parks               atomic.Uint64
	total, rejected     atomic.Uint64
	dropped, acceptErrs atomic.Uint64
	panics, timeouts    atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		ActiveConns:   c.active.Load(),
		Parks:         c.parks.Load(),
		TotalConns:    c.total.Load(),
		RejectedConns: c.rejected.Load(),
		Dropped:       c.dropped.Load(),
		AcceptErrors:  c.acceptErrs.Load(),
		Panics:        c.panics.Load(),
		Timeouts:      c.timeouts.Load(),
	}
}

// traffic counts bytes and messages: a PacketServer's, and each TCP
// connection's own, written by its goroutine alone, so that serving a
// request touches no cache line that other connections write;
// Server.Stats sums them.
type traffic struct {
	bytesIn, bytesOut, msgsIn, msgsOut atomic.Uint64
}

// merge adds o's counts to c's.
func (c *traffic) merge(o *traffic) {
	c.bytesIn.Add(o.bytesIn.Load())
	c.bytesOut.Add(o.bytesOut.Load())
	c.msgsIn.Add(o.msgsIn.Load())
	c.msgsOut.Add(o.msgsOut.Load())
}

// addTo adds c's counts to st's.
func (c *traffic) addTo(st *Stats) {
	st.BytesIn += c.bytesIn.Load()
	st.BytesOut += c.bytesOut.Load()
	st.MessagesIn += c.msgsIn.Load()
	st.MessagesOut += c.msgsOut.Load()
}
