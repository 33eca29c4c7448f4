package echo_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"golang.org/x/sys/unix"
)

// TestPacketServerSegments: runs of replies to one peer leave as segmented
// sends (UDP_SEGMENT), and every peer still receives each reply as its own
// datagram, in order, of its own size. The datagrams are queued before
// Serve starts, so that its first recvmmsg reads them all in one batch.
func TestPacketServerSegments(t *testing.T) {
	t.Parallel()
	// Which client sends each datagram, and its size. Runs that coalesce:
	// a's six (five of 1000 bytes and a shorter last one), a's two of
	// 1000 after them, b's three, a's two of 300; the empty datagram
	// goes alone, as does anything across a change of peer.
	type dgram struct {
		from string
		size int
	}
	plan := []dgram{
		{"a", 1000}, {"a", 1000}, {"a", 1000}, {"a", 1000}, {"a", 1000}, {"a", 400},
		{"a", 1000}, {"a", 1000},
		{"b", 1000}, {"b", 1000}, {"b", 1000},
		{"a", 300}, {"a", 300},
		{"b", 0},
		{"a", 50}, {"b", 50}, {"a", 50},
	}
	const wantSegmented = 6 + 2 + 3 + 2

	tests := []struct {
		name    string
		s       *echo.PacketServer
		host    string // the clients'
		refuse  bool   // make the kernel refuse segmentation on the socket
		segment bool   // expect segmented runs
	}{
		{name: "udp4", s: &echo.PacketServer{Network: "udp4", Address: "127.0.0.1:0"}, host: "127.0.0.1", segment: true},
		{name: "udp6", s: &echo.PacketServer{Network: "udp6", Address: "[::1]:0"}, host: "::1", segment: true},
		{name: "dual-stack, IPv4 clients", s: &echo.PacketServer{Address: ":0", DualStack: true}, host: "127.0.0.1", segment: true},
		// SO_NO_CHECK (no UDP checksums) makes Linux refuse every
		// segmented send with EINVAL: each run is sent again datagram by
		// datagram.
		{name: "refused", s: &echo.PacketServer{Network: "udp4", Address: "127.0.0.1:0"}, host: "127.0.0.1", refuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.s
			pc, err := s.Listen(context.Background())
			if err != nil && tt.host != "127.0.0.1" {
				t.Skipf("skipping, IPv6 unavailable: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			var uc *net.UDPConn
			switch pc := pc.(type) {
			case *dualstack.PacketConn:
				if uc = pc.UDPConn(); uc == nil {
					t.Skipf("skipping: dual-stack in mode %v, not on one socket", pc.Mode())
				}
			case *net.UDPConn:
				uc = pc
			default:
				t.Fatalf("Listen returned %T", pc)
			}
			if !echo.KnowsSegmentation(uc) {
				t.Log("kernel without UDP_SEGMENT: expecting no segmented runs")
				tt.segment = false
			}
			if tt.refuse {
				if err := setsockoptInt(uc, unix.SOL_SOCKET, unix.SO_NO_CHECK, 1); err != nil {
					t.Fatal(err)
				}
			}
			clients := twoClients(t, tt.host, pc.LocalAddr())
			// Each datagram is filled with its index in plan, so a
			// reply shows which request it answers.
			want := map[string][][]byte{}
			for i, d := range plan {
				p := bytes.Repeat([]byte{byte('A' + i)}, d.size)
				if _, err := clients[d.from].Write(p); err != nil {
					t.Fatal(err)
				}
				want[d.from] = append(want[d.from], p)
			}

			served := make(chan error, 1)
			go func() { served <- s.Serve(pc) }()
			defer func() {
				shutdown(t, s)
				<-served
			}()
			expectReplies(t, clients, want)
			// A client can read a reply before the sendmmsg that sent
			// it has returned and been counted.
			segmented := uint64(0)
			if tt.segment {
				segmented = wantSegmented
			}
			waitFor(t, fmt.Sprintf("%d replies counted, %d of them in segmented runs", len(plan), segmented), func() bool {
				return s.Stats().MessagesOut == uint64(len(plan)) && echo.SegmentedReplies(s) == segmented
			})
			if st := s.Stats(); st.Dropped != 0 {
				t.Errorf("%d datagrams dropped, want 0", st.Dropped)
			}
			// They were queued before Serve began, so a batched read
			// returned several of them.
			if reads := echo.BatchReads(s); reads == 0 || reads >= uint64(len(plan)) {
				t.Errorf("%d datagrams came in %d batched reads, want fewer reads than datagrams, and some", len(plan), reads)
			}
			// All four runs of the one batch were formed before the
			// first was refused.
			if got := echo.SegmentRefusals(s); tt.refuse && got != 4 {
				t.Errorf("%d segmented runs refused, want 4", got)
			}
		})
	}
}

// twoClients dials clients "a" and "b" from host to the port of addr,
// closed when t ends.
func twoClients(t *testing.T, host string, addr net.Addr) map[string]*net.UDPConn {
	t.Helper()
	port := addr.(*net.UDPAddr).Port
	clients := map[string]*net.UDPConn{}
	for _, name := range []string{"a", "b"} {
		c, err := net.Dial("udp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients[name] = c.(*net.UDPConn)
	}
	return clients
}

// expectReplies reads each client's replies and checks them against
// want's, in order.
func expectReplies(t *testing.T, clients map[string]*net.UDPConn, want map[string][][]byte) {
	t.Helper()
	buf := make([]byte, 65536)
	for name, c := range clients {
		for i, w := range want[name] {
			c.SetReadDeadline(time.Now().Add(testTimeout))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("client %s, reply %d: %v", name, i, err)
			}
			if !bytes.Equal(buf[:n], w) {
				t.Fatalf("client %s, reply %d: %d bytes %.8q, want %d bytes %.8q", name, i, n, buf[:n], len(w), w)
			}
		}
	}
}
