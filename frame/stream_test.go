package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// TestNextReaderEnd checks that a body returns io.EOF exactly at the end
// of its payload, never a byte of the next frame, and keeps returning it.
func TestNextReaderEnd(t *testing.T) {
	t.Parallel()
	stream := encode(t, frame.Uint32BE, []byte("hello"), []byte("world"))
	r := frame.NewReader(bytes.NewReader(stream))
	size, body, err := r.NextReader()
	if err != nil || size != 5 {
		t.Fatalf("NextReader = %d, %v; want 5, nil", size, err)
	}
	buf := make([]byte, 100)
	if n, err := body.Read(buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want \"hello\", nil", buf[:n], err)
	}
	for range 2 {
		if n, err := body.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read at the end = %d, %v; want 0, io.EOF", n, err)
		}
	}
	if n, err := body.(io.WriterTo).WriteTo(io.Discard); n != 0 || err != nil {
		t.Fatalf("WriteTo at the end = %d, %v; want 0, nil", n, err)
	}
	if m, err := r.ReadMessage(); err != nil || string(m) != "world" {
		t.Fatalf("next message = %q, %v; want \"world\"", m, err)
	}

	// A payload larger than the buffer, read with a larger p: the reads
	// that go straight into p stop at the end of the payload too.
	big := payload(11, 10000)
	r = frame.NewReader(bytes.NewReader(encode(t, frame.Uint32BE, big, []byte("next"))), frame.WithBufferSize(512))
	if _, body, err = r.NextReader(); err != nil {
		t.Fatal(err)
	}
	buf = make([]byte, 64<<10)
	var got []byte
	for range 100 {
		n, err := body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("body read with a 64 KiB buffer: %s, want %s", describe(got), describe(big))
	}
	if m, err := r.ReadMessage(); err != nil || string(m) != "next" {
		t.Fatalf("next message = %q, %v; want \"next\"", m, err)
	}
}

// TestNextReaderCut checks that a stream ending inside a body makes the
// body return io.ErrUnexpectedEOF, sticky for the body and the Reader, on
// each path a body reads by.
func TestNextReaderCut(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 3000, 64 << 10} {
		for _, cut := range []int{10, 5000, 150000} {
			t.Run(fmt.Sprintf("read%d/cut%d", n, cut), func(t *testing.T) {
				t.Parallel()
				stream := encode(t, frame.Uint32BE, payload(1, 200000))[:4+cut]
				r := frame.NewReader(iotest.HalfReader(bytes.NewReader(stream)))
				_, body, err := r.NextReader()
				if err != nil {
					t.Fatal(err)
				}
				got, err := readBody(body, n)
				if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != cut {
					t.Fatalf("body: %d bytes, %v; want %d, io.ErrUnexpectedEOF", len(got), err, cut)
				}
				if _, err := body.Read(make([]byte, 10)); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("body again: %v, want io.ErrUnexpectedEOF", err)
				}
				if _, _, err := r.NextReader(); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("NextReader after: %v, want the sticky io.ErrUnexpectedEOF", err)
				}
			})
		}
	}
}

// nextCalls are the calls that end a body: each reads the next message
// and returns it whole.
var nextCalls = []struct {
	name string
	read func(r *frame.Reader) ([]byte, error)
}{
	{"ReadMessage", (*frame.Reader).ReadMessage},
	{"AppendMessage", func(r *frame.Reader) ([]byte, error) { return r.AppendMessage(nil) }},
	{"Messages", func(r *frame.Reader) ([]byte, error) {
		for m, err := range r.Messages() {
			return m, err
		}
		return nil, io.EOF
	}},
	{"NextReader", func(r *frame.Reader) ([]byte, error) {
		_, body, err := r.NextReader()
		if err != nil {
			return nil, err
		}
		return readBody(body, 1000)
	}},
}

// TestNextReaderSkipsRest checks that any read call before a body is
// drained skips the rest of it, counting the bytes already buffered, and
// returns the next message, whatever part of the body was read, through
// every adversarial reader.
func TestNextReaderSkipsRest(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 10, 5000, 100000} {
		for _, read := range []int{0, 1, size / 2, size} {
			if read > size {
				continue
			}
			stream := encode(t, frame.Uint32BE, payload(2, size), []byte("after"), []byte("last"))
			for _, nc := range nextCalls {
				for _, rm := range readMakers {
					t.Run(fmt.Sprintf("%d/read%d/%s/%s", size, read, nc.name, rm.name), func(t *testing.T) {
						t.Parallel()
						r := frame.NewReader(rm.fn(bytes.NewReader(stream)))
						body := nextBody(t, r)
						got, err := readAtMost(body, read)
						if err != nil || !bytes.Equal(got, payload(2, size)[:read]) {
							t.Fatalf("first %d bytes of the body: %s, %v", read, describe(got), err)
						}
						var msgs [][]byte
						for range 2 {
							m, err := retry(func() ([]byte, error) { return nc.read(r) })
							if err != nil {
								t.Fatalf("%s after a body read %d bytes into %d: %v", nc.name, read, size, err)
							}
							msgs = append(msgs, bytes.Clone(m))
						}
						if diff := cmp.Diff([]string{"after", "last"}, strings.Fields(fmt.Sprintf("%s %s", msgs[0], msgs[1]))); diff != "" {
							t.Errorf("messages after the body (-want +got):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

// nextBody calls NextReader, retrying timeouts, and returns the body.
func nextBody(t *testing.T, r *frame.Reader) io.Reader {
	t.Helper()
	for range 1000 {
		_, body, err := r.NextReader()
		if isTimeout(err) {
			continue
		}
		if err != nil {
			t.Fatalf("NextReader: %v", err)
		}
		return body
	}
	t.Fatal("NextReader: no end of timeouts")
	return nil
}

// readAtMost reads n bytes of body, or up to its end, retrying timeouts.
func readAtMost(body io.Reader, n int) ([]byte, error) {
	got := []byte{}
	buf := make([]byte, 777)
	for tries := 0; len(got) < n && tries < 1<<20; tries++ {
		k, err := body.Read(buf[:min(len(buf), n-len(got))])
		got = append(got, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil && !isTimeout(err) {
			return got, err
		}
	}
	return got, nil
}

// retry calls read until it returns something other than a timeout, a
// bounded number of times.
func retry(read func() ([]byte, error)) ([]byte, error) {
	for range 1 << 20 {
		m, err := read()
		if !isTimeout(err) {
			return m, err
		}
	}
	return nil, errors.New("retry: no end of timeouts")
}

// TestNextReaderSkipResumes checks that a timeout while the next call
// skips the rest of a body loses nothing: the call after it goes on
// skipping, and the next message comes back whole.
func TestNextReaderSkipResumes(t *testing.T) {
	t.Parallel()
	big := payload(3, 20000)
	stream := encode(t, frame.Uint32BE, big, []byte("after"))
	r := frame.NewReader(&stutterReader{r: bytes.NewReader(stream)}, frame.WithBufferSize(512))
	body := nextBody(t, r)
	if got, err := readAtMost(body, 100); err != nil || !bytes.Equal(got, big[:100]) {
		t.Fatalf("body start: %s, %v", describe(got), err)
	}
	timeouts := 0
	for range 1 << 20 {
		m, err := r.ReadMessage()
		if isTimeout(err) {
			timeouts++
			continue
		}
		if err != nil || string(m) != "after" {
			t.Fatalf("ReadMessage = %q, %v; want \"after\"", m, err)
		}
		break
	}
	if timeouts < len(big)-100 {
		t.Errorf("%d timeouts while skipping %d bytes one at a time: the skip did not resume", timeouts, len(big)-100)
	}
	if _, err := body.Read(make([]byte, 1)); !errors.Is(err, frame.ErrBodyClosed) {
		t.Errorf("body after the skip: %v, want ErrBodyClosed", err)
	}
}

// TestNextReaderSkipAllocs checks that skipping the rest of a body takes
// no memory: one allocation per message, the body NextReader returns.
func TestNextReaderSkipAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: sync.Pool drops buffers at random under the race detector")
	}
	one := encode(t, frame.Uint32BE, payload(4, 1<<20), []byte("next"))
	r := frame.NewReader(&loopReader{data: one})
	buf := make([]byte, 10)
	step := func() {
		_, body, err := r.NextReader()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := body.Read(buf); err != nil {
			t.Fatal(err)
		}
		if m, err := r.ReadMessage(); err != nil || string(m) != "next" {
			t.Fatalf("ReadMessage = %q, %v", m, err)
		}
	}
	step()
	if n := testing.AllocsPerRun(50, step); n > 1 {
		t.Errorf("%v allocations per message whose 1 MiB body was skipped, want 1 (the body)", n)
	}
}

// TestNextReaderStale checks that a body read after the next call on its
// Reader, whatever that call is, returns ErrBodyClosed and no bytes, by
// Read and by WriteTo, whether it was drained or not.
func TestNextReaderStale(t *testing.T) {
	t.Parallel()
	moves := []struct {
		name string
		move func(r *frame.Reader, stream []byte) error
	}{
		{"ReadMessage", func(r *frame.Reader, _ []byte) error { _, err := r.ReadMessage(); return err }},
		{"AppendMessage", func(r *frame.Reader, _ []byte) error { _, err := r.AppendMessage(nil); return err }},
		{"Messages", func(r *frame.Reader, _ []byte) error {
			for _, err := range r.Messages() {
				return err
			}
			return nil
		}},
		{"NextReader", func(r *frame.Reader, _ []byte) error { _, _, err := r.NextReader(); return err }},
		{"Reset", func(r *frame.Reader, stream []byte) error { r.Reset(bytes.NewReader(stream)); return nil }},
		{"Handoff", func(r *frame.Reader, _ []byte) error { r.Handoff(); return nil }},
	}
	for _, mv := range moves {
		for _, drained := range []bool{false, true} {
			for _, n := range []int{1000, 0} {
				t.Run(fmt.Sprintf("%s/drained=%v/read%d", mv.name, drained, n), func(t *testing.T) {
					t.Parallel()
					stream := encode(t, frame.Uint32BE, payload(5, 3000), payload(6, 3000), payload(7, 3000))
					r := frame.NewReader(bytes.NewReader(stream))
					_, body, err := r.NextReader()
					if err != nil {
						t.Fatal(err)
					}
					want := 1
					if drained {
						want = 3000
					}
					if got, err := readAtMost(body, want); err != nil || len(got) != want {
						t.Fatalf("body: %d bytes, %v", len(got), err)
					}
					if err := mv.move(r, stream); err != nil {
						t.Fatal(err)
					}
					var k int64
					if n == 0 {
						var b bytes.Buffer
						k, err = body.(io.WriterTo).WriteTo(&b)
					} else {
						var k32 int
						k32, err = body.Read(make([]byte, n))
						k = int64(k32)
					}
					if k != 0 || !errors.Is(err, frame.ErrBodyClosed) {
						t.Errorf("stale body: %d bytes, %v; want 0, ErrBodyClosed", k, err)
					}
				})
			}
		}
	}
}

// TestNextReaderLimit checks the stream limit: by default that of
// WithMaxSize, raised or lowered by WithMaxStreamSize, never above what
// the layout expresses, and checked on the header before any byte of the
// payload is read.
func TestNextReaderLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []frame.Option
		layout frame.Layout
		size   uint64
		max    int // the limit a refusal reports; -1: accepted
	}{
		{"default at the limit", nil, frame.Layout{}, frame.DefaultMaxSize, -1},
		{"default above", nil, frame.Layout{}, frame.DefaultMaxSize + 1, frame.DefaultMaxSize},
		{"follows WithMaxSize", []frame.Option{frame.WithMaxSize(100)}, frame.Layout{}, 101, 100},
		{"raised at the limit", []frame.Option{frame.WithMaxSize(100), frame.WithMaxStreamSize(1000)}, frame.Layout{}, 1000, -1},
		{"raised above", []frame.Option{frame.WithMaxSize(100), frame.WithMaxStreamSize(1000)}, frame.Layout{}, 1001, 1000},
		{"lowered at the limit", []frame.Option{frame.WithMaxStreamSize(50)}, frame.Layout{}, 50, -1},
		{"lowered above", []frame.Option{frame.WithMaxStreamSize(50)}, frame.Layout{}, 51, 50},
		{"zero", []frame.Option{frame.WithMaxStreamSize(0)}, frame.Layout{}, 1, 0},
		{"layout bound", []frame.Option{frame.WithMaxStreamSize(1 << 40)}, frame.Layout{Length: frame.Uint16BE}, 65535, -1},
		{"8 GiB", []frame.Option{frame.WithMaxStreamSize(1 << 40)}, frame.Layout{Length: frame.Uint64BE}, 8 << 30, -1},
		{"2^64-1", []frame.Option{frame.WithMaxStreamSize(math.MaxInt64)}, frame.Layout{Length: frame.Uint64BE}, math.MaxUint64, math.MaxInt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hdr := refField(tt.layout.Length, tt.size)
			// Only the header is there: the limit must be checked
			// without reading further.
			src := io.MultiReader(bytes.NewReader(hdr), readerFunc(func([]byte) (int, error) {
				t.Error("read past the header")
				return 0, io.EOF
			}))
			r := frame.NewReader(src, append([]frame.Option{frame.WithLayout(tt.layout)}, tt.opts...)...)
			size, _, err := r.NextReader()
			if tt.max < 0 {
				if err != nil || uint64(size) != tt.size {
					t.Fatalf("NextReader = %d, %v; want %d accepted", size, err, tt.size)
				}
				return
			}
			var se *frame.SizeError
			if !errors.As(err, &se) {
				t.Fatalf("NextReader = %d, %v; want a *SizeError", size, err)
			}
			want := &frame.SizeError{Size: tt.size, Max: tt.max, Layout: tt.layout, HeaderBytes: hdr, Stream: true}
			if diff := cmp.Diff(want, se); diff != "" {
				t.Errorf("SizeError (-want +got):\n%s", diff)
			}
			if tt.max < frame.DefaultMaxSize && !strings.Contains(err.Error(), "WithMaxStreamSize") {
				t.Errorf("error %q does not name WithMaxStreamSize", err)
			}
			if r.Header() != nil {
				t.Errorf("Header = % x after a refused header, want nil", r.Header())
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		_, _, err := frame.NewReader(bytes.NewReader(hdr4(1))).NextReader()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = frame.NewReader(bytes.NewReader(hdr4(1)), frame.WithMaxStreamSize(-1)).NextReader()
		if !errors.Is(err, frame.ErrInvalidOption) {
			t.Errorf("WithMaxStreamSize(-1): %v, want ErrInvalidOption", err)
		}
	})
}

// hdr4 is a default header claiming n bytes.
func hdr4(n uint32) []byte { return refField(frame.Uint32BE, uint64(n)) }

// TestNextReaderOversizePolicy checks that a streamed message above the
// limit is sticky by default and skipped under WithDiscardOversize, on
// both sides of the message limit, while ReadMessage keeps the message
// limit.
func TestNextReaderOversizePolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []frame.Option
	}{
		{"above both limits", []frame.Option{frame.WithMaxSize(100), frame.WithMaxStreamSize(1000)}},
		{"below the message limit", []frame.Option{frame.WithMaxSize(5000), frame.WithMaxStreamSize(1000)}},
	} {
		stream := encode(t, frame.Uint32BE, payload(8, 2000), []byte("after"))
		for _, discard := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/discard=%v", tt.name, discard), func(t *testing.T) {
				t.Parallel()
				r := frame.NewReader(iotest.OneByteReader(bytes.NewReader(stream)), append(tt.opts, frame.WithDiscardOversize(discard))...)
				_, _, err := r.NextReader()
				var se *frame.SizeError
				if !errors.As(err, &se) || se.Size != 2000 || se.Max != 1000 || !se.Stream {
					t.Fatalf("NextReader: %v, want a *SizeError for 2000 bytes above 1000", err)
				}
				_, body, err := r.NextReader()
				if !discard {
					if err != se {
						t.Fatalf("second NextReader: %v, want the same sticky error", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("second NextReader: %v", err)
				}
				if m, err := readBody(body, 100); err != nil || string(m) != "after" {
					t.Fatalf("after the skipped payload: %q, %v", m, err)
				}
			})
		}
	}
	t.Run("ReadMessage keeps the message limit", func(t *testing.T) {
		t.Parallel()
		stream := encode(t, frame.Uint32BE, payload(9, 101), payload(9, 51))
		r := frame.NewReader(bytes.NewReader(stream), frame.WithMaxSize(100), frame.WithMaxStreamSize(1000), frame.WithDiscardOversize(true))
		var se *frame.SizeError
		if _, err := r.ReadMessage(); !errors.As(err, &se) || se.Max != 100 || se.Stream {
			t.Fatalf("ReadMessage of 101 bytes: %v, want a *SizeError with the message limit 100", err)
		}
		r = frame.NewReader(bytes.NewReader(stream[105:]), frame.WithMaxStreamSize(50))
		if m, err := r.ReadMessage(); err != nil || len(m) != 51 {
			t.Fatalf("ReadMessage of 51 bytes under a stream limit of 50: %d bytes, %v", len(m), err)
		}
	})
}

// TestNextReaderMix checks that ReadMessage, AppendMessage, Messages and
// NextReader (its body drained, half read or not read) mix on one Reader
// in every order: each sequence of three calls, repeated over a stream of
// messages of every size class, through adversarial readers. Each call
// returns its message, or the start of it that the body was read for.
func TestNextReaderMix(t *testing.T) {
	t.Parallel()
	type call struct {
		name string
		read func(r *frame.Reader) ([]byte, int, error) // what it read, and how much of the message that is (-1: all)
	}
	body := func(part func(size int) int) func(r *frame.Reader) ([]byte, int, error) {
		return func(r *frame.Reader) ([]byte, int, error) {
			size, body, err := r.NextReader()
			if err != nil {
				return nil, 0, err
			}
			n := part(int(size))
			got, err := readAtMost(body, n)
			return got, n, err
		}
	}
	calls := []call{
		{"ReadMessage", func(r *frame.Reader) ([]byte, int, error) { m, err := r.ReadMessage(); return m, -1, err }},
		{"AppendMessage", func(r *frame.Reader) ([]byte, int, error) { m, err := r.AppendMessage(nil); return m, -1, err }},
		{"Messages", func(r *frame.Reader) ([]byte, int, error) {
			for m, err := range r.Messages() {
				return m, -1, err
			}
			return nil, -1, io.EOF
		}},
		{"NextReader/all", body(func(size int) int { return size })},
		{"NextReader/half", body(func(size int) int { return size / 2 })},
		{"NextReader/none", body(func(int) int { return 0 })},
	}
	var msgs [][]byte
	for i, n := range []int{0, 7, 300, 4096, 5000, 70000, 1, 9000} {
		msgs = append(msgs, payload(uint64(100+i), n))
	}
	stream := encode(t, frame.Uint32BE, msgs...)
	for _, a := range calls {
		for _, b := range calls {
			for _, c := range calls {
				seq := []call{a, b, c}
				for _, rm := range []int{0, 2, 4} { // full, half, timeout
					name := fmt.Sprintf("%s,%s,%s/%s", a.name, b.name, c.name, readMakers[rm].name)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						r := frame.NewReader(readMakers[rm].fn(bytes.NewReader(stream)), frame.WithBufferSize(4096))
						for i, want := range msgs {
							cl := seq[i%len(seq)]
							var got []byte
							var n int
							var err error
							for range 1000 {
								if got, n, err = cl.read(r); !isTimeout(err) {
									break
								}
							}
							if n >= 0 {
								want = want[:n]
							}
							if err != nil || !bytes.Equal(got, want) {
								t.Fatalf("message %d by %s: %s, %v; want %s", i, cl.name, describe(got), err, describe(want))
							}
						}
						if _, _, err := seq[len(msgs)%len(seq)].read(r); err != io.EOF {
							t.Fatalf("after the last message: %v, want io.EOF", err)
						}
					})
				}
			}
		}
	}
}

// TestNextReaderTakesOverPayload checks that NextReader returns a message
// whose payload an interrupted ReadMessage or AppendMessage began, the
// bytes already received first, whether they are in the read buffer or
// in a payload buffer of their own.
func TestNextReaderTakesOverPayload(t *testing.T) {
	t.Parallel()
	reads := []struct {
		name string
		read func(r *frame.Reader) error
	}{
		{"ReadMessage", func(r *frame.Reader) error { _, err := r.ReadMessage(); return err }},
		{"AppendMessage", func(r *frame.Reader) error { _, err := r.AppendMessage(nil); return err }},
		{"AppendMessage/room", func(r *frame.Reader) error { _, err := r.AppendMessage(make([]byte, 0, 1<<20)); return err }},
	}
	for _, size := range []int{3000, 200000} {
		for _, rd := range reads {
			for _, n := range []int{1000, 0, -10} {
				t.Run(fmt.Sprintf("%d/%s/read%d", size, rd.name, n), func(t *testing.T) {
					t.Parallel()
					inBubble(t, func(t *testing.T) {
						msg := payload(10, size)
						stream := encode(t, frame.Uint32BE, msg, []byte("after"))
						c := stallAt(t, stream, 2000)
						r := frame.NewReader(c)
						if err := rd.read(r); !isTimeout(err) {
							t.Fatalf("%s: %v, want the timeout", rd.name, err)
						}
						if r.Buffered() != 2000-4 {
							t.Fatalf("Buffered = %d after the timeout, want %d", r.Buffered(), 2000-4)
						}
						c.resume()
						size64, body, err := r.NextReader()
						if err != nil || size64 != int64(size) {
							t.Fatalf("NextReader = %d, %v; want %d", size64, err, size)
						}
						if h := r.Header(); !bytes.Equal(h, stream[:4]) {
							t.Errorf("Header = % x, want % x", h, stream[:4])
						}
						if n < 0 {
							// Only the start: the next call skips the
							// rest, of which part is already received.
							msg = msg[:-n]
							got, err := readAtMost(body, -n)
							if err != nil || !bytes.Equal(got, msg) {
								t.Fatalf("body start: %s, %v; want %s", describe(got), err, describe(msg))
							}
						} else if got, err := readBody(body, n); err != nil || !bytes.Equal(got, msg) {
							t.Fatalf("body: %s, %v; want %s", describe(got), err, describe(msg))
						}
						if m, err := r.ReadMessage(); err != nil || string(m) != "after" {
							t.Fatalf("next message: %q, %v", m, err)
						}
					})
				})
			}
		}
	}
}

// TestNextReaderLayouts checks streaming with every layout: frames
// written by WriteFrameFrom (WriteMessageFrom without fields) are the
// reference encoding, and NextReader reads each back with its Header,
// through a reader that times out before every byte, so that every
// header and body resumes at every position.
func TestNextReaderLayouts(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			frames := layoutFrames(lt.layout, 20000)
			var wire bytes.Buffer
			w := frame.NewWriter(&wire, frame.WithLayout(lt.layout))
			for _, f := range frames {
				var err error
				if len(f.fields) == 0 {
					err = w.WriteMessageFrom(bytes.NewReader(f.payload), int64(len(f.payload)))
				} else {
					err = w.WriteFrameFrom(f.fields, bytes.NewReader(f.payload), int64(len(f.payload)))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := encodeFrames(lt.layout, frames...); !bytes.Equal(wire.Bytes(), want) {
				t.Fatalf("wire (%d bytes) is not the reference encoding (%d bytes)", wire.Len(), len(want))
			}
			r := frame.NewReader(&stutterReader{r: bytes.NewReader(wire.Bytes())}, frame.WithLayout(lt.layout), frame.WithBufferSize(512))
			for i, f := range frames {
				body := nextBody(t, r)
				// Header stays valid while the body is read.
				got, err := readBody(body, 300)
				if err != nil || !bytes.Equal(got, f.payload) {
					t.Fatalf("frame %d: body %s, %v; want %s", i, describe(got), err, describe(f.payload))
				}
				if h, want := r.Header(), refHeader(lt.layout, f); !bytes.Equal(h, want) {
					t.Fatalf("frame %d: Header = % x, want % x", i, h, want)
				}
			}
			if _, _, err := retryNext(r); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

// retryNext is NextReader, retrying timeouts.
func retryNext(r *frame.Reader) (int64, io.Reader, error) {
	for range 1000 {
		size, body, err := r.NextReader()
		if !isTimeout(err) {
			return size, body, err
		}
	}
	return 0, nil, errors.New("retryNext: no end of timeouts")
}
