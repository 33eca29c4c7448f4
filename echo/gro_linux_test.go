package echo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"golang.org/x/sys/unix"
)

// TestPacketServerGRO: datagrams a client sends as one segmented write
// (UDP_SEGMENT) reach a server with UDP_GRO as one read, and each is still
// a request of its own: its own reply, transformed on its own (a
// transform that appends to its datagram does not run into the next), in
// order;
// one larger than MaxDatagramSize is dropped and counted, the others of
// its read echoed; the replies to one read leave as one segmented send.
// Where the kernel refuses UDP_GRO (asked here for an option it does not
// know), it delivers them one by one, with the same replies. Not
// parallel: the refusal is set through a package variable.
func TestPacketServerGRO(t *testing.T) {
	// Writes of two clients: each a segment size and the sizes of its
	// datagrams (all that size but the last, as UDP_SEGMENT cuts them).
	// Consecutive writes come from different clients, so that runs of
	// replies form within one write only, however the server's reads
	// fall.
	type write struct {
		from  string
		seg   int
		sizes []int
	}
	plan := []write{
		{"a", 100, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 37}},
		{"b", 64, []int{64, 64, 64}},
		{"a", 1200, []int{1200, 1200, 1200, 500}}, // three over MaxDatagramSize
		{"b", 64, []int{20}},                      // one datagram: no segments
		{"a", 1000, []int{1000, 1000, 1000, 1000, 1000}},
	}
	const (
		maxSize        = 1100
		wantDropped    = 3
		wantCoalesced  = 4 // writes of more than one datagram
		wantSegmented  = 11 + 3 + 5
		wantDatagrams  = 1 + 11 + 3 + 4 + 1 + 5 // a ping first
		wantReplies    = wantDatagrams - wantDropped
		refusedOptName = 0x7fff // no SOL_UDP option has this number
	)

	upperDot := func(p []byte) []byte { return append(echo.Upper(p), '.') }

	tests := []struct {
		name    string
		network string // the server's
		address string
		dual    bool
		host    string // the clients'
		refuse  bool
	}{
		{name: "udp4", network: "udp4", address: "127.0.0.1:0", host: "127.0.0.1"},
		{name: "udp6", network: "udp6", address: "[::1]:0", host: "::1"},
		{name: "dual-stack, IPv4 clients", address: ":0", dual: true, host: "127.0.0.1"},
		{name: "UDP_GRO refused", network: "udp4", address: "127.0.0.1:0", host: "127.0.0.1", refuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.refuse {
				defer echo.SetGROOption(refusedOptName)()
			}
			logger, _ := newLogger()
			s := &echo.PacketServer{Network: tt.network, Address: tt.address, DualStack: tt.dual,
				MaxDatagramSize: maxSize, Transform: upperDot, Logger: logger}
			pc, err := s.Listen(context.Background())
			if err != nil && tt.host == "::1" {
				t.Skipf("skipping, IPv6 unavailable: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if dp, ok := pc.(*dualstack.PacketConn); ok && dp.UDPConn() == nil {
				pc.Close()
				t.Skipf("skipping: dual-stack in mode %v, not on one socket", dp.Mode())
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(pc) }()
			defer func() {
				shutdown(t, s)
				<-served
			}()
			clients := twoClients(t, tt.host, pc.LocalAddr())
			// The server turns UDP_GRO on before it reads: once a reply
			// has come, datagrams sent arrive coalesced.
			buf := make([]byte, 65536)
			if _, err := udpRoundTrip(clients["a"], []byte("ping"), []byte("PING."), nil, buf); err != nil {
				t.Fatal(err)
			}
			// Each datagram is filled with its own letter, lower case,
			// so a reply shows which request it answers and that it
			// went through the transform on its own.
			want := map[string][][]byte{}
			letter := byte('a')
			for i, w := range plan {
				c := clients[w.from]
				if !segmentWrites(c, w.seg) {
					t.Skip("skipping: the kernel has no UDP_SEGMENT")
				}
				var p []byte
				for _, size := range w.sizes {
					d := bytes.Repeat([]byte{letter}, size)
					letter = 'a' + (letter-'a'+1)%26
					p = append(p, d...)
					if size <= maxSize {
						want[w.from] = append(want[w.from], upperDot(bytes.Clone(d)))
					}
				}
				if _, err := c.Write(p); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			expectReplies(t, clients, want)
			// A client can read a reply before the sendmmsg that sent
			// it has returned and been counted. Without UDP_GRO, where
			// the server's reads end within a write decides the runs.
			waitFor(t, fmt.Sprintf("%d replies counted, %d in segmented runs", wantReplies, wantSegmented), func() bool {
				return s.Stats().MessagesOut == wantReplies && (tt.refuse || echo.SegmentedReplies(s) == wantSegmented)
			})
			st := s.Stats()
			if st.MessagesIn != wantDatagrams-wantDropped || st.Dropped != wantDropped {
				t.Errorf("%d datagrams in, %d dropped; want %d, %d", st.MessagesIn, st.Dropped, wantDatagrams-wantDropped, wantDropped)
			}
			coalesced := uint64(wantCoalesced)
			if tt.refuse {
				coalesced = 0
			}
			if got := echo.GROReads(s); got != coalesced {
				t.Errorf("%d reads held coalesced datagrams, want %d", got, coalesced)
			}
		})
	}
}

// TestGROSegmentSize: the segment size of a coalesced read is found among
// its control messages, and malformed ones yield none (the read is taken
// as one datagram).
func TestGROSegmentSize(t *testing.T) {
	t.Parallel()
	cmsg := func(level, typ int32, data ...byte) []byte {
		b := make([]byte, unix.CmsgSpace(len(data)))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(unix.CmsgLen(len(data)))
		copy(b[unix.CmsgLen(0):], data)
		return b
	}
	gro := cmsg(unix.SOL_UDP, unix.UDP_GRO, binary.NativeEndian.AppendUint32(nil, 1200)...)
	timestamp := cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, make([]byte, 16)...)
	tests := []struct {
		name string
		ctrl []byte
		want int
	}{
		{name: "none", ctrl: nil, want: 0},
		{name: "UDP_GRO", ctrl: gro, want: 1200},
		{name: "after a timestamp", ctrl: append(append([]byte{}, timestamp...), gro...), want: 1200},
		{name: "another only", ctrl: timestamp, want: 0},
		{name: "cut short", ctrl: gro[:unix.CmsgLen(0)+2], want: 0},
		{name: "length beyond the buffer", ctrl: func() []byte {
			b := append([]byte{}, gro...)
			(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(len(b) + 8)
			return b
		}(), want: 0},
		{name: "length below a header", ctrl: func() []byte {
			b := append([]byte{}, gro...)
			(*unix.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(4)
			return b
		}(), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := echo.GROSegmentSize(tt.ctrl); got != tt.want {
				t.Errorf("segment size %d, want %d", got, tt.want)
			}
		})
	}
}
