package echo

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// batchSize is how many messages one recvmmsg(2) reads at most. 32
// buffers of 64 KiB are 2 MiB per served socket, allocated when Serve
// starts; beyond 32 the calls per second saved are few.
const batchSize = 32

// batcher echoes datagrams in batches: one recvmmsg reads up to batchSize
// messages, and sendmmsg sends their replies (replyQueue), so a busy
// server makes two system calls per batch instead of two per datagram,
// and allocates nothing per datagram. Where the kernel coalesces
// datagrams (UDP_GRO), a message holds several, each echoed on its own;
// their replies, of one size to one peer, leave as one segmented send.
type batcher struct {
	conn  *mmsgConn
	q     *replyQueue
	max   int  // MaxDatagramSize
	gro   bool // UDP_GRO is on: a message may hold several datagrams
	zones zoneNames

	// Traffic read and not yet added to the server's counters, which
	// are added to once per batch.
	inBytes, inMsgs uint64
}

func newBatcher(uc *net.UDPConn, maxSize int) *batcher {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	b := &batcher{max: maxSize, gro: enableGRO(rc)}
	// Each buffer is one byte longer than MaxDatagramSize so an oversize
	// datagram is seen even where MSG_TRUNC is not reported, and holds
	// a whole coalesced read where the kernel coalesces.
	bufLen, ctrlLen := maxSize+1, 0
	if b.gro {
		bufLen, ctrlLen = max(bufLen, groBufLen), groCtrlLen
	}
	b.conn = newMmsgConn(rc, batchSize, bufLen, ctrlLen)
	segMax := 0
	if knowsSegmentation(uc) {
		segMax = maxSize
	}
	b.q = newReplyQueue(b.conn, segMax)
	return b
}

func (b *batcher) run(s *PacketServer) error {
	var delay time.Duration
	for !s.shuttingDown() {
		n, err := b.conn.recv()
		if err != nil {
			if !s.readFailed(err, &delay) {
				return err
			}
			continue
		}
		delay = 0
		s.batchReads.Add(1)
		for i := range n {
			if err := b.serve(s, i); err != nil {
				return err
			}
		}
		if err := b.flush(s); err != nil {
			return err
		}
	}
	return ErrServerClosed
}

// serve echoes message i of the last read: one datagram, or each of the
// datagrams the kernel coalesced into it.
func (b *batcher) serve(s *PacketServer, i int) error {
	p, flags, ctrl := b.conn.message(i)
	name, namelen := b.conn.sender(i)
	peer := b.zones.addrPort(name)
	seg := len(p)
	if b.gro {
		if flags&unix.MSG_CTRUNC != 0 {
			// The UDP_GRO message may be among those cut off, and
			// with it where each datagram ends.
			s.drop(nil, peer, "control messages truncated", nil, len(p))
			return nil
		}
		if g := groSegmentSize(ctrl); g > 0 && g < len(p) {
			seg = g
			s.groReads.Add(1)
		}
	}
	// recvmmsg sets MSG_TRUNC in msg_flags when the message was longer
	// than the buffer (recvmsg(2)); the length check catches a datagram
	// that filled the extra byte. Only the last datagram of a read can
	// be cut.
	truncated := flags&unix.MSG_TRUNC != 0
	for off := 0; ; {
		// Capped, so that a transform that appends to its datagram
		// cannot write over the next one.
		end := min(off+seg, len(p))
		d := p[off:end:end]
		off = end
		last := off == len(p)
		if len(d) > b.max || truncated && last {
			s.drop(nil, peer, "datagram larger than MaxDatagramSize", nil, len(d))
		} else if err := b.echo(s, d, peer, name, namelen); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// echo queues the reply to one datagram d from peer, whose address name
// holds, sending the queue first if it is full.
func (b *batcher) echo(s *PacketServer, d []byte, peer netip.AddrPort, name *unix.RawSockaddrInet6, namelen uint32) error {
	b.inBytes += uint64(len(d))
	b.inMsgs++
	reply, ok := s.reply(d, nil, peer)
	if !ok {
		return nil
	}
	if b.q.full() {
		if err := b.flush(s); err != nil {
			return err
		}
	}
	b.q.add(reply, peer, name, namelen)
	return nil
}

// flush counts what was read and sends the replies queued.
func (b *batcher) flush(s *PacketServer) error {
	s.traffic.bytesIn.Add(b.inBytes)
	s.traffic.msgsIn.Add(b.inMsgs)
	b.inBytes, b.inMsgs = 0, 0
	return b.q.flush(s)
}
