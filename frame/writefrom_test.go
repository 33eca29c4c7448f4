package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"testing"
	"testing/iotest"

	"github.com/framesock/framesock/frame"
)

// streamSizes are the payload sizes of streamed messages that take each
// path: into the buffer, through a copy in chunks (one, two and more).
var streamSizes = []int{0, 1, 1000, 5000, 300000, 1 << 20}

// TestWriteMessageFromMixed checks that streamed messages mix with
// WriteMessage and WriteBatch in any order: the wire is the reference
// encoding, and bytes buffered before a streamed message go out before it.
func TestWriteMessageFromMixed(t *testing.T) {
	t.Parallel()
	for _, size := range streamSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			big := payload(20, size)
			var w countingWriter
			fw := frame.NewWriter(&w)
			steps := []func() error{
				func() error { return fw.WriteMessage([]byte("a")) },
				func() error { return fw.WriteMessageFrom(bytes.NewReader(big), int64(size)) },
				func() error { return fw.WriteMessage([]byte("b")) },
				func() error { return fw.WriteBatch([]byte("c"), big) },
				func() error { return fw.WriteMessageFrom(iotest.HalfReader(bytes.NewReader(big)), int64(size)) },
				fw.Flush,
			}
			for _, step := range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			want := encode(t, frame.Uint32BE, []byte("a"), big, []byte("b"), []byte("c"), big, big)
			if !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("wire (%d bytes) is not the reference encoding (%d bytes)", w.Len(), len(want))
			}
		})
	}
}

// failReader fails the test if it is read.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("src was read")
	return 0, io.EOF
}

// TestWriteMessageFromRefused checks that a size the Writer cannot send
// is refused before src is read or any byte written, and that the Writer
// stays usable.
func TestWriteMessageFromRefused(t *testing.T) {
	t.Parallel()
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	amqp := frame.Layout{Offset: 3, Length: frame.Uint32BE, Adjust: 1}
	tests := []struct {
		name     string
		layout   frame.Layout
		opts     []frame.Option
		fields   []byte // nil: WriteMessageFrom
		size     int64
		want     error
		max      uint64 // the limit a *SizeError reports (at most math.MaxInt), 0 if none
		okFields []byte // fields of a frame the layout takes
	}{
		{"negative", frame.Layout{}, nil, nil, -1, nil, 0, nil},
		{"above the default", frame.Layout{}, nil, nil, frame.DefaultMaxSize + 1, frame.ErrTooLarge, frame.DefaultMaxSize, nil},
		{"above WithMaxSize", frame.Layout{}, []frame.Option{frame.WithMaxSize(100)}, nil, 101, frame.ErrTooLarge, 100, nil},
		{"above WithMaxStreamSize", frame.Layout{}, []frame.Option{frame.WithMaxStreamSize(1000)}, nil, 1001, frame.ErrTooLarge, 1000, nil},
		{"beyond Uint16BE", frame.Layout{Length: frame.Uint16BE}, []frame.Option{frame.WithMaxStreamSize(1 << 40)}, nil, 65536, frame.ErrTooLarge, 65535, nil},
		{"beyond Uint32BE", frame.Layout{}, []frame.Option{frame.WithMaxStreamSize(1 << 40)}, nil, 1 << 32, frame.ErrTooLarge, 1<<32 - 1, nil},
		{"beyond PostgreSQL", pg, []frame.Option{frame.WithMaxStreamSize(1 << 40)}, []byte("d"), 1<<32 - 4, frame.ErrTooLarge, 1<<32 - 5, []byte("d")},
		{"WriteMessageFrom with fields", pg, nil, nil, 10, frame.ErrLayoutMismatch, 0, []byte("d")},
		{"wrong fields", pg, nil, []byte("dd"), 10, frame.ErrLayoutMismatch, 0, []byte("d")},
		{"below Adjust", amqp, nil, []byte("abc"), 0, frame.ErrLayoutMismatch, 0, []byte("abc")},
		{"invalid option", frame.Layout{}, []frame.Option{frame.WithMaxStreamSize(-1)}, nil, 10, frame.ErrInvalidOption, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w countingWriter
			fw := frame.NewWriter(&w, append([]frame.Option{frame.WithLayout(tt.layout)}, tt.opts...)...)
			if err := fw.WriteMessage(nil); err != nil && tt.okFields == nil && tt.want != frame.ErrInvalidOption {
				t.Fatal(err)
			}
			before := fw.Buffered()
			var err error
			if tt.fields == nil {
				err = fw.WriteMessageFrom(failReader{t}, tt.size)
			} else {
				err = fw.WriteFrameFrom(tt.fields, failReader{t}, tt.size)
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var se *frame.SizeError
			if tt.max != 0 && (!errors.As(err, &se) || uint64(se.Max) != min(tt.max, math.MaxInt) || se.Size != uint64(tt.size) || !se.Stream) {
				t.Errorf("err = %#v, want a *SizeError for %d bytes above %d", err, tt.size, tt.max)
			}
			if w.writes != 0 || fw.Buffered() != before {
				t.Errorf("%d writes, %d bytes buffered after a refused message, want 0, %d", w.writes, fw.Buffered(), before)
			}
			if tt.want == frame.ErrInvalidOption {
				return
			}
			// The Writer is still usable.
			if err := fw.WriteFrameFrom(tt.okFields, bytes.NewReader([]byte("ok")), 2); err != nil {
				t.Fatalf("next message: %v", err)
			}
			if err := fw.Flush(); err != nil {
				t.Fatal(err)
			}
			msgs := []testFrame{{tt.okFields, []byte("ok")}}
			if tt.okFields == nil {
				msgs = append([]testFrame{{nil, []byte{}}}, msgs...)
			}
			if want := encodeFrames(tt.layout, msgs...); !bytes.Equal(w.Bytes(), want) {
				t.Errorf("wire % x, want % x", w.Bytes(), want)
			}
		})
	}
}

// TestWriteMessageFromShortSource checks that a src ending before size
// bytes is an error matching io.ErrUnexpectedEOF that every later call
// returns, whether the message was to be buffered or streamed.
func TestWriteMessageFromShortSource(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ size, have int }{{10, 0}, {10, 9}, {5000, 100}, {600000, 0}, {600000, 300000}, {600000, 599999}} {
		t.Run(fmt.Sprintf("%d of %d", tt.have, tt.size), func(t *testing.T) {
			t.Parallel()
			var w countingWriter
			fw := frame.NewWriter(&w)
			err := fw.WriteMessageFrom(bytes.NewReader(make([]byte, tt.have)), int64(tt.size))
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
			}
			later := map[string]error{
				"WriteMessage":     fw.WriteMessage([]byte("x")),
				"WriteFrame":       fw.WriteFrame(nil, []byte("x")),
				"WriteBatch":       fw.WriteBatch([]byte("x")),
				"WriteMessageFrom": fw.WriteMessageFrom(bytes.NewReader([]byte("x")), 1),
				"Flush":            fw.Flush(),
			}
			for call, err2 := range later {
				if err2 != err {
					t.Errorf("%s after a short source: %v, want the same error %v", call, err2, err)
				}
			}
		})
	}
}

// errSource is what a failing src returns.
var errSource = errors.New("source failed")

// TestWriteMessageFromSourceError checks that an error of src is returned
// as it is: before any byte of the message was written, the Writer stays
// usable and nothing of the message reached the wire; after, the Writer
// is broken with an error that wraps it.
func TestWriteMessageFromSourceError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		size, fail int
		broken     bool
	}{{10, 0, false}, {10, 5, false}, {5000, 0, false}, {600000, 0, false}, {600000, 1000, false}, {600000, 300000, true}} {
		t.Run(fmt.Sprintf("%d after %d", tt.size, tt.fail), func(t *testing.T) {
			t.Parallel()
			var w countingWriter
			fw := frame.NewWriter(&w)
			if err := fw.WriteMessage([]byte("before")); err != nil {
				t.Fatal(err)
			}
			src := io.MultiReader(bytes.NewReader(make([]byte, tt.fail)), iotest.ErrReader(errSource))
			if err := fw.WriteMessageFrom(src, int64(tt.size)); err != errSource {
				t.Fatalf("err = %v, want errSource itself", err)
			}
			err := fw.WriteMessage([]byte("after"))
			if !tt.broken {
				if err != nil {
					t.Fatalf("WriteMessage after: %v", err)
				}
				if err := fw.Flush(); err != nil {
					t.Fatal(err)
				}
				if want := encode(t, frame.Uint32BE, []byte("before"), []byte("after")); !bytes.Equal(w.Bytes(), want) {
					t.Errorf("wire % x, want % x: nothing of the failed message", w.Bytes(), want)
				}
				return
			}
			if !errors.Is(err, errSource) || err == errSource {
				t.Errorf("WriteMessage after the message was cut: %v, want an error wrapping errSource", err)
			}
			if fw.Flush() != err {
				t.Errorf("Flush: %v, want the same sticky error", fw.Flush())
			}
		})
	}
}

// TestWriteMessageFromTimeouts checks the sides of a timeout: while the
// bytes buffered before the message are written, and before any byte of
// the message is, it is not sticky and the message is not sent (src is
// not even read in the first case), as for Flush; once the message is on
// its way, it breaks the Writer, because the rest of src cannot be kept.
// The peer reads slowly: a write times out once 1000 bytes are in flight.
func TestWriteMessageFromTimeouts(t *testing.T) {
	t.Parallel()
	big := payload(22, 600000)
	t.Run("before the message", func(t *testing.T) {
		t.Parallel()
		inBubble(t, func(t *testing.T) {
			peer := newSlowPeer(t, 1000)
			fw := frame.NewWriter(peer.w)
			// The buffered message cannot go out in one write.
			first := payload(21, 3000)
			if err := fw.WriteMessage(first); err != nil {
				t.Fatal(err)
			}
			err := peer.try(func() error { return fw.WriteMessageFrom(failReader{t}, int64(len(big))) })
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want the timeout", err)
			}
			peer.flush(t, fw)
			got, err := collect(t, frame.NewReader(bytes.NewReader(peer.received(t))).ReadMessage)
			if diff := diffMessages([][]byte{first}, got); diff != "" || err != io.EOF {
				t.Errorf("wire: %v (-want +got):\n%s", err, diff)
			}
		})
	})
	t.Run("before its first byte", func(t *testing.T) {
		t.Parallel()
		inBubble(t, func(t *testing.T) {
			peer := newSlowPeer(t, 1000)
			fw := frame.NewWriter(peer.w)
			peer.w.SetWriteDeadline(past)
			if err := fw.WriteMessageFrom(bytes.NewReader(big), int64(len(big))); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want the timeout", err)
			}
			if err := fw.WriteMessage([]byte("after")); err != nil {
				t.Fatalf("WriteMessage after a message that was not begun: %v", err)
			}
			peer.flush(t, fw)
			got, err := collect(t, frame.NewReader(bytes.NewReader(peer.received(t))).ReadMessage)
			if diff := diffMessages([][]byte{[]byte("after")}, got); diff != "" || err != io.EOF {
				t.Errorf("wire: %v (-want +got):\n%s", err, diff)
			}
		})
	})
	t.Run("inside the message", func(t *testing.T) {
		t.Parallel()
		inBubble(t, func(t *testing.T) {
			peer := newSlowPeer(t, 1000)
			fw := frame.NewWriter(peer.w)
			err := peer.try(func() error { return fw.WriteMessageFrom(bytes.NewReader(big), int64(len(big))) })
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want the timeout", err)
			}
			if err2 := fw.WriteMessage([]byte("x")); !errors.Is(err2, os.ErrDeadlineExceeded) || err2 == err {
				t.Errorf("after a timeout inside the message: %v, want a sticky error wrapping the timeout", err2)
			}
			if n := len(peer.received(t)); n != 1000 {
				t.Errorf("%d bytes on the wire, want the 1000 written before the timeout", n)
			}
		})
	})
}

// TestStreamAllocs checks that streaming through the copy paths takes no
// memory per message in steady state, but for the body NextReader
// returns: WriteMessageFrom's buffer and the one the body copies through
// come from the pools.
func TestStreamAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: sync.Pool drops buffers at random under the race detector")
	}
	big := payload(23, 1<<20)
	src := bytes.NewReader(big)
	w := frame.NewWriter(io.Discard)
	write := func() {
		src.Reset(big)
		if err := w.WriteMessageFrom(src, int64(len(big))); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if n := testing.AllocsPerRun(20, write); n != 0 {
		t.Errorf("WriteMessageFrom of 1 MiB: %v allocations, want 0", n)
	}
	r := frame.NewReader(&loopReader{data: encode(t, frame.Uint32BE, big)})
	var sink countingWriter
	read := func() {
		sink.Reset()
		_, body, err := r.NextReader()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := body.(io.WriterTo).WriteTo(&sink); err != nil || n != int64(len(big)) {
			t.Fatalf("WriteTo = %d, %v", n, err)
		}
	}
	read()
	if n := testing.AllocsPerRun(20, read); n > 1 {
		t.Errorf("NextReader and WriteTo of 1 MiB: %v allocations, want 1 (the body)", n)
	}
}
