package interop_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
)

// maxFrames bounds every read loop of these tests.
const maxFrames = 1000

// record is one frame as a frame.Reader returned it.
type record struct {
	header  []byte // Reader.Header
	payload []byte
}

// fields returns the header fields that Writer.WriteFrame takes to write
// rec again in layout l: the Offset bytes, then the After bytes.
func (rec record) fields(l frame.Layout) []byte {
	h := rec.header
	return append(h[:l.Offset:l.Offset], h[len(h)-l.After:]...)
}

// size returns the length of rec on the wire.
func (rec record) size() int { return len(rec.header) + len(rec.payload) }

// next reads one frame from r and copies it out of r's buffers.
func next(r *frame.Reader) (record, error) {
	p, err := r.ReadMessage()
	if err != nil {
		return record{}, err
	}
	return record{header: bytes.Clone(r.Header()), payload: bytes.Clone(p)}, nil
}

// readAll reads frames from r until io.EOF, which it requires: the stream
// must end exactly at the end of a frame.
func readAll(t *testing.T, r *frame.Reader) []record {
	t.Helper()
	var recs []record
	for range maxFrames {
		rec, err := next(r)
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("reading frame %d: %v", len(recs), err)
		}
		recs = append(recs, rec)
	}
	t.Fatalf("more than %d frames", maxFrames)
	return nil
}

// writeAll writes recs to w with WriteFrame in layout l, the layout w
// writes with, and flushes.
func writeAll(t *testing.T, w *frame.Writer, l frame.Layout, recs []record) {
	t.Helper()
	for i, rec := range recs {
		if err := w.WriteFrame(rec.fields(l), rec.payload); err != nil {
			t.Fatalf("WriteFrame of frame %d: %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// reframe reads every frame of stream with layout l and writes them back
// with WriteFrame. It returns the frames and the bytes written.
func reframe(t *testing.T, l frame.Layout, stream []byte, opts ...frame.Option) ([]record, []byte) {
	t.Helper()
	opts = append(opts, frame.WithLayout(l))
	recs := readAll(t, frame.NewReader(bytes.NewReader(stream), opts...))
	var out bytes.Buffer
	writeAll(t, frame.NewWriter(&out, opts...), l, recs)
	return recs, out.Bytes()
}

// sameSlices makes cmp.Diff compare byte slices with bytes.Equal, so that
// megabytes compare in microseconds rather than element by element. A nil
// slice still differs from an empty one, as SQL NULL from an empty string.
var sameSlices = cmp.Comparer(func(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
})

// sameBytes fails t unless got is want, naming the first difference
// rather than printing streams that may be megabytes long.
func sameBytes(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Errorf("%s: %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}
