package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/framesock/framesock/frame"
)

// FuzzReader feeds arbitrary bytes to a Reader with every header format
// (hdr selects one) and checks that it never panics, never holds memory
// past what the maximum allows, that each message it returns re-encodes to
// exactly the bytes it consumed, and that its error says truthfully why it
// stopped.
func FuzzReader(f *testing.F) {
	for i, h := range headers {
		f.Add(encode(f, h, []byte("hello"), nil, []byte("world")), uint8(i), uint16(100), uint8(0))
		f.Add(encode(f, h, make([]byte, 700), []byte("x")), uint8(i), uint16(600), uint8(3))
		f.Add(encode(f, h, make([]byte, 300))[:200], uint8(i), uint16(1000), uint8(1))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"), uint8(0), uint16(1000), uint8(2))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, uint8(4), uint16(10), uint8(0))
	f.Add([]byte{0x80, 0x00}, uint8(4), uint16(10), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, hdr uint8, maxSize uint16, flags uint8) {
		h := headers[int(hdr)%len(headers)]
		limit := int(maxSize)
		discard := flags&1 != 0
		var src io.Reader = bytes.NewReader(data)
		if flags&2 != 0 {
			src = iotest.HalfReader(src)
		}
		if flags&4 != 0 {
			src = iotest.OneByteReader(src)
		}
		r := frame.NewReader(src, frame.WithHeader(h), frame.WithMaxSize(limit),
			frame.WithDiscardOversize(discard), frame.WithBufferSize(512))
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
			sc.Buffer(nil, limit+16)
			sc.Split(h.SplitFunc(limit))
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
				enc, _ := h.AppendLength(nil, uint64(len(m)))
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
				n, hl, perr := h.ParseLength(data[pos:])
				if perr != nil || hl == 0 || n != se.Size || n <= uint64(limit) || !bytes.Equal(se.HeaderBytes, data[pos:pos+hl]) {
					t.Fatalf("SizeError %+v at offset %d does not match the header there", se, pos)
				}
				if discard {
					pos += hl + int(min(n, uint64(len(data)-pos-hl)))
					continue
				}
			case errors.Is(err, io.ErrUnexpectedEOF):
				n, hl, perr := h.ParseLength(data[pos:])
				if perr != nil || (hl > 0 && uint64(len(data)-pos-hl) >= n) {
					t.Fatalf("io.ErrUnexpectedEOF at offset %d, but a whole frame is there (%d+%d bytes)", pos, hl, n)
				}
			case errors.Is(err, frame.ErrInvalidHeader):
				if _, _, perr := h.ParseLength(data[pos:]); perr == nil {
					t.Fatalf("ErrInvalidHeader at offset %d, but the header there parses", pos)
				}
			default:
				t.Fatalf("unexpected error %v", err)
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

// FuzzRoundTrip splits arbitrary bytes into messages, writes them through
// a Writer with every header format, in a random mix of WriteMessage,
// WriteBatch and Flush, and reads them back through a Reader over a
// random adversarial reader: the wire must be the reference encoding and
// the messages must come back equal.
func FuzzRoundTrip(f *testing.F) {
	for i := range headers {
		f.Add([]byte("hello, framed world"), uint8(i), uint64(1))
		f.Add(bytes.Repeat([]byte{0xAB}, 3000), uint8(i), uint64(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, hdr uint8, seed uint64) {
		h := headers[int(hdr)%len(headers)]
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		var msgs [][]byte
		for rest := data; len(rest) > 0 || len(msgs) == 0; {
			n := rng.IntN(len(rest) + 1)
			if rng.IntN(8) == 0 {
				n = 0
			}
			msgs = append(msgs, rest[:n:n])
			rest = rest[n:]
			if len(msgs) > 1000 {
				break
			}
		}
		// Sometimes a message larger than the 512-byte buffers, to take
		// the paths that bypass them.
		if rng.IntN(4) == 0 && len(data) > 0 {
			msgs = append(msgs, bytes.Repeat(data, 2000/len(data)+1))
		}

		var wire bytes.Buffer
		w := frame.NewWriter(&wire, frame.WithHeader(h), frame.WithBufferSize(512))
		for i := 0; i < len(msgs); {
			var err error
			switch rng.IntN(4) {
			case 0:
				k := i + rng.IntN(len(msgs)-i) + 1
				err = w.WriteBatch(msgs[i:k]...)
				i = k
			case 1:
				err = w.Flush()
			default:
				err = w.WriteMessage(msgs[i])
				i++
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := encode(t, h, msgs...); !bytes.Equal(want, wire.Bytes()) {
			t.Fatalf("wire (%d bytes) differs from the reference encoding (%d bytes)", wire.Len(), len(want))
		}

		src := readMakers[rng.IntN(len(readMakers))].fn(bytes.NewReader(wire.Bytes()))
		r := frame.NewReader(src, frame.WithHeader(h), frame.WithBufferSize(512))
		got, err := collect(t, r.ReadMessage)
		if err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
		if diff := diffMessages(msgs, got); diff != "" {
			t.Fatalf("messages (-want +got):\n%s", diff)
		}
	})
}
