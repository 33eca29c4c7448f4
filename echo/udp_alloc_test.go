package echo_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
)

// TestPacketServerAllocs: in steady state, serving datagrams allocates
// nothing: not the reads, not the peers' addresses, not the replies. The
// client allocates nothing either (connected Write, batched reads), so
// testing.AllocsPerRun, which counts the whole process, counts the
// server's allocations. Each run echoes a window of 64 datagrams; one
// allocation per datagram would count 64. Not parallel: other tests'
// allocations would count too.
func TestPacketServerAllocs(t *testing.T) {
	const window, size = 64, 64
	tests := []struct {
		name      string
		segmented bool // one segmented write per window, which Linux delivers coalesced (UDP_GRO)
		transform echo.Transform
	}{
		{name: "one datagram per write"},
		{name: "one datagram per write, Upper", transform: echo.Upper},
		{name: "segmented writes", segmented: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &echo.PacketServer{Network: "udp4", Transform: tt.transform}
			addr := echotest.StartPacket(t, s)
			c, err := net.DialUDP("udp4", nil, addr.(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.segmented && !segmentWrites(c, size) {
				t.Skip("skipping: no UDP_SEGMENT on this platform")
			}
			req := pattern[:window*size]
			want := req
			if tt.transform != nil {
				want = upper(req)
			}
			r := newBatchReader(c, window, 2048)
			roundTrip := func() {
				if tt.segmented {
					if _, err := c.Write(req); err != nil {
						t.Fatal(err)
					}
				} else {
					for i := range window {
						if _, err := c.Write(req[i*size : (i+1)*size]); err != nil {
							t.Fatal(err)
						}
					}
				}
				// A loss fails the test: a window of small datagrams
				// fits every socket buffer on the way.
				c.SetReadDeadline(time.Now().Add(testTimeout))
				for got := 0; got < window; {
					n, err := r.Read()
					if err != nil {
						t.Fatalf("after %d of %d replies: %v", got, window, err)
					}
					for i := range n {
						if w := want[(got+i)*size : (got+i+1)*size]; !bytes.Equal(r.Datagram(i), w) {
							t.Fatalf("reply %d: %q, want %q", got+i, r.Datagram(i), w)
						}
					}
					got += n
				}
			}
			roundTrip() // the server's buffers are allocated when it starts
			if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
				t.Errorf("%v allocations per %d datagrams echoed, want 0", allocs, window)
			}
		})
	}
}
