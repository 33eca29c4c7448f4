package echo_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
)

// Each benchmark runs the echo server and, beside it in the same
// benchmark, a baseline: the plain goroutine-per-connection echo loop a Go
// programmer would write by hand. Compare them with benchstat; see
// BENCHMARKS.md for the commands and figures.

// server is what a benchmark runs against: an address and a stop func.
type benchServer struct {
	addr net.Addr
	stop func()
}

// startEcho serves s on 127.0.0.1, where the baselines listen too: the
// zero Address would bind [::] and the clients would then measure IPv6
// loopback against the baselines' IPv4.
func startEcho(b *testing.B, s *echo.Server) benchServer {
	s.Address = "127.0.0.1:0"
	l, err := s.Listen(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	return benchServer{addr: l.Addr(), stop: func() { s.Close(); <-done }}
}

// startBaseline serves l with handle, one goroutine per connection, and
// stops by closing the listener and every connection.
func startBaseline(b *testing.B, handle func(net.Conn)) benchServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	return benchServer{addr: l.Addr(), stop: func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}}
}

// baselineRaw is the hand-written raw echo: read into a buffer, write it.
func baselineRaw(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// baselineFramed is the hand-written framed echo: a bufio.Reader so small
// messages cost one read, io.ReadFull for header and payload, and one
// write per reply.
func baselineFramed(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 4+64<<10)
	for {
		if _, err := io.ReadFull(r, buf[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(buf[:4]))
		if n > len(buf)-4 {
			return
		}
		if _, err := io.ReadFull(r, buf[4:4+n]); err != nil {
			return
		}
		if _, err := c.Write(buf[:4+n]); err != nil {
			return
		}
	}
}

var pingPongCases = []struct {
	name  string
	conns int
}{
	{"conns=1", 1},
	{"conns=32", 32},
}

// BenchmarkTCPPingPong: 64-byte requests, each waiting for its reply, on
// 1 and 32 connections. One op is one round trip; req/s is reported.
func BenchmarkTCPPingPong(b *testing.B) {
	for _, cc := range pingPongCases {
		b.Run("server=echo/"+cc.name, func(b *testing.B) {
			benchPingPong(b, startEcho(b, &echo.Server{}), cc.conns, false)
		})
		b.Run("server=baseline/"+cc.name, func(b *testing.B) {
			benchPingPong(b, startBaseline(b, baselineRaw), cc.conns, false)
		})
	}
}

// BenchmarkFramedPingPong is BenchmarkTCPPingPong with 64-byte framed
// messages.
func BenchmarkFramedPingPong(b *testing.B) {
	for _, cc := range pingPongCases {
		b.Run("server=echo/"+cc.name, func(b *testing.B) {
			benchPingPong(b, startEcho(b, &echo.Server{Framed: true}), cc.conns, true)
		})
		b.Run("server=baseline/"+cc.name, func(b *testing.B) {
			benchPingPong(b, startBaseline(b, baselineFramed), cc.conns, true)
		})
	}
}

// BenchmarkPingPongParked prices parking: the client pauses 2 ms (twice
// ParkAfter) before each 64-byte request, so that with ParkAfter set
// every round trip begins with the poller waking the connection, against
// the same server and pacing never parking. One connection, raw and
// framed. Only the round trips are timed (ns/op), not the pauses; run it
// under strace -c -f to count the system calls a park and a wake add.
func BenchmarkPingPongParked(b *testing.B) {
	const pause = 2 * time.Millisecond
	for _, framed := range []bool{false, true} {
		for _, p := range []struct {
			name string
			park time.Duration
		}{{"parks", pause / 2}, {"never", -1}} {
			b.Run(fmt.Sprintf("framed=%v/server=echo-%s", framed, p.name), func(b *testing.B) {
				if p.park > 0 && !echo.ParkSupported {
					b.Skip("skipping: connections do not park on this platform")
				}
				s := &echo.Server{Framed: framed, ParkAfter: p.park}
				srv := startEcho(b, s)
				defer srv.stop()
				pc := dialPing(b, srv, 1, framed)
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					<-time.After(pause) // pacing, not synchronisation
					b.StartTimer()
					if err := pc.run(1); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if st := s.Stats(); p.park > 0 && st.Parks < uint64(b.N) {
					b.Errorf("%d parks in %d round trips", st.Parks, b.N)
				}
			})
		}
	}
}

func benchPingPong(b *testing.B, srv benchServer, nconns int, framed bool) {
	defer srv.stop()
	pc := dialPing(b, srv, nconns, framed)
	b.SetBytes(int64(len(pc.req)))
	b.ReportAllocs()
	b.ResetTimer()
	if err := pc.run(b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// pingClients are the connections of a ping-pong benchmark and the 64-byte
// request each sends.
type pingClients struct {
	conns   []net.Conn
	replies [][]byte
	req     []byte
}

// dialPing opens nconns connections to srv, closed when b ends.
func dialPing(b *testing.B, srv benchServer, nconns int, framed bool) *pingClients {
	pc := &pingClients{req: make([]byte, 64)}
	if framed {
		pc.req = binary.BigEndian.AppendUint32(nil, 64)
		pc.req = append(pc.req, pattern[:64]...)
	} else {
		copy(pc.req, pattern)
	}
	for range nconns {
		c, err := net.Dial("tcp", srv.addr.String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		pc.conns = append(pc.conns, c)
		pc.replies = append(pc.replies, make([]byte, len(pc.req)))
	}
	return pc
}

// run makes n round trips, shared among the connections, each connection
// in its own goroutine waiting for every reply before its next request.
func (pc *pingClients) run(n int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(pc.conns))
	per := n / len(pc.conns)
	for i, c := range pc.conns {
		k := per
		if i == 0 {
			k += n % len(pc.conns)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range k {
				if _, err := c.Write(pc.req); err != nil {
					errs[i] = err
					return
				}
				if _, err := io.ReadFull(c, pc.replies[i]); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// BenchmarkPingPongInterleaved measures echo and its baseline in one
// process, in alternating bursts of 100 round trips per connection, each
// pair of bursts in the other order from the last. Run as separate
// benchmarks, the two meet different machine states: on a shared virtual
// machine, ping-pong throughput drifts between runs by more than the
// difference being measured. Here both see the same drift, and the ratio
// (echo/baseline, throughput; above 1 means echo is faster) comes from
// one run. One op is one round trip to each server.
func BenchmarkPingPongInterleaved(b *testing.B) {
	for _, mode := range []struct {
		name   string
		framed bool
	}{{"raw", false}, {"framed", true}} {
		for _, cc := range pingPongCases {
			b.Run("mode="+mode.name+"/"+cc.name, func(b *testing.B) {
				handle := baselineRaw
				if mode.framed {
					handle = baselineFramed
				}
				s := &echo.Server{Framed: mode.framed}
				es, bs := startEcho(b, s), startBaseline(b, handle)
				defer es.stop()
				defer bs.stop()
				benchInterleaved(b, dialPing(b, es, cc.conns, mode.framed), dialPing(b, bs, cc.conns, mode.framed))
				// Connections park while the baseline's bursts leave
				// them waiting longer than ParkAfter.
				b.ReportMetric(float64(s.Stats().Parks)/float64(b.N), "parks/op")
			})
		}
	}
}

func benchInterleaved(b *testing.B, echoClients, baseClients *pingClients) {
	burst := 100 * len(echoClients.conns)
	var echoTime, baseTime time.Duration
	timed := func(pc *pingClients, n int, total *time.Duration) {
		start := time.Now()
		if err := pc.run(n); err != nil {
			b.Fatal(err)
		}
		*total += time.Since(start)
	}
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(burst, b.N-done)
		if round%2 == 0 {
			timed(echoClients, n, &echoTime)
			timed(baseClients, n, &baseTime)
		} else {
			timed(baseClients, n, &baseTime)
			timed(echoClients, n, &echoTime)
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/echoTime.Seconds(), "echo-req/s")
	b.ReportMetric(float64(b.N)/baseTime.Seconds(), "base-req/s")
	b.ReportMetric(baseTime.Seconds()/echoTime.Seconds(), "echo/base")
}

// BenchmarkTCPStream streams 64 KiB writes through one connection while
// another goroutine reads the echo: throughput, in MB/s.
func BenchmarkTCPStream(b *testing.B) {
	b.Run("server=echo", func(b *testing.B) { benchStream(b, startEcho(b, &echo.Server{})) })
	b.Run("server=baseline", func(b *testing.B) { benchStream(b, startBaseline(b, baselineRaw)) })
}

func benchStream(b *testing.B, srv benchServer) {
	defer srv.stop()
	c, err := net.Dial("tcp", srv.addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunk := pattern[:64<<10]
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	errc := make(chan error, 1)
	go func() {
		for range b.N {
			if _, err := c.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 64<<10)
	for left := int64(b.N) * int64(len(chunk)); left > 0; {
		n, err := c.Read(buf[:min(int64(len(buf)), left)])
		left -= int64(n)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
