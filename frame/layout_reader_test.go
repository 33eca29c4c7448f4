package frame_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// PostgreSQL's v3 protocol: a startup message without a type byte, then
// messages with one. The lengths count themselves, not the type byte.
var (
	pgStartup = frame.Layout{Length: frame.Uint32BE, Adjust: -4}
	pgTyped   = frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
)

// pgStream is a client's first bytes: a startup message (protocol 3.0,
// user=u), a Query and a Sync, written out by hand.
var pgStream = []byte{
	0, 0, 0, 16, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'u', 0, 0,
	'Q', 0, 0, 0, 13, 's', 'e', 'l', 'e', 'c', 't', ' ', '1', 0,
	'S', 0, 0, 0, 4,
}

// TestReaderSetLayout: a Reader switches layouts between messages without
// losing the bytes it has buffered, which are parsed with the new layout.
func TestReaderSetLayout(t *testing.T) {
	t.Parallel()
	type msg struct{ Header, Payload string }
	want := []msg{
		{"\x00\x00\x00\x10", "\x00\x03\x00\x00user\x00u\x00\x00"},
		{"Q\x00\x00\x00\x0d", "select 1\x00"},
		{"S\x00\x00\x00\x04", ""},
	}
	r := frame.NewReader(bytes.NewReader(pgStream), frame.WithLayout(pgStartup))
	read := func() msg {
		t.Helper()
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return msg{string(r.Header()), string(m)}
	}
	got := []msg{read()}
	if n := r.Buffered(); n != len(pgStream)-16 {
		t.Fatalf("Buffered = %d after the startup message, want the %d bytes after it", n, len(pgStream)-16)
	}
	if err := r.SetLayout(pgTyped); err != nil {
		t.Fatal(err)
	}
	got = append(got, read(), read())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}

	t.Run("Layout, and echoing with the header's fields", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(pgStream), frame.WithLayout(pgStartup))
		var out bytes.Buffer
		w := frame.NewWriter(&out, frame.WithLayout(pgStartup))
		for i := range 3 {
			m, err := r.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			// What an echo server does: the fields of the header
			// received, around the payload.
			l, h := r.Layout(), r.Header()
			if err := w.WriteFrame(append(h[:l.Offset:l.Offset], h[len(h)-l.After:]...), m); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := errors.Join(r.SetLayout(pgTyped), w.SetLayout(pgTyped)); err != nil {
					t.Fatal(err)
				}
				if r.Layout() != pgTyped {
					t.Fatalf("Layout = %+v after SetLayout, want %+v", r.Layout(), pgTyped)
				}
			}
		}
		w.Flush()
		if diff := cmp.Diff(pgStream, out.Bytes()); diff != "" {
			t.Errorf("echoed (-want +got):\n%s", diff)
		}
		r.Reset(nil)
		if r.Layout() != pgStartup {
			t.Errorf("Layout = %+v after Reset, want the options' %+v", r.Layout(), pgStartup)
		}
	})
	t.Run("invalid layout changes nothing", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(pgStream), frame.WithLayout(pgStartup))
		if err := r.SetLayout(frame.Layout{Offset: -1}); !errors.Is(err, frame.ErrInvalidOption) {
			t.Fatalf("SetLayout = %v, want ErrInvalidOption", err)
		}
		if m, err := r.ReadMessage(); err != nil || len(m) != 12 {
			t.Fatalf("ReadMessage = %q, %v; want the startup message", m, err)
		}
	})
	t.Run("in the middle of a frame", func(t *testing.T) {
		t.Parallel()
		inBubble(t, func(t *testing.T) {
			// The startup header and 3 payload bytes, a timeout, the rest.
			c := stallAt(t, pgStream, 7)
			r := frame.NewReader(c, frame.WithLayout(pgStartup))
			if _, err := r.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a timeout", err)
			}
			c.resume()
			// The startup header was read: the frame ends as it began.
			if err := r.SetLayout(pgTyped); err != nil {
				t.Fatal(err)
			}
			if m, err := r.ReadMessage(); err != nil || len(m) != 12 || string(r.Header()) != "\x00\x00\x00\x10" {
				t.Fatalf("resumed = %q (header % x), %v; want the startup message", m, r.Header(), err)
			}
			if m, err := r.ReadMessage(); err != nil || string(m) != "select 1\x00" || r.Header()[0] != 'Q' {
				t.Fatalf("next = %q (header % x), %v; want the Query in the new layout", m, r.Header(), err)
			}
		})
	})
	t.Run("Reset restores the layout of the options", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(nil), frame.WithLayout(pgStartup))
		if err := r.SetLayout(pgTyped); err != nil {
			t.Fatal(err)
		}
		r.Reset(bytes.NewReader(pgStream))
		if m, err := r.ReadMessage(); err != nil || len(m) != 12 {
			t.Fatalf("after Reset: %q, %v; want the startup message", m, err)
		}
	})
}

// TestWriterSetLayout: a PostgreSQL client writes its startup message and
// then typed messages through one Writer, byte for byte the protocol's.
func TestWriterSetLayout(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := frame.NewWriter(&out, frame.WithLayout(pgStartup))
	if err := w.WriteMessage(pgStream[4:16]); err != nil {
		t.Fatal(err)
	}
	if err := w.SetLayout(pgTyped); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte("Q"), []byte("select 1\x00")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte("S"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pgStream, out.Bytes()); diff != "" {
		t.Errorf("wire (-want +got):\n%s", diff)
	}
	if err := w.SetLayout(frame.Layout{Length: frame.Uint8, Adjust: -300}); !errors.Is(err, frame.ErrInvalidOption) {
		t.Errorf("invalid SetLayout = %v, want ErrInvalidOption", err)
	}
	w.Reset(&out)
	if err := w.WriteFrame([]byte("Q"), nil); !errors.Is(err, frame.ErrLayoutMismatch) {
		t.Errorf("after Reset, the startup layout takes no fields: err = %v, want ErrLayoutMismatch", err)
	}
}

// scribble fills the buffers that the pools hand out next, as another
// connection would: a view into a buffer given back would show 0xFF.
func scribble() {
	r := frame.NewReader(bytes.NewReader(bytes.Repeat([]byte{0xFF}, 64<<10)), frame.WithMaxSize(1))
	r.ReadMessage()
	r.Reset(nil)
}

// TestHeaderKept: Header stays right when the buffer it was read into is
// given back (Release) or reused, when the payload took the large-payload
// path, and across a timeout; it is nil before the first message, after
// an error, and after Reset.
func TestHeaderKept(t *testing.T) {
	// Not parallel: scribble must get the buffers Release gave back,
	// which sync.Pool hands out on the same processor.
	l := frame.Layout{Offset: 2, Length: frame.Uint16BE, After: 3, Adjust: -1}
	small := testFrame{[]byte("ABCDE"), []byte("small")}
	large := testFrame{[]byte("FGHIJ"), payload(1, 20000)}
	wire := encodeFrames(l, small, large, small)
	check := func(what string, got []byte, f testFrame) {
		t.Helper()
		if want := refHeader(l, f); !bytes.Equal(got, want) {
			t.Errorf("%s: Header = % x, want % x", what, got, want)
		}
	}
	for _, api := range readerAPIs {
		r := frame.NewReader(bytes.NewReader(wire), append(api.opts, frame.WithLayout(l))...)
		read := api.on(r)
		if h := r.Header(); h != nil {
			t.Errorf("%s: Header = % x before the first message", api.name, h)
		}
		for i, f := range []testFrame{small, large, small} {
			if m, err := read(); err != nil || !bytes.Equal(m, f.payload) {
				t.Fatalf("%s: message %d: %s, %v", api.name, i, describe(m), err)
			}
			r.Release()
			scribble()
			check(api.name+" after Release", r.Header(), f)
		}
		if _, err := read(); err != io.EOF || r.Header() != nil {
			t.Errorf("%s: at the end: %v, Header % x; want io.EOF and nil", api.name, err, r.Header())
		}
	}

	// A timeout after the header, with nothing of the payload buffered:
	// Release gives the buffer back with the frame in progress.
	inBubble(t, func(t *testing.T) {
		c := stallAt(t, wire, len(refHeader(l, small)))
		r := frame.NewReader(c, frame.WithLayout(l))
		if _, err := r.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) || r.Header() != nil {
			t.Fatalf("err = %v, Header % x; want a timeout and no header", err, r.Header())
		}
		c.resume()
		r.Release()
		scribble()
		if m, err := r.ReadMessage(); err != nil || string(m) != "small" {
			t.Fatalf("resumed = %q, %v", m, err)
		}
		check("resumed after Release", r.Header(), small)
		r.Reset(bytes.NewReader(wire))
		if h := r.Header(); h != nil {
			t.Errorf("after Reset: Header = % x, want nil", h)
		}
	})
}
