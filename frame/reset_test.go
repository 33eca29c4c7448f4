package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// TestZeroValueAfterReset checks that a zero Reader or Writer, given a
// stream by Reset, works with the defaults, as bufio's zero values do:
// DefaultMaxSize, Uint32BE and the default buffer sizes.
func TestZeroValueAfterReset(t *testing.T) {
	t.Parallel()
	msgs := testMessages(1 << 20)
	stream := encode(t, frame.Uint32BE, msgs...)
	for _, api := range []struct {
		name string
		read func(r *frame.Reader) ([]byte, error)
	}{
		{"Reader.ReadMessage", (*frame.Reader).ReadMessage},
		{"Reader.AppendMessage", func(r *frame.Reader) ([]byte, error) { return r.AppendMessage(nil) }},
	} {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			var r frame.Reader
			r.Reset(bytes.NewReader(stream))
			got, err := collect(t, func() ([]byte, error) { return api.read(&r) })
			if err != io.EOF {
				t.Fatalf("after %d messages: err = %v, want io.EOF", len(got), err)
			}
			if diff := diffMessages(msgs, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Reader/DefaultMaxSize", func(t *testing.T) {
		t.Parallel()
		var r frame.Reader
		r.Reset(bytes.NewReader([]byte{0x01, 0x00, 0x00, 0x01}))
		_, err := r.ReadMessage()
		var se *frame.SizeError
		if !errors.As(err, &se) || se.Size != frame.DefaultMaxSize+1 || se.Max != frame.DefaultMaxSize {
			t.Fatalf("err = %v, want a *SizeError for %d bytes above %d", err, frame.DefaultMaxSize+1, frame.DefaultMaxSize)
		}
	})
	t.Run("Writer", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		var w frame.Writer
		w.Reset(&buf)
		for _, m := range msgs[:len(msgs)/2] {
			if err := w.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteBatch(msgs[len(msgs)/2:]...); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stream, buf.Bytes()) {
			t.Fatalf("wrote %d bytes that differ from the %d-byte reference encoding", buf.Len(), len(stream))
		}
	})
	t.Run("Writer/DefaultMaxSize", func(t *testing.T) {
		t.Parallel()
		var w frame.Writer
		w.Reset(io.Discard)
		if err := w.WriteMessage(make([]byte, frame.DefaultMaxSize)); err != nil {
			t.Fatalf("message of DefaultMaxSize: %v", err)
		}
		err := w.WriteMessage(make([]byte, frame.DefaultMaxSize+1))
		var se *frame.SizeError
		if !errors.As(err, &se) || se.Max != frame.DefaultMaxSize {
			t.Fatalf("err = %v, want a *SizeError with the limit %d", err, frame.DefaultMaxSize)
		}
	})
}

// TestZeroValueWithoutStream checks that a Reader or Writer with no
// stream, the zero value before Reset or one reset to nil, fails every
// call with ErrNoStream instead of panicking.
func TestZeroValueWithoutStream(t *testing.T) {
	t.Parallel()
	readers := []struct {
		name string
		r    func() *frame.Reader
	}{
		{"zero", func() *frame.Reader { return new(frame.Reader) }},
		{"Reset(nil)", func() *frame.Reader {
			r := frame.NewReader(bytes.NewReader([]byte{0, 0, 0, 1, 'x'}))
			r.Reset(nil)
			return r
		}},
	}
	for _, tt := range readers {
		t.Run("Reader/"+tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.r()
			for range 2 {
				if _, err := r.ReadMessage(); !errors.Is(err, frame.ErrNoStream) {
					t.Errorf("ReadMessage: err = %v, want ErrNoStream", err)
				}
			}
			if _, err := r.AppendMessage(nil); !errors.Is(err, frame.ErrNoStream) {
				t.Errorf("AppendMessage: err = %v, want ErrNoStream", err)
			}
			for _, err := range r.Messages() {
				if !errors.Is(err, frame.ErrNoStream) {
					t.Errorf("Messages: err = %v, want ErrNoStream", err)
				}
			}
			if n := r.Buffered(); n != 0 {
				t.Errorf("Buffered = %d, want 0", n)
			}
			r.Release()
			if _, err := io.ReadAll(r.Handoff()); !errors.Is(err, frame.ErrNoStream) {
				t.Errorf("reading Handoff: err = %v, want ErrNoStream", err)
			}
		})
	}
	writers := []struct {
		name string
		w    func() *frame.Writer
	}{
		{"zero", func() *frame.Writer { return new(frame.Writer) }},
		{"Reset(nil)", func() *frame.Writer {
			w := frame.NewWriter(io.Discard)
			w.Reset(nil)
			return w
		}},
	}
	for _, tt := range writers {
		for _, size := range []int{0, 10, 100000} {
			t.Run("Writer/"+tt.name+"/"+sizeName(size), func(t *testing.T) {
				t.Parallel()
				w := tt.w()
				msg := make([]byte, size)
				for call, err := range map[string]error{
					"WriteMessage": w.WriteMessage(msg),
					"WriteBatch":   w.WriteBatch(msg, msg),
					"Flush":        w.Flush(),
				} {
					if !errors.Is(err, frame.ErrNoStream) {
						t.Errorf("%s: err = %v, want ErrNoStream", call, err)
					}
				}
				if n := w.Buffered(); n != 0 {
					t.Errorf("Buffered = %d, want 0", n)
				}
				w.Release()
			})
		}
	}
	t.Run("SendMessage", func(t *testing.T) {
		t.Parallel()
		if err := frame.SendMessage(nil, []byte("x")); !errors.Is(err, frame.ErrNoStream) {
			t.Errorf("SendMessage(nil): err = %v, want ErrNoStream", err)
		}
	})
}

// TestResetKeepsOptions checks that Reset on a Reader or Writer built with
// options keeps them.
func TestResetKeepsOptions(t *testing.T) {
	t.Parallel()
	opts := []frame.Option{frame.WithHeader(frame.Uint16BE), frame.WithMaxSize(10)}
	t.Run("Reader", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(nil), opts...)
		r.ReadMessage()
		r.Reset(bytes.NewReader(encode(t, frame.Uint16BE, []byte("0123456789"), []byte("0123456789a"))))
		if m, err := r.ReadMessage(); err != nil || string(m) != "0123456789" {
			t.Fatalf("first = %q, %v; want the 10-byte message in Uint16BE", m, err)
		}
		_, err := r.ReadMessage()
		want := &frame.SizeError{Size: 11, Max: 10, Layout: frame.Layout{Length: frame.Uint16BE}, HeaderBytes: []byte{0, 11}}
		var se *frame.SizeError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *SizeError", err)
		}
		if diff := cmp.Diff(want, se); diff != "" {
			t.Errorf("SizeError (-want +got):\n%s", diff)
		}
	})
	t.Run("Writer", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		w := frame.NewWriter(io.Discard, opts...)
		w.Reset(&buf)
		if err := w.WriteMessage([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessage([]byte("0123456789a")); !errors.Is(err, frame.ErrTooLarge) {
			t.Fatalf("11-byte message: err = %v, want ErrTooLarge", err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(encode(t, frame.Uint16BE, []byte("0123456789")), buf.Bytes()); diff != "" {
			t.Errorf("written (-want +got):\n%s", diff)
		}
	})
	t.Run("invalid option", func(t *testing.T) {
		t.Parallel()
		w := frame.NewWriter(io.Discard, frame.WithMaxSize(-1))
		w.Reset(io.Discard)
		if err := w.WriteMessage(nil); !errors.Is(err, frame.ErrInvalidOption) {
			t.Errorf("Writer after Reset: err = %v, want ErrInvalidOption", err)
		}
	})
}
