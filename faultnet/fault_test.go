package faultnet_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/faultnet"
)

// deliver writes each of writes on the first end of a Pipe made with
// opts, closes it, and returns the sizes of the second end's reads of up
// to bufLen bytes, what it read, and the error that ended it.
func deliver(t *testing.T, opts []faultnet.Option, bufLen int, writes ...string) ([]int, string, error) {
	t.Helper()
	a, b := faultnet.Pipe(opts...)
	defer b.Close()
	for _, w := range writes {
		write(t, a, []byte(w))
	}
	a.Close()
	sizes, got, err := readAll(t, b, bufLen)
	return sizes, string(got), err
}

// TestReadShapes checks MaxRead and Fragment: the bytes arrive whole and
// in order, in reads of the sizes the fault allows.
func TestReadShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []faultnet.Option
		writes []string
		sizes  []int
	}{
		{name: "no fault joins writes", writes: []string{"abcd", "efg"}, sizes: []int{7}},
		{name: "MaxRead(1)", opts: []faultnet.Option{faultnet.MaxRead(1)}, writes: []string{"abcd"}, sizes: []int{1, 1, 1, 1}},
		{name: "MaxRead(3) joins writes", opts: []faultnet.Option{faultnet.MaxRead(3)}, writes: []string{"abcd", "efg"}, sizes: []int{3, 3, 1}},
		{name: "Fragment(2)", opts: []faultnet.Option{faultnet.Fragment(2)}, writes: []string{"abcd", "efg"}, sizes: []int{2, 2, 2, 1}},
		{name: "Fragment(3) never spans writes", opts: []faultnet.Option{faultnet.Fragment(3)}, writes: []string{"ab", "cdef", "g"}, sizes: []int{2, 3, 1, 1}},
		{name: "Fragment(5) under MaxRead(2)", opts: []faultnet.Option{faultnet.Fragment(5), faultnet.MaxRead(2)}, writes: []string{"abcdefg"}, sizes: []int{2, 2, 1, 2}},
		{name: "Fragment larger than writes", opts: []faultnet.Option{faultnet.Fragment(100)}, writes: []string{"abc", "defg"}, sizes: []int{3, 4}},
		{name: "later option wins", opts: []faultnet.Option{faultnet.MaxRead(1), faultnet.MaxRead(4)}, writes: []string{"abcdefg"}, sizes: []int{4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sizes, got, err := deliver(t, tt.opts, 64, tt.writes...)
			if want := strings.Join(tt.writes, ""); got != want || err != io.EOF {
				t.Fatalf("read %q, %v; want %q, io.EOF", got, err, want)
			}
			if diff := cmp.Diff(tt.sizes, sizes); diff != "" {
				t.Errorf("read sizes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRandomShapes: RandomReads and RandomFragments make pieces of 1 to n
// bytes that deliver the stream whole, the same pieces for the same seed,
// and other pieces for other seeds.
func TestRandomShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(n int) faultnet.Option
	}{
		{"RandomReads", faultnet.RandomReads},
		{"RandomFragments", faultnet.RandomFragments},
	}
	data := string(pattern(3000))
	writes := []string{data[:1000], data[1000:1001], data[1001:]}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 9
			run := func(seed uint64) []int {
				sizes, got, err := deliver(t, []faultnet.Option{faultnet.Seed(seed), tt.fault(n)}, 64, writes...)
				if got != data || err != io.EOF {
					t.Fatalf("seed %d: read %d bytes, %v; want the %d written, io.EOF", seed, len(got), err, len(data))
				}
				return sizes
			}
			first := run(42)
			seen := map[int]bool{}
			for _, s := range first {
				if s < 1 || s > n {
					t.Fatalf("a read of %d bytes, want 1..%d", s, n)
				}
				seen[s] = true
			}
			if len(seen) < n {
				t.Errorf("%d sizes of %d seen in %d pieces: %v", len(seen), n, len(first), first)
			}
			if diff := cmp.Diff(first, run(42)); diff != "" {
				t.Errorf("seed 42 twice: the pieces differ (-first +second):\n%s", diff)
			}
			if slices.Equal(first, run(43)) {
				t.Error("seeds 42 and 43 give the same pieces")
			}
		})
	}
}

// TestFragmentsNeverSpanWrites: with random fragments, every write still
// starts a new read.
func TestFragmentsNeverSpanWrites(t *testing.T) {
	t.Parallel()
	writes := []string{"a", "bcdefghij", "kl", "mnopqrstuvwxyz"}
	sizes, got, err := deliver(t, []faultnet.Option{faultnet.RandomFragments(6)}, 64, writes...)
	if got != strings.Join(writes, "") || err != io.EOF {
		t.Fatalf("read %q, %v", got, err)
	}
	var ends []int
	sum := 0
	for _, s := range sizes {
		sum += s
		ends = append(ends, sum)
	}
	sum = 0
	for _, w := range writes {
		sum += len(w)
		if !slices.Contains(ends, sum) {
			t.Errorf("no read ends at offset %d, where a write ended; read ends %v", sum, ends)
		}
	}
}

// TestLatency: a piece is never readable before its latency has passed
// (an upper bound would depend on the machine; synctest_test.go checks
// exact times).
func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 50 * time.Millisecond
	a, b := faultnet.Pipe(faultnet.Outbound(faultnet.Latency(latency)))
	defer a.Close()
	defer b.Close()
	start := time.Now()
	write(t, a, []byte("late"))
	buf := make([]byte, 4)
	b.SetReadDeadline(soon())
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "late" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("arrived after %v, before the latency of %v", took, latency)
	}
}

// TestBandwidth: 1,000 bytes at 10,000 bytes per second take at least
// 100 ms.
func TestBandwidth(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Bandwidth(10000), faultnet.Fragment(250))
	defer a.Close()
	defer b.Close()
	start := time.Now()
	write(t, a, pattern(1000))
	b.SetReadDeadline(soon())
	if _, err := io.ReadFull(b, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("1000 bytes at 10000 B/s took %v, want at least 100ms", took)
	}
}

// TestStall: past the stall point nothing arrives; a deadline ends the
// wait without losing anything, and closing the release channel lets the
// rest through.
func TestStall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	a, b := faultnet.Pipe(faultnet.Outbound(faultnet.Stall(3, release)))
	defer a.Close()
	defer b.Close()
	write(t, a, []byte("abcdefg"))
	buf := make([]byte, 10)
	n, err := b.Read(buf)
	if err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("read %q, %v; want \"abc\"", buf[:n], err)
	}
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err = b.Read(buf)
	if n != 0 {
		t.Fatalf("read %q past the stall", buf[:n])
	}
	wantTimeout(t, err, "read")

	b.SetReadDeadline(soon())
	done := make(chan string, 1)
	go func() {
		n, err := b.Read(buf)
		done <- string(buf[:n]) + errString(err)
	}()
	close(release) // whether the Read waits yet or not, it must get the rest
	if got := <-done; got != "defg" {
		t.Fatalf("after the release read %q, want \"defg\"", got)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// TestStallFillsBuffer: a stalled direction holds the bytes written, and
// a Write waits once the buffer is full; Close ends a stalled Read.
func TestStallFillsBuffer(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Stall(0, nil), faultnet.Buffer(8))
	defer a.Close()
	write(t, a, pattern(8))
	a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	n, err := a.Write([]byte("x"))
	if n != 0 {
		t.Errorf("wrote %d bytes into a full stalled buffer", n)
	}
	wantTimeout(t, err, "write")

	done := make(chan error, 1)
	go func() { _, err := b.Read(make([]byte, 1)); done <- err }()
	b.Close()
	wantOpError(t, <-done, "read", net.ErrClosed)
}

// TestResetAfter: the reader gets the first n bytes, then ECONNRESET; the
// writer's Write that crossed n succeeds and its next one fails; the other
// direction delivers what it holds, then fails the same way.
func TestResetAfter(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Outbound(faultnet.ResetAfter(5)))
	defer a.Close()
	defer b.Close()
	write(t, b, []byte("early reply"))
	if n, err := a.Write([]byte("hello world")); n != 11 || err != nil {
		t.Fatalf("the Write that crossed the reset point = %d, %v; want 11, nil", n, err)
	}
	_, err := a.Write([]byte("again"))
	wantOpError(t, err, "write", syscall.ECONNRESET)
	_, err = b.Write([]byte("x"))
	wantOpError(t, err, "write", syscall.ECONNRESET)

	_, got, err := readAll(t, b, 3)
	if string(got) != "hello" {
		t.Errorf("reader got %q before the reset, want \"hello\"", got)
	}
	wantOpError(t, err, "read", syscall.ECONNRESET)
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "read" {
		t.Errorf("err = %v, want an *os.SyscallError for read inside, as net gives", err)
	}
	_, got, err = readAll(t, a, 64)
	if string(got) != "early reply" {
		t.Errorf("the other direction delivered %q before the reset, want \"early reply\"", got)
	}
	wantOpError(t, err, "read", syscall.ECONNRESET)
	if err := a.Close(); err != nil {
		t.Errorf("Close after a reset: %v", err)
	}
}

// TestResetWakes: a reset ends a Read waiting for data and a Write
// waiting for room, on both ends.
func TestResetWakes(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Buffer(4), faultnet.Inbound(faultnet.ResetAfter(1)))
	defer a.Close()
	defer b.Close()
	a.SetDeadline(soon())
	errs := make(chan error, 2)
	go func() { _, err := a.Write(pattern(10)); errs <- err }() // waits after 4 bytes
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := a.Read(buf); err != nil { // waits for b
				errs <- err
				return
			}
		}
	}()
	write(t, b, []byte("!")) // the reset point of b's direction
	for range 2 {
		if err := <-errs; !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("err = %v, want ECONNRESET", err)
		}
	}
}

// TestResetAfterZero resets at once: before anything is written.
func TestResetAfterZero(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Outbound(faultnet.ResetAfter(0)))
	defer a.Close()
	defer b.Close()
	_, err := b.Read(make([]byte, 1))
	wantOpError(t, err, "read", syscall.ECONNRESET)
	_, err = a.Write([]byte("x"))
	wantOpError(t, err, "write", syscall.ECONNRESET)
}

// TestTruncateAfter: the reader gets the first n bytes, then io.EOF; the
// writer does not notice; the other direction is untouched.
func TestTruncateAfter(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 5, 11} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			a, b := faultnet.Pipe(faultnet.Outbound(faultnet.TruncateAfter(n)))
			defer a.Close()
			defer b.Close()
			write(t, a, []byte("hello"))
			write(t, a, []byte(" world"))
			write(t, a, []byte(", and more")) // past the truncation: dropped
			b.SetReadDeadline(soon())
			_, got, err := readAll(t, b, 64)
			if want := "hello world"[:n]; string(got) != want || err != io.EOF {
				t.Errorf("read %q, %v; want %q, io.EOF", got, err, want)
			}
			write(t, b, []byte("back"))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "back" {
				t.Errorf("the other direction: %q, %v", buf, err)
			}
		})
	}
}

// TestCorrupt: the bytes at the offsets named, counted across writes, are
// inverted, each once; the rest arrive as written.
func TestCorrupt(t *testing.T) {
	t.Parallel()
	opts := []faultnet.Option{faultnet.Corrupt(2), faultnet.Corrupt(5), faultnet.Corrupt(5), faultnet.Corrupt(100)}
	_, got, err := deliver(t, opts, 64, "abc", "def")
	want := string([]byte{'a', 'b', 'c' ^ 0xff, 'd', 'e', 'f' ^ 0xff})
	if got != want || err != io.EOF {
		t.Errorf("read %q, %v; want %q, io.EOF", got, err, want)
	}
}

// TestRandomCorrupt: exactly one byte below the bound is inverted, at the
// same offset for the same seed, at different ones across seeds.
func TestRandomCorrupt(t *testing.T) {
	t.Parallel()
	const within = 64
	offset := func(seed uint64) int {
		_, got, _ := deliver(t, []faultnet.Option{faultnet.Seed(seed), faultnet.RandomCorrupt(within)}, 256, string(make([]byte, 100)))
		at := -1
		for i, c := range []byte(got) {
			switch {
			case c == 0:
			case c == 0xff && at < 0:
				at = i
			default:
				t.Fatalf("seed %d: byte %d is %#x, a second corruption or a wrong one", seed, i, c)
			}
		}
		if at < 0 || at >= within {
			t.Fatalf("seed %d: corrupted offset %d, want one in [0, %d)", seed, at, within)
		}
		return at
	}
	offsets := map[int]bool{}
	for seed := range uint64(20) {
		at := offset(seed)
		if again := offset(seed); again != at {
			t.Errorf("seed %d: offset %d, then %d", seed, at, again)
		}
		offsets[at] = true
	}
	if len(offsets) < 5 {
		t.Errorf("20 seeds chose only %d offsets: %v", len(offsets), offsets)
	}
}

// TestDirections: Outbound and Inbound choose one direction; without them
// both get the fault, each counting its own bytes; nested, nothing.
func TestDirections(t *testing.T) {
	t.Parallel()
	trunc := faultnet.TruncateAfter(2)
	tests := []struct {
		name            string
		opt             faultnet.Option
		wantOut, wantIn string // what b reads of "abcd" from a, and a from b
	}{
		{name: "both", opt: trunc, wantOut: "ab", wantIn: "ab"},
		{name: "Outbound", opt: faultnet.Outbound(trunc), wantOut: "ab", wantIn: "abcd"},
		{name: "Inbound", opt: faultnet.Inbound(trunc), wantOut: "abcd", wantIn: "ab"},
		{name: "nested", opt: faultnet.Outbound(faultnet.Inbound(trunc)), wantOut: "abcd", wantIn: "abcd"},
		{name: "Outbound twice", opt: faultnet.Outbound(faultnet.Outbound(trunc)), wantOut: "ab", wantIn: "abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := faultnet.Pipe(tt.opt)
			write(t, a, []byte("abcd"))
			write(t, b, []byte("abcd"))
			a.(interface{ CloseWrite() error }).CloseWrite()
			b.(interface{ CloseWrite() error }).CloseWrite()
			_, out, _ := readAll(t, b, 64)
			_, in, _ := readAll(t, a, 64)
			a.Close()
			b.Close()
			if string(out) != tt.wantOut || string(in) != tt.wantIn {
				t.Errorf("outbound %q, inbound %q; want %q, %q", out, in, tt.wantOut, tt.wantIn)
			}
		})
	}
}

// TestInvalidOptions: an invalid option makes every Read and Write fail
// with an error naming it that matches ErrInvalidOption, on Pipe and
// Wrap; Close still works.
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  faultnet.Option
		wrap bool // invalid only on a wrapped connection
	}{
		{name: "Buffer", opt: faultnet.Buffer(0)},
		{name: "MaxRead", opt: faultnet.MaxRead(0)},
		{name: "RandomReads", opt: faultnet.RandomReads(-1)},
		{name: "Fragment", opt: faultnet.Fragment(0)},
		{name: "RandomFragments", opt: faultnet.RandomFragments(0)},
		{name: "Latency", opt: faultnet.Latency(-time.Second)},
		{name: "Bandwidth", opt: faultnet.Bandwidth(0)},
		{name: "Stall", opt: faultnet.Stall(-1, nil)},
		{name: "ResetAfter", opt: faultnet.ResetAfter(-1)},
		{name: "TruncateAfter", opt: faultnet.TruncateAfter(-1)},
		{name: "Corrupt", opt: faultnet.Corrupt(-1)},
		{name: "RandomCorrupt", opt: faultnet.RandomCorrupt(0)},
		{name: "MaxRead", opt: faultnet.Outbound(faultnet.MaxRead(1)), wrap: true},
		{name: "RandomReads", opt: faultnet.Outbound(faultnet.RandomReads(2)), wrap: true},
		{name: "Buffer", opt: faultnet.Outbound(faultnet.Buffer(10)), wrap: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := func(what string, c net.Conn) {
				t.Helper()
				_, rerr := c.Read(make([]byte, 1))
				_, werr := c.Write([]byte("x"))
				for _, err := range []error{rerr, werr} {
					if !errors.Is(err, faultnet.ErrInvalidOption) || !strings.Contains(err.Error(), tt.name) {
						t.Errorf("%s: err = %v, want one naming %s and matching ErrInvalidOption", what, err, tt.name)
					}
				}
				if err := c.Close(); err != nil {
					t.Errorf("%s: Close: %v", what, err)
				}
			}
			a, b := faultnet.Pipe(tt.opt)
			if tt.wrap {
				// Valid on a Pipe, whose second end's reads it shapes.
				write(t, a, []byte("ok"))
				if _, err := b.Read(make([]byte, 2)); err != nil {
					t.Errorf("on a Pipe: %v", err)
				}
				a.Close()
				b.Close()
				x, y := faultnet.Pipe()
				defer y.Close()
				check("Wrap", faultnet.Wrap(x, tt.opt))
				return
			}
			check("Pipe first end", a)
			check("Pipe second end", b)
			x, y := faultnet.Pipe()
			defer y.Close()
			check("Wrap", faultnet.Wrap(x, tt.opt))
		})
	}
}

// TestFragmentAfterTimeout: a write cut short by its deadline ends its
// last piece there, so the next write's bytes start a piece of their own.
func TestFragmentAfterTimeout(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Fragment(10), faultnet.Buffer(6))
	defer a.Close()
	defer b.Close()
	a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	if n, err := a.Write([]byte("abcdefgh")); n != 6 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want 6 bytes, then the deadline", n, err)
	}
	a.SetWriteDeadline(time.Time{})
	buf := make([]byte, 2)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ab" {
		t.Fatalf("read %q, %v", buf, err)
	}
	write(t, a, []byte("xy"))
	a.Close()
	sizes, got, err := readAll(t, b, 64)
	if string(got) != "cdefxy" || err != io.EOF {
		t.Fatalf("read %q, %v; want \"cdefxy\", io.EOF", got, err)
	}
	if diff := cmp.Diff([]int{4, 2}, sizes); diff != "" {
		t.Errorf("read sizes (-want +got):\n%s", diff)
	}
}
