package echo

import (
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one recvmmsg(2) or sendmmsg(2) moves at
// most. 32 buffers of 64 KiB are 2 MiB per served socket, allocated when
// Serve starts; beyond 32 the calls per second saved are few.
const batchSize = 32

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share: their
// Message types are both aliases of x/net's internal socket.Message.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// Limits of one segmented send (UDP_SEGMENT in udp(7); udp_send_skb in
// Linux's net/ipv4/udp.c): at most 64 segments, and all of them must fit
// in one IPv4 datagram's payload.
const (
	maxSegments     = 64
	maxSegmentedLen = 65507
)

// batcher echoes datagrams in batches: one recvmmsg reads up to batchSize,
// and sendmmsg sends their replies, so a busy server makes two system calls
// per batch instead of two per datagram.
//
// Replies to one peer that follow each other in a batch leave as one
// message with UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18):
// the kernel carries them through its stack once and cuts them into the
// separate datagrams the peer receives, where each would otherwise make
// the whole trip alone. Segments must all have one size but the last,
// which may be shorter, so a run of equal replies is what coalesces.
type batcher struct {
	bc      batchConn
	max     int
	in, out []ipv4.Message
	replies [batchSize][]byte // in order; each out message holds a run of them
	oob     []byte            // batchSize control messages of oobLen bytes

	// segMax is the largest reply coalesced; 0 turns coalescing off.
	// It starts at max where the kernel knows UDP_SEGMENT and comes down
	// when a segmented send is refused (see refused).
	segMax int
}

// oobLen is the size of one UDP_SEGMENT control message: a uint16.
var oobLen = unix.CmsgSpace(2)

func newBatcher(uc *net.UDPConn, max int) *batcher {
	b := &batcher{max: max}
	// The ipv4 and ipv6 wrappers differ only in the socket options they
	// offer; pick the one that matches the socket's family. Either one
	// sends to an IPv4-mapped peer of a dual-stack socket correctly:
	// x/net writes that address as a sockaddr_in, which Linux's
	// udpv6_sendmsg accepts on a socket that is not IPV6_V6ONLY.
	if socketFamily(uc) == unix.AF_INET6 {
		b.bc = ipv6.NewPacketConn(uc)
	} else {
		b.bc = ipv4.NewPacketConn(uc)
	}
	// One slab for every buffer. Each is one byte longer than max so an
	// oversize datagram is seen even where MSG_TRUNC is not reported.
	slab := make([]byte, batchSize*(max+1))
	b.in = make([]ipv4.Message, batchSize)
	b.out = make([]ipv4.Message, batchSize)
	for i := range b.in {
		b.in[i].Buffers = [][]byte{slab[i*(max+1) : (i+1)*(max+1) : (i+1)*(max+1)]}
	}
	if knowsSegmentation(uc) {
		b.segMax = max
		b.oob = make([]byte, batchSize*oobLen)
	}
	return b
}

// knowsSegmentation reports whether the kernel has UDP_SEGMENT. It must
// be asked: a kernel older than 4.18 ignores a control message of a level
// it does not know, and would send a run of replies as one datagram.
func knowsSegmentation(uc syscall.Conn) bool {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		_, gerr = unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return false
	}
	return gerr == nil
}

// socketFamily returns SO_DOMAIN (socket(7)), or AF_INET if it cannot.
func socketFamily(uc *net.UDPConn) int {
	rc, err := uc.SyscallConn()
	if err != nil {
		return unix.AF_INET
	}
	family := unix.AF_INET
	rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			family = v
		}
	})
	return family
}

func (b *batcher) run(s *PacketServer) error {
	var delay time.Duration
	for !s.shuttingDown() {
		n, err := b.bc.ReadBatch(b.in, 0)
		if err != nil {
			if !s.readFailed(err, &delay) {
				return err
			}
			continue
		}
		delay = 0
		s.batchReads.Add(1)
		k, r := 0, 0 // messages and replies queued
		for i := range b.in[:n] {
			m := &b.in[i]
			// recvmmsg sets MSG_TRUNC in msg_flags when the datagram was
			// longer than the buffer (recvmsg(2)); the length check
			// catches a datagram that filled the extra byte.
			if m.N > b.max || m.Flags&unix.MSG_TRUNC != 0 {
				s.drop(m.Addr, noAddrPort, "datagram larger than MaxDatagramSize", m.N)
				continue
			}
			s.traffic.bytesIn.Add(uint64(m.N))
			s.traffic.msgsIn.Add(1)
			reply, ok := s.reply(m.Buffers[0][:m.N], m.Addr, noAddrPort)
			if !ok {
				continue
			}
			b.replies[r] = reply
			r++
			if k > 0 && b.joins(&b.out[k-1], reply, m.Addr) {
				last := &b.out[k-1]
				last.Buffers = last.Buffers[:len(last.Buffers)+1]
				continue
			}
			b.out[k].Buffers = b.replies[r-1 : r]
			b.out[k].Addr = m.Addr
			k++
		}
		if err := b.send(s, k); err != nil {
			return err
		}
	}
	return ErrServerClosed
}

// joins reports whether reply, for addr, can ride in m as one more
// segment: same peer, m's replies all of its first one's size, reply no
// longer and not empty, and the limits of one segmented send kept.
func (b *batcher) joins(m *ipv4.Message, reply []byte, addr net.Addr) bool {
	seg, n := len(m.Buffers[0]), len(m.Buffers)
	return seg <= b.segMax && len(reply) > 0 && len(reply) <= seg &&
		len(m.Buffers[n-1]) == seg && n < maxSegments &&
		n*seg+len(reply) <= maxSegmentedLen && sameAddr(m.Addr, addr)
}

func sameAddr(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	return ok1 && ok2 && ua.Port == ub.Port && ua.Zone == ub.Zone && ua.IP.Equal(ub.IP)
}

// send writes the k messages queued in b.out, continuing after a partial
// sendmmsg. A message the kernel refuses is dropped, or, if it carried a
// run of segments, sent again one datagram at a time.
func (b *batcher) send(s *PacketServer, k int) error {
	for i := range b.out[:k] {
		m := &b.out[i]
		m.OOB = nil
		if len(m.Buffers) > 1 {
			m.OOB = segmentOOB(b.oob[i*oobLen:(i+1)*oobLen], len(m.Buffers[0]))
		}
	}
	for sent := 0; sent < k; {
		n, err := b.bc.WriteBatch(b.out[sent:k], 0)
		n = max(n, 0) // x/net passes on sendmmsg's -1 when the first message fails
		for i := range b.out[sent : sent+n] {
			b.count(s, &b.out[sent+i])
		}
		sent += n
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// sendmmsg reports an error only for the first message it
			// could not send (sendmmsg(2)); deal with that one, go on.
			if sent < k {
				if err := b.refused(s, &b.out[sent], err); err != nil {
					return err
				}
				sent++
			}
		}
	}
	clear(b.replies[:]) // let replies the transform allocated go
	for i := range b.out[:k] {
		b.out[i].Buffers, b.out[i].OOB, b.out[i].Addr = nil, nil, nil
	}
	return nil
}

// count records a sent message's replies.
func (b *batcher) count(s *PacketServer, m *ipv4.Message) {
	for _, p := range m.Buffers {
		s.sent(len(p))
	}
	if len(m.Buffers) > 1 {
		s.segmented.Add(uint64(len(m.Buffers)))
	}
}

// refused handles a message sendmmsg did not send. A single reply is
// dropped. A segmented run is sent again one datagram at a time, after
// cutting segmentation back if the error was about it: EIO means the route
// cannot segment at all (no checksum offload: udp(7)), so it stops;
// EINVAL or EMSGSIZE (a segment longer than the path MTU allows, say)
// stops it for runs of this size and larger. Other errors concern the
// peer, not segmentation.
func (b *batcher) refused(s *PacketServer, m *ipv4.Message, err error) error {
	if len(m.Buffers) == 1 {
		s.drop(m.Addr, noAddrPort, "reply not sent: "+err.Error(), len(m.Buffers[0]))
		return nil
	}
	s.segRefused.Add(1)
	switch {
	case errors.Is(err, unix.EIO):
		b.segMax = 0
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EMSGSIZE):
		b.segMax = min(b.segMax, len(m.Buffers[0])-1)
	}
	one := []ipv4.Message{{Addr: m.Addr}}
	for _, p := range m.Buffers {
		one[0].Buffers = [][]byte{p}
		if _, err := b.bc.WriteBatch(one, 0); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.drop(m.Addr, noAddrPort, "reply not sent: "+err.Error(), len(p))
			continue
		}
		s.sent(len(p))
	}
	return nil
}

// segmentOOB writes into oob the control message that asks for segments
// of size bytes, and returns it.
func segmentOOB(oob []byte, size int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	return oob
}
