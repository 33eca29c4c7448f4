package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/framesock/framesock/frame"
)

// fuzzLayout draws a layout from fuzz inputs: any length format, up to 7
// bytes of header before and after it, and an Adjust in [-128, 127].
func fuzzLayout(hdr, offset, after uint8, adjust int8) frame.Layout {
	return frame.Layout{
		Offset: int(offset % 8),
		Length: headers[int(hdr)%len(headers)],
		After:  int(after % 8),
		Adjust: int(adjust),
	}
}

// parseAt is ParseHeader with the payload length as uint64, so that a
// claim beyond int is compared, not reported.
func parseAt(l frame.Layout, b []byte) (hl int, n uint64, err error) {
	hl, pl, err := l.ParseHeader(b)
	var se *frame.SizeError
	if errors.As(err, &se) && se.Max == math.MaxInt {
		return len(se.HeaderBytes), se.Size, nil
	}
	return hl, uint64(pl), err
}

// FuzzReader feeds arbitrary bytes to a Reader with a random layout and
// checks that it never panics, never holds memory past what the maximum
// allows, that each message and its Header re-encode to exactly the bytes
// it consumed, that its error says truthfully why it stopped, and that a
// Scanner with the layout's SplitFunc agrees with it.
func FuzzReader(f *testing.F) {
	for i, h := range headers {
		l := frame.Layout{Length: h}
		f.Add(encodeFrames(l, testFrame{nil, []byte("hello")}, testFrame{nil, nil}, testFrame{nil, []byte("world")}), uint8(i), uint16(100), uint8(0), uint8(0), uint8(0), int8(0))
		f.Add(encodeFrames(l, testFrame{nil, make([]byte, 200)}, testFrame{nil, []byte("x")}), uint8(i), uint16(150), uint8(3), uint8(0), uint8(0), int8(0))
		f.Add(encodeFrames(l, testFrame{nil, make([]byte, 250)})[:100], uint8(i), uint16(1000), uint8(1), uint8(0), uint8(0), int8(0))
	}
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	f.Add(encodeFrames(pg, testFrame{[]byte("Q"), []byte("select 1\x00")}, testFrame{[]byte("S"), nil}), uint8(0), uint16(100), uint8(4), uint8(1), uint8(0), int8(-4))
	h2 := frame.Layout{Length: frame.Uint24BE, After: 6}
	f.Add(encodeFrames(h2, testFrame{[]byte("\x04\x00\x00\x00\x00\x00"), nil}), uint8(7), uint16(100), uint8(2), uint8(0), uint8(6), int8(0))
	f.Add([]byte{'Q', 0, 0, 0, 3}, uint8(0), uint16(100), uint8(0), uint8(1), uint8(0), int8(-4))
	f.Add([]byte("GET / HTTP/1.1\r\n"), uint8(0), uint16(1000), uint8(2), uint8(0), uint8(0), int8(0))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, uint8(4), uint16(10), uint8(0), uint8(0), uint8(0), int8(0))
	f.Add([]byte{0x80, 0x00}, uint8(4), uint16(10), uint8(0), uint8(0), uint8(0), int8(0))
	f.Fuzz(func(t *testing.T, data []byte, hdr uint8, maxSize uint16, flags uint8, offset, after uint8, adjust int8) {
		l := fuzzLayout(hdr, offset, after, adjust)
		limit := int(maxSize)
		discard := flags&1 != 0
		var src io.Reader = bytes.NewReader(data)
		if flags&2 != 0 {
			src = iotest.HalfReader(src)
		}
		if flags&4 != 0 {
			src = iotest.OneByteReader(src)
		}
		r := frame.NewReader(src, frame.WithLayout(l), frame.WithMaxSize(limit),
			frame.WithDiscardOversize(discard), frame.WithBufferSize(512))
		if l.Adjust > limit {
			// The layout cannot be right: refused, nothing read.
			if _, err := r.ReadMessage(); !errors.Is(err, frame.ErrInvalidOption) {
				t.Fatalf("layout %+v with maximum %d: err = %v, want ErrInvalidOption", l, limit, err)
			}
			return
		}
		// The most a Reader may hold: its buffer, the payload buffer
		// of a message (rounded up to a power of two) and the one it
		// returned last.
		maxHeld := 512 + 4*max(limit, 64<<10)
		pos := 0 // bytes of data accounted for
		var msgs [][]byte
		// The Scanner form must agree with the Reader: the same
		// messages, and an error exactly when the Reader's is not EOF.
		defer func() {
			if discard || t.Failed() {
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, limit+frame.MaxHeaderLen)
			sc.Split(l.SplitFunc(limit))
			var tokens [][]byte
			for sc.Scan() {
				tokens = append(tokens, bytes.Clone(sc.Bytes()))
			}
			if diff := diffMessages(msgs, tokens); diff != "" {
				t.Fatalf("Scanner tokens differ from the Reader's messages (-reader +scanner):\n%s", diff)
			}
			if (sc.Err() == nil) != (pos == len(data)) {
				t.Fatalf("Scanner error %v, but the Reader stopped at offset %d of %d", sc.Err(), pos, len(data))
			}
		}()
		for range len(data) + 2 {
			m, err := r.ReadMessage()
			if held := r.HeldBytes(); held > maxHeld {
				t.Fatalf("holding %d bytes with a maximum of %d", held, limit)
			}
			var se *frame.SizeError
			switch {
			case err == nil:
				if len(m) > limit {
					t.Fatalf("returned %d bytes, above the maximum %d", len(m), limit)
				}
				h := r.Header()
				if len(h) < l.Offset+l.After+1 || !bytes.HasPrefix(data[pos:], h) {
					t.Fatalf("Header % x at offset %d is not the header there", h, pos)
				}
				enc, err := l.AppendHeader(nil, headerOf(l, h), len(m))
				if err != nil {
					t.Fatalf("AppendHeader of a message read: %v", err)
				}
				enc = append(enc, m...)
				if !bytes.HasPrefix(data[pos:], enc) {
					t.Fatalf("message of %d bytes at offset %d does not re-encode to the bytes consumed", len(m), pos)
				}
				pos += len(enc)
				msgs = append(msgs, bytes.Clone(m))
				continue
			case err == io.EOF:
				if pos != len(data) {
					t.Fatalf("io.EOF at offset %d of %d", pos, len(data))
				}
			case errors.As(err, &se):
				hl, n, perr := parseAt(l, data[pos:])
				if perr != nil || hl == 0 || n != se.Size || n <= uint64(limit) || !bytes.Equal(se.HeaderBytes, data[pos:pos+hl]) || se.Layout != l {
					t.Fatalf("SizeError %+v at offset %d does not match the header there", se, pos)
				}
				if discard {
					pos += hl + int(min(n, uint64(len(data)-pos-hl)))
					continue
				}
			case errors.Is(err, io.ErrUnexpectedEOF):
				hl, n, perr := parseAt(l, data[pos:])
				if perr != nil || (hl > 0 && uint64(len(data)-pos-hl) >= n) {
					t.Fatalf("io.ErrUnexpectedEOF at offset %d, but a whole frame is there (%d+%d bytes)", pos, hl, n)
				}
			case errors.Is(err, frame.ErrInvalidHeader):
				if _, _, perr := parseAt(l, data[pos:]); !errors.Is(perr, frame.ErrInvalidHeader) {
					t.Fatalf("ErrInvalidHeader at offset %d, but the header there parses", pos)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			if r.Header() != nil {
				t.Fatalf("Header = % x after %v, want nil", r.Header(), err)
			}
			// Every error except io.EOF is sticky, and io.EOF repeats.
			if _, err2 := r.ReadMessage(); err2 != err && !(errors.Is(err2, io.EOF) && errors.Is(err, io.EOF)) {
				t.Fatalf("after %v, the next call returned %v", err, err2)
			}
			return
		}
		t.Fatal("more messages than bytes")
	})
}

// FuzzRoundTrip splits arbitrary bytes into frames with random header
// fields, writes them through a Writer with a random layout, in a random
// mix of WriteFrame (WriteMessage and WriteBatch when the layout has no
// fields) and Flush, and reads them back through a Reader over a random
// adversarial reader: the wire must be the reference encoding, and the
// payloads and headers must come back equal.
func FuzzRoundTrip(f *testing.F) {
	for i := range headers {
		f.Add([]byte("hello, framed world"), uint8(i), uint64(1), uint8(0), uint8(0), int8(0))
		f.Add(bytes.Repeat([]byte{0xAB}, 3000), uint8(i), uint64(2), uint8(1), uint8(2), int8(-3))
	}
	f.Fuzz(func(t *testing.T, data []byte, hdr uint8, seed uint64, offset, after uint8, adjust int8) {
		l := fuzzLayout(hdr, offset, after, adjust)
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		lo, hi := max(0, l.Adjust), maxPayload(l, 1<<20)
		next := func(n int) []byte { // n bytes of data, cycled
			b := make([]byte, n)
			for i := range b {
				if len(data) > 0 {
					b[i] = data[(i+len(b))%len(data)]
				}
			}
			return b
		}
		var frames []testFrame
		for rest := len(data); rest > 0 || len(frames) == 0; {
			n := min(max(rng.IntN(rest+1), lo), hi)
			if rng.IntN(8) == 0 {
				n = lo
			}
			frames = append(frames, testFrame{next(l.Offset + l.After), next(n)})
			rest -= min(rest, max(n, 1))
			if len(frames) > 1000 {
				break
			}
		}
		// Sometimes a payload larger than the 512-byte buffers, to take
		// the paths that bypass them.
		if rng.IntN(4) == 0 && hi >= 2000 {
			frames = append(frames, testFrame{next(l.Offset + l.After), next(max(2000, lo))})
		}

		var wire bytes.Buffer
		w := frame.NewWriter(&wire, frame.WithLayout(l), frame.WithBufferSize(512))
		plain := l.Offset+l.After == 0
		for i := 0; i < len(frames); {
			var err error
			switch rng.IntN(5) {
			case 0:
				if plain {
					k := i + rng.IntN(len(frames)-i) + 1
					err = w.WriteBatch(payloads(frames[i:k])...)
					i = k
				}
			case 1:
				err = w.Flush()
			case 2:
				if plain {
					err = w.WriteMessage(frames[i].payload)
					i++
				}
			default:
				err = w.WriteFrame(frames[i].fields, frames[i].payload)
				i++
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := encodeFrames(l, frames...); !bytes.Equal(want, wire.Bytes()) {
			t.Fatalf("wire (%d bytes) differs from the reference encoding (%d bytes)", wire.Len(), len(want))
		}

		src := readMakers[rng.IntN(len(readMakers))].fn(bytes.NewReader(wire.Bytes()))
		r := frame.NewReader(src, frame.WithLayout(l), frame.WithBufferSize(512))
		var hdrs [][]byte
		got, err := collect(t, func() ([]byte, error) {
			m, err := r.ReadMessage()
			if err == nil {
				hdrs = append(hdrs, bytes.Clone(r.Header()))
			}
			return m, err
		})
		if err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
		if diff := diffMessages(payloads(frames), got); diff != "" {
			t.Fatalf("payloads (-want +got):\n%s", diff)
		}
		for i, f := range frames {
			if !bytes.Equal(hdrs[i], refHeader(l, f)) {
				t.Fatalf("frame %d: Header = % x, want % x", i, hdrs[i], refHeader(l, f))
			}
		}
	})
}

// FuzzStream reads arbitrary bytes with a random layout twice: once with
// ReadMessage, the reference, and once mixing ReadMessage, AppendMessage
// and NextReader whose bodies are drained, read in part or not at all,
// through a reader that may time out. It checks that the mixed reads never
// panic nor hold memory past the maximum, and stay in sync: each returns
// the reference's message (or the start of it that was read), or its
// error.
func FuzzStream(f *testing.F) {
	for i, h := range headers {
		l := frame.Layout{Length: h}
		f.Add(encodeFrames(l, testFrame{nil, []byte("hello")}, testFrame{nil, nil}, testFrame{nil, make([]byte, 700)}, testFrame{nil, []byte("world")}), uint8(i), uint16(1000), uint8(0), uint64(1), uint8(0), uint8(0), int8(0))
		f.Add(encodeFrames(l, testFrame{nil, make([]byte, 300)}, testFrame{nil, []byte("x")})[:200], uint8(i), uint16(1000), uint8(2), uint64(2), uint8(0), uint8(0), int8(0))
		f.Add(encodeFrames(l, testFrame{nil, make([]byte, 200)}, testFrame{nil, []byte("x")}), uint8(i), uint16(150), uint8(1), uint64(3), uint8(0), uint8(0), int8(0))
	}
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	f.Add(encodeFrames(pg, testFrame{[]byte("d"), make([]byte, 2000)}, testFrame{[]byte("c"), nil}), uint8(0), uint16(5000), uint8(2), uint64(4), uint8(1), uint8(0), int8(-4))
	f.Fuzz(func(t *testing.T, data []byte, hdr uint8, maxSize uint16, flags uint8, seed uint64, offset, after uint8, adjust int8) {
		l := fuzzLayout(hdr, offset, after, adjust)
		limit := int(maxSize)
		if l.Adjust > limit {
			return // refused when given: FuzzReader checks that
		}
		opts := []frame.Option{frame.WithLayout(l), frame.WithMaxSize(limit),
			frame.WithDiscardOversize(flags&1 != 0), frame.WithBufferSize(512)}

		// The reference: each message, or the error in its place.
		type result struct {
			msg []byte
			err error
		}
		var want []result
		ref := frame.NewReader(bytes.NewReader(data), opts...)
		for range len(data) + 2 {
			m, err := ref.ReadMessage()
			want = append(want, result{bytes.Clone(m), err})
			if err != nil && !(flags&1 != 0 && errors.Is(err, frame.ErrTooLarge)) {
				break
			}
		}

		rng := rand.New(rand.NewPCG(seed, seed>>32))
		var src io.Reader = bytes.NewReader(data)
		if flags&2 != 0 {
			src = iotest.TimeoutReader(iotest.HalfReader(src))
		}
		r := frame.NewReader(src, opts...)
		// call reads the next message one way, retrying timeouts, and
		// returns what it read and how much of the message that is
		// (-1: all of it).
		call := func() ([]byte, int, error) {
			for range 100 {
				var m []byte
				var err error
				n := -1
				switch k := rng.IntN(5); k {
				case 0:
					m, err = r.ReadMessage()
				case 1:
					m, err = r.AppendMessage(nil)
				default:
					var size int64
					var body io.Reader
					if size, body, err = r.NextReader(); err == nil {
						n = [...]int{0, int(size), rng.IntN(int(size) + 1)}[k-2]
						m, err = readAtMost(body, n)
					}
				}
				if !isTimeout(err) {
					return m, n, err
				}
			}
			t.Fatal("no end of timeouts")
			return nil, 0, nil
		}
		maxHeld := 512 + 4*max(limit, 64<<10)
		for i, w := range want {
			got, n, err := call()
			if held := r.HeldBytes(); held > maxHeld {
				t.Fatalf("holding %d bytes with a maximum of %d", held, limit)
			}
			switch {
			case w.err == nil:
				if n >= 0 {
					w.msg = w.msg[:n]
				}
				if err != nil || !bytes.Equal(got, w.msg) {
					t.Fatalf("message %d: %s, %v; want %s", i, describe(got), err, describe(w.msg))
				}
				continue
			case errors.Is(w.err, io.ErrUnexpectedEOF) && err == nil && n >= 0:
				// A body read in part before the cut: the next
				// call meets it.
				if _, _, err = call(); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("message %d after a body read in part: %v, want io.ErrUnexpectedEOF", i, err)
				}
			case w.err == io.EOF:
				if err != io.EOF {
					t.Fatalf("message %d: %v, want io.EOF", i, err)
				}
			}
			var wse, se *frame.SizeError
			switch {
			case errors.As(w.err, &wse):
				if !errors.As(err, &se) || se.Size != wse.Size || se.Max != wse.Max {
					t.Fatalf("message %d: %v, want %v", i, err, w.err)
				}
			case errors.Is(w.err, io.ErrUnexpectedEOF):
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("message %d: %v, want %v", i, err, w.err)
				}
			case errors.Is(w.err, frame.ErrInvalidHeader):
				if !errors.Is(err, frame.ErrInvalidHeader) {
					t.Fatalf("message %d: %v, want %v", i, err, w.err)
				}
			}
		}
	})
}
