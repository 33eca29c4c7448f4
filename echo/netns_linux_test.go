package echo_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/internal/netnstest"
)

// netnsEnv names the scenario a re-executed test binary runs inside a
// network namespace of its own (internal/netnstest).
const netnsEnv = "ECHO_TEST_NETNS"

// TestPacketServerSegmentsMTU: on a path whose MTU is smaller than a
// run's datagrams, Linux refuses the segmented send (a segment must fit
// the MTU; over lo this kernel says EMSGSIZE, udp_send_skb EINVAL where it
// gets that far). The server then sends that run datagram by
// datagram, stops segmenting runs of that size, and keeps segmenting
// smaller ones. It runs in a network namespace whose lo has an MTU of
// 1500, as an Ethernet path would.
func TestPacketServerSegmentsMTU(t *testing.T) {
	if os.Getenv(netnsEnv) != "" {
		runMTUScenario(t)
		return
	}
	netnstest.Run(t, netnsEnv, "lo-mtu-1500")
}

func runMTUScenario(t *testing.T) {
	netnstest.SetLinkUp(t, "lo")
	netnstest.SetMTU(t, "lo", 1500)
	s := &echo.PacketServer{Network: "udp4", Address: "127.0.0.1:0"}
	pc, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !echo.KnowsSegmentation(pc.(*net.UDPConn)) {
		t.Skip("skipping: the kernel has no UDP_SEGMENT")
	}
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(size, count int, fill byte) [][]byte {
		var sent [][]byte
		for i := range count {
			p := bytes.Repeat([]byte{fill + byte(i)}, size)
			if _, err := c.Write(p); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, p)
		}
		return sent
	}
	expect := func(want [][]byte) {
		t.Helper()
		buf := make([]byte, 4096)
		for i, w := range want {
			c.SetReadDeadline(time.Now().Add(testTimeout))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
			if !bytes.Equal(buf[:n], w) {
				t.Fatalf("reply %d: %d bytes %.8q, want %d bytes %.8q", i, n, buf[:n], len(w), w)
			}
		}
	}

	// One batch, read at once when Serve starts: a run of 1000-byte
	// datagrams (segmented), then a run of 2000-byte ones (over the MTU:
	// refused, sent one by one). In the other order the first 1000-byte
	// datagram would join the 2000-byte run as its shorter last segment.
	want := append(send(1000, 4, 'a'), send(2000, 4, 'A')...)
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()
	defer func() {
		shutdown(t, s)
		<-served
	}()
	expect(want)
	waitFor(t, "8 replies, 4 of them segmented", func() bool {
		return s.Stats().MessagesOut == 8 && echo.SegmentedReplies(s) == 4
	})
	// Runs of 2000 bytes are no longer tried: these leave one by one
	// without a refusal, and no more replies are segmented.
	expect(send(2000, 4, 'K'))
	waitFor(t, "12 replies", func() bool { return s.Stats().MessagesOut == 12 })
	if got := echo.SegmentedReplies(s); got != 4 {
		t.Errorf("%d replies segmented, want 4", got)
	}
	if got := echo.SegmentRefusals(s); got != 1 {
		t.Errorf("%d segmented runs refused, want 1: runs of a refused size were tried again", got)
	}
	if st := s.Stats(); st.Dropped != 0 {
		t.Errorf("%d datagrams dropped, want 0", st.Dropped)
	}
}
