package echo_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
)

// BenchmarkUDP: four clients keep 16 datagrams of 64 bytes each in flight
// against the server; one op is one datagram echoed, and dgrams/s is
// reported. The baseline is the plain ReadFrom/WriteTo loop. Each client's
// datagrams reach the server together, so the echo server's replies to
// one client leave as segmented sends (see PacketServer). The clients
// allocate nothing per datagram, so allocs/op is the server's.
func BenchmarkUDP(b *testing.B) { benchUDPServers(b, 4, 16) }

// BenchmarkUDPManyPeers: 64 clients with one datagram each in flight, so
// that a batch rarely holds two datagrams from one peer and the echo
// server's replies are not segmented: what batching alone gives.
func BenchmarkUDPManyPeers(b *testing.B) { benchUDPServers(b, 64, 1) }

func benchUDPServers(b *testing.B, clients, window int) {
	b.Run("server=echo", func(b *testing.B) {
		s := &echo.PacketServer{Address: "127.0.0.1:0"} // as the baseline
		pc, err := s.Listen(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); s.Serve(pc) }()
		benchUDP(b, pc.LocalAddr(), clients, window)
		s.Close()
		<-done
	})
	b.Run("server=baseline", func(b *testing.B) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 65536)
			for {
				n, addr, err := pc.ReadFrom(buf)
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				pc.WriteTo(buf[:n], addr)
			}
		}()
		benchUDP(b, pc.LocalAddr(), clients, window)
		pc.Close()
		<-done
	})
}

func benchUDP(b *testing.B, addr net.Addr, clients, window int) {
	b.SetBytes(64)
	b.ReportAllocs()
	var wg sync.WaitGroup
	var mu sync.Mutex
	lost := 0
	b.ResetTimer()
	for i := range clients {
		n := b.N / clients
		if i == 0 {
			n += b.N % clients
		}
		c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := udpClient(c, n, window)
			mu.Lock()
			lost += l
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dgrams/s")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
}

// udpClient gets n replies with window datagrams in flight. It sends a
// window with one segmented write (UDP_SEGMENT) where the kernel can, and
// reads replies in batches (recvmmsg on Linux), so that the client is not
// what limits the rate, and allocates nothing per datagram. It returns how
// many datagrams it sent again after a loss.
func udpClient(c *net.UDPConn, n, window int) (lost int) {
	r := newBatchReader(c, window, 2048)
	gso := segmentWrites(c, 64)
	window64 := bytes.Repeat(pattern[:64], window)
	send := func(k int) {
		if gso {
			c.Write(window64[:k*64]) // k datagrams; a failure shows as loss
			return
		}
		for range k {
			c.Write(pattern[:64])
		}
	}
	inFlight := min(window, n)
	send(inFlight)
	for got := 0; got < n; {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		k, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			lost += inFlight
			send(inFlight)
			continue
		}
		if err != nil {
			return lost
		}
		k = min(k, inFlight) // late replies to datagrams sent again
		got += k
		more := min(k, n-got-(inFlight-k))
		inFlight -= k
		if more > 0 {
			send(more)
			inFlight += more
		}
	}
	return lost
}
