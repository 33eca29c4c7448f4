package echo_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/faultnet"
)

// heapSampler records the largest live heap seen until stop is called.
type heapSampler struct {
	max  atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.max.Load() {
				h.max.Store(ms.HeapAlloc)
			}
			select {
			case <-tick.C:
			case <-h.stop:
				return
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.max.Load()
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSlowReaders has 100 clients push 10 MiB each without reading a
// reply. Each stops the server's writes to it (TCP flow control), which
// stops the server reading from it; meanwhile other clients are served
// at full speed, the heap stays within 64 MiB of where it started, and
// WriteTimeout cuts the stuck connections.
func TestSlowReaders(t *testing.T) {
	const (
		slow     = 100
		push     = 10 << 20
		fast     = 10
		fastMsgs = 200
		heapCap  = 64 << 20
	)
	logger, logs := newLogger()
	const writeTimeout = 3 * time.Second
	s := &echo.Server{WriteTimeout: writeTimeout, Logger: logger}
	addr := echotest.Start(t, s)
	chunk := pattern[:64<<10]
	base := heapNow()
	heap := sampleHeap()

	blocked := make(chan struct{}, slow) // one per slow client that pushed 1 MiB
	var pushed atomic.Int64
	var slowers group
	for range slow {
		c := dial(t, "tcp", addr)
		slowers.Go(func() error {
			n := 0
			for n < push {
				if n == 1<<20 {
					blocked <- struct{}{}
				}
				k, err := c.Write(chunk)
				n += k
				pushed.Add(int64(k))
				if err != nil {
					if n < 1<<20 {
						blocked <- struct{}{}
					}
					return nil // cut by the server: expected
				}
			}
			return nil
		})
	}
	for range slow {
		<-blocked
	}

	// Every slow client has pushed 1 MiB and is stuck; the others must
	// still be answered without delay.
	start := time.Now()
	var fasts group
	for range fast {
		c := dial(t, "tcp", addr)
		fasts.Go(func() error {
			buf := make([]byte, 512)
			for i := range fastMsgs {
				p := pattern[i : i+512]
				if _, err := c.Write(p); err != nil {
					return err
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					return err
				}
				if !bytes.Equal(buf, p) {
					return fmt.Errorf("reply %d differs", i)
				}
			}
			return nil
		})
	}
	if err := fasts.Wait(); err != nil {
		t.Fatalf("fast client: %v", err)
	}
	elapsed := time.Since(start)
	if err := slowers.Wait(); err != nil {
		t.Fatal(err)
	}
	peak := heap.Stop()
	if elapsed >= writeTimeout {
		t.Errorf("fast clients took %v: stalled until the write timeout cut the slow ones", elapsed)
	}
	if grew := int64(peak) - int64(base); grew > heapCap {
		t.Errorf("heap grew %d MiB above its baseline, want under %d MiB", grew>>20, heapCap>>20)
	}
	waitFor(t, "write timeouts", func() bool { return s.Stats().Timeouts >= slow })
	if got := len(logs.lines("write timeout")); got < slow {
		t.Errorf("%d write-timeout log lines, want %d", got, slow)
	}
	t.Logf("slow clients pushed %d MiB in all; fast clients done in %v; peak heap %+d KiB over baseline",
		pushed.Load()>>20, elapsed, (int64(peak)-int64(base))>>10)
}

// TestIdleTimeout cuts a client that sends one byte at a time more slowly
// than IdleTimeout (raw), and a framed client that keeps sending bytes
// but never completes a message within IdleTimeout. After a first write,
// the client trickles bytes through faultnet: one-byte pieces at a
// bandwidth that spaces them out.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		framed   bool
		idle     time.Duration
		first    []byte // sent at once
		rate     int64  // bytes per second of the trickle that follows
		trickled int    // bytes in it: the cut comes well before they are sent
		echoed   int    // bytes echoed before the cut
	}{
		// One byte per second, scaled down: 500 ms apart against a
		// 100 ms IdleTimeout. Only the first byte is echoed.
		{name: "raw trickle", idle: 100 * time.Millisecond, first: []byte("x"), rate: 2, trickled: 10, echoed: 1},
		// A slowloris: a header for 1,000 bytes and one, then a byte
		// every 20 ms, well inside IdleTimeout, but the message never
		// completes.
		{name: "framed trickle", framed: true, idle: 300 * time.Millisecond, first: []byte{0, 0, 3, 232, 'x'}, rate: 50, trickled: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			s := &echo.Server{Framed: tt.framed, IdleTimeout: tt.idle, Logger: logger}
			addr := echotest.Start(t, s)
			c := dial(t, "tcp", addr)
			start := time.Now()
			if _, err := c.Write(tt.first); err != nil {
				t.Fatal(err)
			}
			closed := make(chan time.Time, 1)
			var echoed atomic.Int64
			go func() {
				n, _ := io.Copy(io.Discard, c) // ends when the server closes
				echoed.Store(n)
				closed <- time.Now()
			}()
			slow := faultnet.Wrap(c, faultnet.Outbound(faultnet.Fragment(1), faultnet.Bandwidth(tt.rate)))
			defer slow.Close() // ends a Write waiting to send its next byte
			trickle := make(chan error, 1)
			go func() {
				// Fails once cut (a write or two after the close, as
				// the client's kernel learns of it); the reader
				// reports the cut.
				_, err := slow.Write(bytes.Repeat([]byte{'x'}, tt.trickled))
				trickle <- err
			}()
			var cut time.Time
			select {
			case cut = <-closed:
			case err := <-trickle:
				t.Fatalf("connection not cut after %d bytes at %d a second (write: %v)", tt.trickled, tt.rate, err)
			}
			slow.Close()
			<-trickle
			if took := cut.Sub(start); took < tt.idle*7/8 {
				t.Errorf("cut after %v, before 7/8 of IdleTimeout %v", took, tt.idle)
			}
			if got := int(echoed.Load()); got != tt.echoed {
				t.Errorf("%d bytes echoed before the cut, want %d", got, tt.echoed)
			}
			// The count comes before the log line.
			waitFor(t, "timeout counted and logged", func() bool {
				return s.Stats().Timeouts == 1 && len(logs.lines("level=INFO", "idle timeout")) == 1
			})
		})
	}
}

// TestFramedHugeHeader sends a header claiming 4 GiB - 1: the server must
// close that connection and log why, without allocating for the claim, and
// keep serving another client.
//
// Not parallel: it measures the heap.
func TestFramedHugeHeader(t *testing.T) {
	logger, logs := newLogger()
	s := &echo.Server{Framed: true, Logger: logger}
	addr := echotest.Start(t, s)
	good := dial(t, "tcp", addr)
	roundTrip := func(msg string) {
		t.Helper()
		if err := writeFrame(good, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := readFrame(good)
		if err != nil || string(got) != msg {
			t.Fatalf("good client: got %q, %v; want %q", got, err, msg)
		}
	}
	roundTrip("before")

	base := heapNow()
	bad := dial(t, "tcp", addr)
	if _, err := bad.Write([]byte{0xff, 0xff, 0xff, 0xff, 'a', 'b'}); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, bad)
	if n != 0 || err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("bad client read %d bytes, %v; want the connection closed", n, err)
	}
	if grew := int64(heapNow()) - int64(base); grew > 1<<20 {
		t.Errorf("heap grew %d KiB for a lying header", grew>>10)
	}
	roundTrip("after")

	// The error is frame's *SizeError, which names the claim and the limit.
	lines := logs.lines("level=WARN", "protocol error", "4294967295", "16777216")
	if len(lines) != 1 {
		t.Fatalf("want one WARN line naming the oversize message; log:\n%s", logs)
	}
	if !strings.Contains(lines[0], "remote=127.0.0.1:") {
		t.Errorf("log line does not name the client: %s", lines[0])
	}
}

// TestMaxConns fills MaxConns with working connections, then opens 1,000
// more: each is closed at once without a reply, counted and logged (at
// most once a second), and the connections being served carry on; a slot
// that frees up is taken by the next client.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	const (
		max   = 10
		extra = 1000
	)
	logger, logs := newLogger()
	s := &echo.Server{MaxConns: max, Logger: logger}
	addr := echotest.Start(t, s)
	ping := func(c net.Conn, msg string) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("got %q, want %q", buf, msg)
		}
		return nil
	}
	var held []net.Conn
	for i := range max {
		c := dial(t, "tcp", addr)
		if err := ping(c, "hi"); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		held = append(held, c)
	}

	// Dial the extras in waves, 100 open at a time, so the test needs
	// few descriptors.
	flood := time.Now()
	for wave := range extra / 100 {
		var g group
		for i := range 100 {
			g.Go(func() error {
				c, err := net.DialTimeout("tcp", addr.String(), testTimeout)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				n, err := io.Copy(io.Discard, c)
				if n != 0 || err != nil && !isReset(err) {
					return fmt.Errorf("wave %d conn %d: read %d bytes, %v; want EOF", wave, i, n, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range held {
		if err := ping(c, "still here"); err != nil {
			t.Errorf("held conn %d after the flood: %v", i, err)
		}
	}
	st := s.Stats()
	if st.RejectedConns != extra || st.TotalConns != max {
		t.Errorf("rejected %d, served %d; want %d, %d", st.RejectedConns, st.TotalConns, extra, max)
	}
	maxLines := 1 + int(time.Since(flood)/time.Second)
	if n := len(logs.lines("level=WARN", "connection limit reached")); n < 1 || n > maxLines {
		t.Errorf("%d connection-limit log lines for %d rejections, want 1 to %d (at most one a second)", n, extra, maxLines)
	}

	held[0].Close()
	waitFor(t, "slot freed", func() bool { return s.Stats().ActiveConns < max })
	c := dial(t, "tcp", addr)
	if err := ping(c, "in"); err != nil {
		t.Errorf("client after a slot freed: %v", err)
	}
}

// TestTransformPanic: a transform that panics closes its own connection,
// with the panic and its stack logged, and no other connection notices.
func TestTransformPanic(t *testing.T) {
	t.Parallel()
	boom := func(p []byte) []byte {
		if bytes.Contains(p, []byte("boom")) {
			panic("transform exploded")
		}
		return echo.Upper(p)
	}
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			s := &echo.Server{Framed: framed, Transform: boom, Logger: logger}
			addr := echotest.Start(t, s)
			send := func(c net.Conn, msg string) ([]byte, error) {
				if framed {
					if err := writeFrame(c, []byte(msg)); err != nil {
						return nil, err
					}
					return readFrame(c)
				}
				if _, err := c.Write([]byte(msg)); err != nil {
					return nil, err
				}
				buf := make([]byte, len(msg))
				_, err := io.ReadFull(c, buf)
				return buf, err
			}
			other := dial(t, "tcp", addr)
			victim := dial(t, "tcp", addr)
			if got, err := send(victim, "ok"); err != nil || string(got) != "OK" {
				t.Fatalf("victim before: %q, %v", got, err)
			}
			if got, err := send(victim, "boom"); err == nil {
				t.Fatalf("victim got %q after its transform panicked, want the connection closed", got)
			}
			if got, err := send(other, "fine"); err != nil || string(got) != "FINE" {
				t.Errorf("other client: %q, %v", got, err)
			}
			if got := s.Stats().Panics; got != 1 {
				t.Errorf("Stats().Panics = %d, want 1", got)
			}
			lines := logs.lines("level=ERROR", "transform panicked", "transform exploded")
			if len(lines) != 1 || !strings.Contains(lines[0], "stack=") || !strings.Contains(lines[0], "echo_test.TestTransformPanic") {
				t.Errorf("want one ERROR line with the panic and its stack; log:\n%s", logs)
			}
		})
	}
}

// TestWriteTimeoutEndsWithItsWrite: WriteTimeout bounds a write that has to
// wait for the client, and nothing after it. A client stops reading until
// the server's reply is stuck, reads it all well within the timeout, stays
// quiet for longer than the timeout, and then talks again: it must be
// answered, not cut by a deadline left over from the stuck write.
func TestWriteTimeoutEndsWithItsWrite(t *testing.T) {
	t.Parallel()
	const (
		writeTimeout = 2 * time.Second
		push         = 64 << 20 // more than loopback's socket buffers hold; a multiple of len(pattern)
	)
	s := &echo.Server{WriteTimeout: writeTimeout}
	addr := echotest.Start(t, s)
	c := dial(t, "tcp", addr)

	var pusher group
	pusher.Go(func() error {
		for sent := 0; sent < push; sent += len(pattern) {
			if _, err := c.Write(pattern); err != nil {
				return err
			}
		}
		return nil
	})
	// With the client not reading, the server's echo fills the buffers
	// and its write waits; its byte count then stops moving.
	var last uint64
	stalls := 0
	waitFor(t, "the server's write to stall", func() bool {
		out := s.Stats().BytesOut
		if out == last && out > 0 {
			stalls++
		} else {
			stalls = 0
		}
		last = out
		return stalls >= 25 // 50 ms at waitFor's 2 ms tick
	})
	if _, err := io.CopyN(io.Discard, c, push); err != nil {
		t.Fatalf("reading the pushed echo: %v", err)
	}
	if err := pusher.Wait(); err != nil {
		t.Fatal(err)
	}
	<-time.After(writeTimeout + writeTimeout/2) // the stuck write's deadline is long past
	buf := make([]byte, 64<<10)
	if _, err := c.Write(pattern[:len(buf)]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("after a quiet spell longer than WriteTimeout: %v", err)
	}
	if !bytes.Equal(buf, pattern[:len(buf)]) {
		t.Error("echo differs")
	}
	if st := s.Stats(); st.Timeouts != 0 {
		t.Errorf("%d timeouts, want 0", st.Timeouts)
	}
}
