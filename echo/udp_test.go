package echo_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
)

// maxUDP is the largest payload of a UDP datagram over IPv4: 65,535 bytes
// of IP datagram minus a 20-byte IP header and an 8-byte UDP header.
const maxUDP = 65507

// udpRoundTrip sends p and waits for a reply equal to want, sending again
// after a silence (UDP may drop either datagram; the kernel drops when a
// receive buffer is full). It returns how many sends it took.
func udpRoundTrip(c *net.UDPConn, p, want, prev []byte, buf []byte) (int, error) {
	const tries = 50
	for try := 1; try <= tries; try++ {
		if _, err := c.Write(p); err != nil {
			return try, err
		}
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		for {
			n, err := c.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // lost: send again
			}
			if err != nil {
				return try, err
			}
			switch {
			case bytes.Equal(buf[:n], want):
				return try, nil
			case prev != nil && bytes.Equal(buf[:n], prev):
				// A late reply to the previous datagram, sent twice.
			default:
				return try, fmt.Errorf("reply of %d bytes is neither Upper(request) (%d bytes) nor a late duplicate", n, len(want))
			}
		}
	}
	return tries, fmt.Errorf("no reply after %d sends", tries)
}

// TestLoadUDP runs 50 clients at once, each sending 200 datagrams of 1 B
// to 65,507 bytes (the IPv4 maximum), and checks every reply byte and
// length: nothing is truncated.
func TestLoadUDP(t *testing.T) {
	const clients = 50
	msgs := loadScale(200)
	s := &echo.PacketServer{Transform: echo.Upper}
	addr := echo.StartPacket(t, s)
	var g group
	for id := range clients {
		c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		g.Go(func() error {
			r := rand.New(rand.NewPCG(7, uint64(id)))
			buf := make([]byte, maxUDP+1)
			var prev []byte
			for i := range msgs {
				n := 1 + r.IntN(maxUDP)
				if i == 0 {
					n = maxUDP // the largest always goes through
				}
				off := r.IntN(len(pattern) - n)
				want := upperPattern[off : off+n]
				if _, err := udpRoundTrip(c, pattern[off:off+n], want, prev, buf); err != nil {
					return fmt.Errorf("client %d datagram %d: %w", id, i, err)
				}
				prev = want
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.MessagesOut < clients*uint64(msgs) || st.Dropped != 0 {
		t.Errorf("stats: %d echoed, %d dropped; want at least %d echoed and none dropped", st.MessagesOut, st.Dropped, clients*msgs)
	}
	t.Logf("%d datagrams echoed (%d sent more than once), %.1f MB", st.MessagesOut, st.MessagesOut-clients*uint64(msgs), float64(st.BytesOut)/1e6)
}
