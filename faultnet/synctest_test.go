//go:build go1.25

package faultnet_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/faultnet"
)

// These tests run in a synctest bubble, where time advances only when
// every goroutine waits: they check exact arrival times, take no real
// time, and cannot be flaky.

// arrival is one read: when it returned (since the start) and what.
type arrival struct {
	At   time.Duration
	Data string
}

// arrivals reads c until an error, with bufLen-byte reads, noting when
// each returned.
func arrivals(t *testing.T, c net.Conn, start time.Time, bufLen int) ([]arrival, error) {
	t.Helper()
	var got []arrival
	buf := make([]byte, bufLen)
	for range 1000 {
		n, err := c.Read(buf)
		if n > 0 {
			got = append(got, arrival{time.Since(start), string(buf[:n])})
		}
		if err != nil {
			return got, err
		}
	}
	t.Fatal("arrivals: the stream did not end")
	return nil, nil
}

// TestTiming checks when pieces arrive under Latency and Bandwidth, with
// and without fragments.
func TestTiming(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name   string
		opts   []faultnet.Option
		writes []string
		gap    time.Duration // between writes
		want   []arrival
	}{
		{
			name:   "latency",
			opts:   []faultnet.Option{faultnet.Latency(100 * ms)},
			writes: []string{"ab", "cd"},
			gap:    30 * ms,
			want:   []arrival{{100 * ms, "ab"}, {130 * ms, "cd"}},
		},
		{
			name:   "latency keeps the pieces of a write together",
			opts:   []faultnet.Option{faultnet.Latency(100 * ms), faultnet.Fragment(2)},
			writes: []string{"abcde"},
			want:   []arrival{{100 * ms, "ab"}, {100 * ms, "cd"}, {100 * ms, "e"}},
		},
		{
			name:   "bandwidth spaces the pieces",
			opts:   []faultnet.Option{faultnet.Bandwidth(1000), faultnet.Fragment(100)},
			writes: []string{string(pattern(250))},
			want:   []arrival{{100 * ms, string(pattern(100))}, {200 * ms, string(pattern(200)[100:])}, {250 * ms, string(pattern(250)[200:])}},
		},
		{
			name:   "bandwidth then latency",
			opts:   []faultnet.Option{faultnet.Bandwidth(1000), faultnet.Fragment(100), faultnet.Latency(50 * ms)},
			writes: []string{string(pattern(200))},
			want:   []arrival{{150 * ms, string(pattern(100))}, {250 * ms, string(pattern(200)[100:])}},
		},
		{
			// The second half of the write enters the buffer once the
			// first is read, at 100 ms, and arrives a latency later,
			// though it is in the same fragment.
			name:   "a write taken in parts arrives in parts",
			opts:   []faultnet.Option{faultnet.Latency(100 * ms), faultnet.Fragment(8), faultnet.Buffer(4)},
			writes: []string{"abcdefgh"},
			want:   []arrival{{100 * ms, "abcd"}, {200 * ms, "efgh"}},
		},
		{
			name:   "a write waits for the link",
			opts:   []faultnet.Option{faultnet.Bandwidth(100)},
			writes: []string{"0123456789", "x"}, // the second is written at 10 ms, leaves at 100 ms
			gap:    10 * ms,
			want:   []arrival{{100 * ms, "0123456789"}, {110 * ms, "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				a, b := faultnet.Pipe(append([]faultnet.Option{faultnet.Buffer(1 << 10)}, tt.opts...)...)
				defer b.Close()
				start := time.Now()
				go func() {
					for i, w := range tt.writes {
						if i > 0 {
							time.Sleep(tt.gap) // fake time: the gap is exact
						}
						a.Write([]byte(w))
					}
					a.Close()
				}()
				got, err := arrivals(t, b, start, 1000)
				if err != io.EOF {
					t.Errorf("err = %v, want io.EOF", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("arrivals (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestDeadlineDuringLatency: a deadline before the bytes arrive ends the
// Read on time, and the bytes arrive later, whole.
func TestDeadlineDuringLatency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := faultnet.Pipe(faultnet.Latency(time.Second))
		defer a.Close()
		defer b.Close()
		start := time.Now()
		write(t, a, []byte("slow"))
		b.SetReadDeadline(start.Add(300 * time.Millisecond))
		buf := make([]byte, 8)
		_, err := b.Read(buf)
		wantTimeout(t, err, "read")
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("timed out after %v, want 300ms", took)
		}
		b.SetReadDeadline(time.Time{})
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != "slow" || time.Since(start) != time.Second {
			t.Errorf("read %q, %v at %v; want \"slow\" at 1s", buf[:n], err, time.Since(start))
		}
	})
}

// TestStallEndsOnlyByDeadline: a stalled Read waits for as long as the
// deadline says, an hour here, and returns nothing.
func TestStallEndsOnlyByDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := faultnet.Pipe(faultnet.Stall(2, nil))
		defer a.Close()
		defer b.Close()
		write(t, a, []byte("abcd"))
		buf := make([]byte, 8)
		if n, err := b.Read(buf); err != nil || string(buf[:n]) != "ab" {
			t.Fatalf("read %q, %v; want \"ab\"", buf[:n], err)
		}
		start := time.Now()
		b.SetReadDeadline(start.Add(time.Hour))
		n, err := b.Read(buf)
		if n != 0 || time.Since(start) != time.Hour {
			t.Errorf("stalled Read returned %d bytes after %v; want none after 1h", n, time.Since(start))
		}
		wantTimeout(t, err, "read")
	})
}

// TestWakeBlocked: with every call certainly waiting (synctest.Wait),
// Close wakes the closed end's Read and Write with net.ErrClosed and the
// other end's Read with io.EOF, and a deadline moved into the past wakes
// a waiting Read.
func TestWakeBlocked(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := faultnet.Pipe(faultnet.Outbound(faultnet.Buffer(1)))
		c, d := faultnet.Pipe()
		e, f := faultnet.Pipe()
		for _, x := range []net.Conn{b, d, e, f} {
			defer x.Close()
		}
		errs := make(chan error, 4)
		read := func(c net.Conn) { _, err := c.Read(make([]byte, 1)); errs <- err }
		go read(a)
		go func() { _, err := a.Write([]byte("xy")); errs <- err }() // waits after "x"
		go read(d)
		go read(e)
		synctest.Wait()
		a.Close()
		c.Close()
		e.SetReadDeadline(time.Now())
		got := map[string]int{}
		for range 4 {
			switch err := <-errs; {
			case errors.Is(err, net.ErrClosed):
				got["closed"]++
			case err == io.EOF:
				got["EOF"]++
			case errors.Is(err, os.ErrDeadlineExceeded):
				got["timeout"]++
			default:
				t.Errorf("unexpected err %v", err)
			}
		}
		if diff := cmp.Diff(map[string]int{"closed": 2, "EOF": 1, "timeout": 1}, got); diff != "" {
			t.Errorf("woken calls (-want +got):\n%s", diff)
		}
	})
}

// TestWrapTiming: on a wrapped connection an outbound delay makes Write
// wait; an inbound one makes Read wait after the bytes came in. A Pipe
// stands for the real connection, so that the bubble's clock applies.
func TestWrapTiming(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		x, y := faultnet.Pipe()
		w := faultnet.Wrap(x, faultnet.Outbound(faultnet.Latency(time.Second)), faultnet.Inbound(faultnet.Latency(2*time.Second)))
		defer w.Close()
		defer y.Close()
		start := time.Now()
		write(t, w, []byte("out"))
		if took := time.Since(start); took != time.Second {
			t.Errorf("Write took %v, want 1s", took)
		}
		write(t, y, []byte("in"))
		start = time.Now()
		buf := make([]byte, 4)
		n, err := w.Read(buf)
		if err != nil || string(buf[:n]) != "in" || time.Since(start) != 2*time.Second {
			t.Errorf("Read %q, %v after %v; want \"in\" after 2s", buf[:n], err, time.Since(start))
		}
	})
}

// TestStallReleaseBySend: a value sent on the release channel, received
// by a Read waiting in the stall, ends the stall for good.
func TestStallReleaseBySend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		a, b := faultnet.Pipe(faultnet.Stall(1, release))
		defer a.Close()
		defer b.Close()
		write(t, a, []byte("abc"))
		buf := make([]byte, 8)
		b.Read(buf) // "a"
		got := make(chan string, 1)
		go func() {
			n, err := b.Read(buf)
			got <- string(buf[:n]) + errString(err)
		}()
		synctest.Wait() // the Read waits in the stall
		release <- struct{}{}
		if g := <-got; g != "bc" {
			t.Fatalf("read %q after the release, want \"bc\"", g)
		}
		write(t, a, []byte("d"))
		if n, err := b.Read(buf); err != nil || string(buf[:n]) != "d" {
			t.Fatalf("read %q, %v; the stall came back", buf[:n], err)
		}
	})
}

// TestFragmentCutWhileRead: a piece the reader started while its write
// was still going on ends where a deadline cut the write, and the next
// write starts a piece of its own.
func TestFragmentCutWhileRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := faultnet.Pipe(faultnet.Fragment(10), faultnet.Buffer(4))
		defer a.Close()
		defer b.Close()
		a.SetWriteDeadline(time.Now().Add(time.Second))
		written := make(chan int, 1)
		go func() { n, _ := a.Write([]byte("abcdefgh")); written <- n }()
		synctest.Wait() // 4 bytes in, the Write waits for room
		buf := make([]byte, 2)
		if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ab" {
			t.Fatalf("read %q, %v", buf, err)
		}
		if n := <-written; n != 6 { // 2 more, then the deadline
			t.Fatalf("Write = %d bytes, want 6", n)
		}
		b.Read(buf[:1]) // "c", which makes room for the next write
		a.SetWriteDeadline(time.Time{})
		write(t, a, []byte("x"))
		a.Close()
		sizes, got, err := readAll(t, b, 64)
		if string(got) != "defx" || err != io.EOF {
			t.Fatalf("read %q, %v; want \"defx\", io.EOF", got, err)
		}
		if diff := cmp.Diff([]int{3, 1}, sizes); diff != "" {
			t.Errorf("read sizes (-want +got):\n%s", diff)
		}
	})
}

// TestWrapWakes: on a wrapped connection, a deadline moved into the past
// ends a Write held by a stall, and Close ends a Read waiting out a
// latency, both at once.
func TestWrapWakes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		x, y := faultnet.Pipe()
		defer y.Close()
		w := faultnet.Wrap(x, faultnet.Outbound(faultnet.Stall(0, nil)), faultnet.Inbound(faultnet.Latency(time.Hour)))
		write(t, y, []byte("b"))
		start := time.Now()
		wrote, read := make(chan error, 1), make(chan error, 1)
		go func() { _, err := w.Write([]byte("a")); wrote <- err }()
		go func() { _, err := w.Read(make([]byte, 1)); read <- err }()
		synctest.Wait()
		w.SetWriteDeadline(time.Now())
		wantTimeout(t, <-wrote, "write")
		w.Close()
		wantOpError(t, <-read, "read", net.ErrClosed)
		if took := time.Since(start); took != 0 {
			t.Errorf("the calls ended after %v, want at once", took)
		}
	})
}
