package echo

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// queueLen is how many replies a batcher holds before it sends them: all
// those of one batch of reads, unless coalesced reads bring more, which
// then leave in several sendmmsg calls.
const queueLen = 256

// replyQueue sends replies in batches with sendmmsg(2), so a busy server
// makes one system call per batch of replies instead of one per datagram.
//
// Replies to one peer that follow each other leave as one message with
// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): the kernel
// carries them through its stack once and cuts them into the separate
// datagrams the peer receives, where each would otherwise make the whole
// trip alone. Segments must all have one size but the last, which may be
// shorter, so a run of equal replies is what coalesces.
type replyQueue struct {
	conn *mmsgConn
	runs []replyRun   // the messages queued, in order
	iov  []unix.Iovec // the replies queued, in order
	out  []mmsghdr    // one per run, made by flush
	ctrl []byte       // a UDP_SEGMENT control message per run
	one  [1]mmsghdr   // a reply sent on its own after a refusal

	// segMax is the largest reply coalesced; 0 turns coalescing off.
	// It starts at MaxDatagramSize where the kernel knows UDP_SEGMENT
	// and comes down when a segmented send is refused (see refused).
	segMax int
}

// replyRun is one message: replies to one peer, iov[first:first+n], sent as
// one segmented send if n > 1.
type replyRun struct {
	peer      netip.AddrPort
	name      *unix.RawSockaddrInet6 // the peer as recvmmsg wrote it
	namelen   uint32
	first, n  int
	seg, last int // sizes of the first and the last reply
}

func newReplyQueue(conn *mmsgConn, segMax int) *replyQueue {
	return &replyQueue{
		conn:   conn,
		runs:   make([]replyRun, 0, queueLen),
		iov:    make([]unix.Iovec, 0, queueLen),
		out:    make([]mmsghdr, queueLen),
		ctrl:   make([]byte, queueLen*segCtrlLen),
		segMax: segMax,
	}
}

func (q *replyQueue) full() bool { return len(q.iov) == cap(q.iov) }

// add queues reply to peer, whose address name holds until the queue is
// flushed; the queue must not be full. reply must stay untouched until
// then too.
func (q *replyQueue) add(reply []byte, peer netip.AddrPort, name *unix.RawSockaddrInet6, namelen uint32) {
	var v unix.Iovec
	if len(reply) > 0 {
		v.Base = &reply[0]
	}
	v.SetLen(len(reply))
	q.iov = append(q.iov, v)
	if k := len(q.runs); k > 0 && q.joins(&q.runs[k-1], len(reply), peer) {
		r := &q.runs[k-1]
		r.n++
		r.last = len(reply)
		return
	}
	q.runs = append(q.runs, replyRun{peer: peer, name: name, namelen: namelen,
		first: len(q.iov) - 1, n: 1, seg: len(reply), last: len(reply)})
}

// joins reports whether a reply of size bytes to peer can ride in r as
// one more segment: same peer, r's replies all of its first one's size,
// this one no longer and not empty, and the limits of one segmented send
// kept.
func (q *replyQueue) joins(r *replyRun, size int, peer netip.AddrPort) bool {
	return r.seg <= q.segMax && size > 0 && size <= r.seg && r.last == r.seg &&
		r.n < maxSegments && r.n*r.seg+size <= maxSegmentedLen && r.peer == peer
}

// flush sends the queued replies, continuing after a partial sendmmsg,
// and empties the queue. A message the kernel refuses is dropped, or, if
// it carried a run of segments, sent again one datagram at a time.
func (q *replyQueue) flush(s *PacketServer) error {
	k := len(q.runs)
	for i := range q.runs {
		q.message(i)
	}
	var err error
	for sent := 0; sent < k && err == nil; {
		var n int
		n, err = q.conn.send(q.out[sent:k])
		for i := range q.runs[sent : sent+n] {
			q.count(s, &q.runs[sent+i])
		}
		sent += n
		if n == 0 && err == nil {
			err = io.ErrNoProgress // sendmmsg(2) sends one message or fails
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			// sendmmsg reports an error only for the first message it
			// could not send (sendmmsg(2)); deal with that one, go on.
			err = q.refused(s, &q.runs[sent], err)
			sent++
		}
	}
	clear(q.iov) // let replies the transform allocated go
	q.iov, q.runs = q.iov[:0], q.runs[:0]
	return err
}

// message makes out[i], the header that sends runs[i].
func (q *replyQueue) message(i int) {
	r := &q.runs[i]
	h := &q.out[i].hdr
	*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(r.name)), Namelen: r.namelen, Iov: &q.iov[r.first]}
	h.SetIovlen(r.n)
	if r.n > 1 {
		ctrl := q.ctrl[i*segCtrlLen : (i+1)*segCtrlLen]
		putSegmentSize(ctrl, r.seg)
		h.Control = &ctrl[0]
		h.SetControllen(segCtrlLen)
	}
}

// count records a sent run's replies.
func (q *replyQueue) count(s *PacketServer, r *replyRun) {
	s.traffic.bytesOut.Add(uint64((r.n-1)*r.seg + r.last))
	s.traffic.msgsOut.Add(uint64(r.n))
	if r.n > 1 {
		s.segmented.Add(uint64(r.n))
	}
}

// refused handles a message sendmmsg did not send. A single reply is
// dropped. A segmented run is sent again one datagram at a time, after
// cutting segmentation back if the error was about it: EIO means the route
// cannot segment at all (no checksum offload: udp(7)), so it stops;
// EINVAL or EMSGSIZE (a segment longer than the path MTU allows, say)
// stops it for runs of this size and larger. Other errors concern the
// peer, not segmentation.
func (q *replyQueue) refused(s *PacketServer, r *replyRun, err error) error {
	if r.n == 1 {
		s.drop(nil, r.peer, "reply not sent", err, r.last)
		return nil
	}
	s.segRefused.Add(1)
	switch {
	case errors.Is(err, unix.EIO):
		q.segMax = 0
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EMSGSIZE):
		q.segMax = min(q.segMax, r.seg-1)
	}
	h := &q.one[0].hdr
	for i := r.first; i < r.first+r.n; i++ {
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(r.name)), Namelen: r.namelen, Iov: &q.iov[i]}
		h.SetIovlen(1)
		size := int(q.iov[i].Len)
		if _, err := q.conn.send(q.one[:]); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.drop(nil, r.peer, "reply not sent", err, size)
			continue
		}
		s.sent(size)
	}
	return nil
}
