package echo

import (
	"errors"
	"net"
	"time"

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

// batcher echoes datagrams in batches: one recvmmsg reads up to batchSize,
// and sendmmsg sends their replies, so a busy server makes two system calls
// per batch instead of two per datagram.
type batcher struct {
	bc      batchConn
	max     int
	in, out []ipv4.Message
	outBufs [batchSize][1][]byte
}

func newBatcher(pc net.PacketConn, max int) *batcher {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
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
	return b
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
	for !s.inShutdown.Load() {
		n, err := b.bc.ReadBatch(b.in, 0)
		if err != nil {
			if !s.readFailed(err, &delay) {
				return err
			}
			continue
		}
		delay = 0
		k := 0
		for i := range b.in[:n] {
			m := &b.in[i]
			// recvmmsg sets MSG_TRUNC in msg_flags when the datagram was
			// longer than the buffer (recvmsg(2)); the length check
			// catches a datagram that filled the extra byte.
			if m.N > b.max || m.Flags&unix.MSG_TRUNC != 0 {
				s.drop(m.Addr, "datagram larger than MaxDatagramSize", m.N)
				continue
			}
			s.stats.bytesIn.Add(uint64(m.N))
			s.stats.msgsIn.Add(1)
			reply, ok := s.reply(m.Buffers[0][:m.N], m.Addr, noAddrPort)
			if !ok {
				continue
			}
			b.outBufs[k][0] = reply
			b.out[k].Buffers = b.outBufs[k][:]
			b.out[k].Addr = m.Addr
			k++
		}
		if err := b.send(s, k); err != nil {
			return err
		}
	}
	return ErrServerClosed
}

// send writes the k replies queued in b.out, continuing after a partial
// sendmmsg and skipping (as a drop) a reply the kernel refuses.
func (b *batcher) send(s *PacketServer, k int) error {
	for sent := 0; sent < k; {
		n, err := b.bc.WriteBatch(b.out[sent:k], 0)
		for _, m := range b.out[sent : sent+n] {
			s.sent(len(m.Buffers[0]))
		}
		sent += n
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// sendmmsg reports an error only for the first message it
			// could not send (sendmmsg(2)); drop that one and go on.
			if sent < k {
				s.drop(b.out[sent].Addr, "reply not sent: "+err.Error(), len(b.out[sent].Buffers[0]))
				sent++
			}
		}
	}
	for i := range b.out[:k] {
		b.outBufs[i][0] = nil // let replies the transform allocated go
		b.out[i].Addr = nil
	}
	return nil
}
