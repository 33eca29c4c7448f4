package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"testing"
	"testing/iotest"

	"github.com/framesock/framesock/frame"
)

// writeAPIs are the ways to write a list of messages to w.
var writeAPIs = []struct {
	name  string
	write func(w io.Writer, msgs [][]byte, opts ...frame.Option) error
}{
	{"Writer.WriteMessage", func(w io.Writer, msgs [][]byte, opts ...frame.Option) error {
		fw := frame.NewWriter(w, opts...)
		for _, m := range msgs {
			if err := fw.WriteMessage(m); err != nil {
				return err
			}
		}
		return fw.Flush()
	}},
	{"Writer.WriteMessage/buffer512", func(w io.Writer, msgs [][]byte, opts ...frame.Option) error {
		fw := frame.NewWriter(w, append(opts, frame.WithBufferSize(512))...)
		for _, m := range msgs {
			if err := fw.WriteMessage(m); err != nil {
				return err
			}
		}
		return fw.Flush()
	}},
	{"Writer.WriteBatch", func(w io.Writer, msgs [][]byte, opts ...frame.Option) error {
		// One message buffered first, so the batch also carries
		// earlier bytes.
		fw := frame.NewWriter(w, opts...)
		if err := fw.WriteMessage(msgs[0]); err != nil {
			return err
		}
		return fw.WriteBatch(msgs[1:]...)
	}},
	{"Writer.WriteMessageFrom", writeFromAPI(func(r io.Reader) io.Reader { return r })},
	{"Writer.WriteMessageFrom/OneByteReader", writeFromAPI(iotest.OneByteReader)},
	{"Writer.WriteMessageFrom/buffer512", writeFromAPI(iotest.HalfReader, frame.WithBufferSize(512))},
}

// writeFromAPI writes each message with WriteMessageFrom from a reader of
// it that wrap makes.
func writeFromAPI(wrap func(io.Reader) io.Reader, more ...frame.Option) func(w io.Writer, msgs [][]byte, opts ...frame.Option) error {
	return func(w io.Writer, msgs [][]byte, opts ...frame.Option) error {
		fw := frame.NewWriter(w, append(opts, more...)...)
		for _, m := range msgs {
			if err := fw.WriteMessageFrom(wrap(bytes.NewReader(m)), int64(len(m))); err != nil {
				return err
			}
		}
		return fw.Flush()
	}
}

// TestWriteRoundTrip checks that every write API produces exactly the
// reference encoding, for every header format.
func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, h := range headers {
		msgs := append([][]byte{[]byte("first")}, testMessages(int(min(h.MaxLength(), 1<<20)))...)
		want := encode(t, h, msgs...)
		for _, api := range writeAPIs {
			t.Run(fmt.Sprintf("%v/%s", h, api.name), func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				if err := api.write(&buf, msgs, frame.WithHeader(h)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(want, buf.Bytes()) {
					t.Fatalf("wrote %d bytes that differ from the %d-byte reference encoding", buf.Len(), len(want))
				}
			})
		}
	}
	t.Run("SendMessage", func(t *testing.T) {
		t.Parallel()
		msgs := testMessages(1 << 20)
		var buf bytes.Buffer
		for _, m := range msgs {
			if err := frame.SendMessage(&buf, m); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(encode(t, frame.Uint32BE, msgs...), buf.Bytes()) {
			t.Fatal("SendMessage output differs from the reference encoding")
		}
	})
}

// TestSendMessageOneWrite checks that SendMessage makes exactly one Write
// per message, at every size.
func TestSendMessageOneWrite(t *testing.T) {
	t.Parallel()
	for _, m := range testMessages(1 << 20) {
		t.Run(fmt.Sprint(len(m)), func(t *testing.T) {
			t.Parallel()
			var w countingWriter
			if err := frame.SendMessage(&w, m); err != nil {
				t.Fatal(err)
			}
			if w.writes != 1 {
				t.Errorf("SendMessage of %d bytes made %d writes, want 1", len(m), w.writes)
			}
		})
	}
	t.Run("SendBatch", func(t *testing.T) {
		t.Parallel()
		var w countingWriter
		msgs := testMessages(1 << 20)
		if err := frame.SendBatch(&w, msgs...); err != nil {
			t.Fatal(err)
		}
		if w.writes != 1 {
			t.Errorf("SendBatch of %d messages made %d writes, want 1", len(msgs), w.writes)
		}
		if !bytes.Equal(encode(t, frame.Uint32BE, msgs...), w.Bytes()) {
			t.Error("SendBatch output differs from the reference encoding")
		}
	})
}

// TestWriteTooLarge checks that a message above the maximum, or above
// what the header can express, is rejected with nothing written and that
// the next message goes through.
func TestWriteTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header frame.Header
		opts   []frame.Option
		size   int
		max    int
	}{
		{"above WithMaxSize", frame.Uint32BE, []frame.Option{frame.WithMaxSize(1000)}, 1001, 1000},
		{"above Uint16BE", frame.Uint16BE, nil, 65536, 65535},
		{"above Uint16BE despite WithMaxSize", frame.Uint16BE, []frame.Option{frame.WithMaxSize(1 << 20)}, 70000, 65535},
		{"above DefaultMaxSize", frame.Uvarint, nil, frame.DefaultMaxSize + 1, frame.DefaultMaxSize},
	}
	for _, tt := range tests {
		big := make([]byte, tt.size)
		opts := append([]frame.Option{frame.WithHeader(tt.header)}, tt.opts...)
		before := len(encode(t, tt.header, []byte("before")))
		for _, api := range writeAPIs {
			t.Run(tt.name+"/"+api.name, func(t *testing.T) {
				t.Parallel()
				var w countingWriter
				fw := frame.NewWriter(&w, opts...)
				if err := fw.WriteMessage([]byte("before")); err != nil {
					t.Fatal(err)
				}
				var err error
				if api.name == "Writer.WriteBatch" {
					err = fw.WriteBatch([]byte("ok"), big)
				} else {
					err = fw.WriteMessage(big)
				}
				var se *frame.SizeError
				if !errors.As(err, &se) || !errors.Is(err, frame.ErrTooLarge) || se.Size != uint64(tt.size) || se.Max != tt.max {
					t.Fatalf("err = %v, want *SizeError{Size: %d, Max: %d}", err, tt.size, tt.max)
				}
				if w.writes != 0 || fw.Buffered() != before {
					t.Fatalf("after the rejected message: %d writes, %d bytes buffered", w.writes, fw.Buffered())
				}
				if err := fw.WriteMessage([]byte("after")); err != nil {
					t.Fatal(err)
				}
				if err := fw.Flush(); err != nil {
					t.Fatal(err)
				}
				r := frame.NewReader(&w.Buffer, opts...)
				got, err := collect(t, r.ReadMessage)
				if diff := diffMessages([][]byte{[]byte("before"), []byte("after")}, got); diff != "" || err != io.EOF {
					t.Errorf("stream after the rejected message: err %v, (-want +got):\n%s", err, diff)
				}
			})
		}
	}
	t.Run("SendMessage", func(t *testing.T) {
		t.Parallel()
		var w countingWriter
		err := frame.SendMessage(&w, make([]byte, frame.DefaultMaxSize+1))
		if !errors.Is(err, frame.ErrTooLarge) || w.writes != 0 {
			t.Fatalf("err = %v after %d writes, want ErrTooLarge after none", err, w.writes)
		}
	})
	t.Run("AppendLength", func(t *testing.T) {
		t.Parallel()
		for _, h := range headers {
			if h.MaxLength() == math.MaxUint64 {
				continue
			}
			b, err := h.AppendLength([]byte("x"), h.MaxLength()+1)
			if !errors.Is(err, frame.ErrTooLarge) || string(b) != "x" {
				t.Errorf("%v.AppendLength(max+1) = %q, %v; want \"x\", ErrTooLarge", h, b, err)
			}
		}
	})
}

// TestWriteTimeoutResumes checks that writers work over a connection
// whose peer reads slowly: a write that meets a full window times out
// having written part of its bytes, every other one before writing any,
// and retrying Flush completes the stream, in order, with no frame cut
// short. The same holds when the gathered writes go through WriteBuffers,
// even one that leaves v as it was instead of consuming it.
func TestWriteTimeoutResumes(t *testing.T) {
	t.Parallel()
	msgs := append([][]byte{[]byte("first")}, testMessages(1<<20)...)
	writers := []struct {
		name string
		wrap func(net.Conn) io.Writer
	}{
		{"Write", func(c net.Conn) io.Writer { return c }},
		{"WriteBuffers", func(c net.Conn) io.Writer { return &gatherWriter{Conn: c} }},
		{"WriteBuffers/v not consumed", func(c net.Conn) io.Writer { return &gatherWriter{Conn: c, keepV: true} }},
	}
	writes := []struct {
		name  string
		opts  []frame.Option
		batch bool
	}{
		{"WriteMessage", nil, false},
		{"WriteMessage/buffer512", []frame.Option{frame.WithBufferSize(512)}, false},
		{"WriteBatch", nil, true},
	}
	for _, tw := range writers {
		for _, wr := range writes {
			t.Run(tw.name+"/"+wr.name, func(t *testing.T) {
				t.Parallel()
				inBubble(t, func(t *testing.T) {
					peer := newSlowPeer(t, 1000)
					dst := tw.wrap(peer.w)
					fw := frame.NewWriter(dst, wr.opts...)
					// After a timeout the message has been taken
					// (buffered or partly written): move on, and let
					// Flush finish.
					taken := func(err error) {
						if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
							t.Fatal(err)
						}
					}
					if wr.batch {
						taken(peer.try(func() error { return fw.WriteBatch(msgs...) }))
					} else {
						for _, m := range msgs {
							taken(peer.try(func() error { return fw.WriteMessage(m) }))
						}
					}
					peer.flush(t, fw)
					if fw.Buffered() != 0 {
						t.Fatalf("%d bytes still buffered", fw.Buffered())
					}
					got, err := collect(t, frame.NewReader(bytes.NewReader(peer.received(t))).ReadMessage)
					if err != io.EOF {
						t.Fatalf("err = %v, want io.EOF", err)
					}
					if diff := diffMessages(msgs, got); diff != "" {
						t.Errorf("messages (-want +got):\n%s", diff)
					}
					if g, ok := dst.(*gatherWriter); ok && g.gathers == 0 {
						t.Error("no call of WriteBuffers")
					}
				})
			})
		}
	}
}

// TestWriteErrors checks that a failed or short write is reported, that
// the error is sticky (bufio.Writer's contract), and that a Write that
// breaks the io.Writer contract cannot crash the Writer.
func TestWriteErrors(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("broken pipe")
	tests := []struct {
		name string
		w    io.Writer
		want error
	}{
		{"failing", writerFunc(func(p []byte) (int, error) { return len(p) / 2, errBroken }), errBroken},
		{"short without error", writerFunc(func(p []byte) (int, error) { return len(p) / 2, nil }), io.ErrShortWrite},
		{"negative count", writerFunc(func(p []byte) (int, error) { return -1, nil }), nil},
		{"count too large", writerFunc(func(p []byte) (int, error) { return len(p) + 1, nil }), nil},
		{"truncating", iotest.TruncateWriter(io.Discard, 0), nil},
	}
	for _, tt := range tests {
		for _, size := range []int{10, 100000} {
			for _, api := range writeAPIs {
				t.Run(fmt.Sprintf("%s/%d/%s", tt.name, size, api.name), func(t *testing.T) {
					t.Parallel()
					msgs := [][]byte{[]byte("first"), make([]byte, size)}
					err := api.write(tt.w, msgs)
					if tt.name == "truncating" {
						// TruncateWriter reports success: nothing to detect.
						if err != nil {
							t.Fatalf("err = %v, want nil", err)
						}
						return
					}
					if err == nil {
						t.Fatal("err = nil after a failed write")
					}
					if tt.want != nil && !errors.Is(err, tt.want) {
						t.Fatalf("err = %v, want %v", err, tt.want)
					}
				})
			}
			t.Run(fmt.Sprintf("%s/%d/sticky", tt.name, size), func(t *testing.T) {
				t.Parallel()
				if tt.name == "truncating" {
					t.Skip("skipping: TruncateWriter never fails")
				}
				fw := frame.NewWriter(tt.w)
				fw.WriteMessage(make([]byte, size))
				err1 := fw.Flush()
				err2 := fw.WriteMessage([]byte("x"))
				err3 := fw.Flush()
				if err1 == nil || err2 == nil || err3 == nil {
					t.Fatalf("errors after a failed write: %v, %v, %v; want all non-nil", err1, err2, err3)
				}
			})
			t.Run(fmt.Sprintf("%s/%d/SendMessage", tt.name, size), func(t *testing.T) {
				t.Parallel()
				err := frame.SendMessage(tt.w, make([]byte, size))
				if tt.name != "truncating" && err == nil {
					t.Fatal("err = nil after a failed write")
				}
			})
		}
	}
}

// TestWriterRelease checks that an idle Writer holds no buffer after
// Release, that Release keeps unflushed bytes, and that a batch larger
// than the buffer does not leave a large buffer behind.
func TestWriterRelease(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := frame.NewWriter(&buf)
	if n := w.HeldBytes(); n != 0 {
		t.Fatalf("before the first write: holding %d bytes", n)
	}
	w.WriteMessage([]byte("pending"))
	w.Release()
	if err := w.Flush(); err != nil || buf.Len() != 11 {
		t.Fatalf("Release dropped pending bytes: Flush = %v, %d bytes written, want 11", err, buf.Len())
	}
	w.Release()
	if n := w.HeldBytes(); n != 0 {
		t.Errorf("after Flush and Release: holding %d bytes, want 0", n)
	}
	if err := w.WriteBatch(make([]byte, 100000), make([]byte, 200000)); err != nil {
		t.Fatal(err)
	}
	if n := w.HeldBytes(); n > 4096 {
		t.Errorf("after a large batch: holding %d bytes, want at most 4096", n)
	}
}

// TestWriteAllocs checks that WriteMessage (WriteFrame on a layout with
// header fields) allocates nothing in steady state, small or large, and
// SendMessage neither.
func TestWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: under -race, sync.Pool drops items at random")
	}
	for _, l := range allocLayouts {
		for _, n := range []int{16, 1024, 100000} {
			t.Run(fmt.Sprintf("%+v/%d", l, n), func(t *testing.T) {
				msg := make([]byte, n)
				fields := make([]byte, l.Offset+l.After)
				w := frame.NewWriter(io.Discard, frame.WithLayout(l))
				write := func() {
					err := w.WriteFrame(fields, msg)
					if len(fields) == 0 {
						err = w.WriteMessage(msg)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if allocs := testing.AllocsPerRun(200, write); allocs != 0 {
					t.Errorf("writing %d bytes: %v allocs/op, want 0", n, allocs)
				}
				allocs := testing.AllocsPerRun(200, func() {
					write()
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
					w.Release()
				})
				if allocs != 0 {
					t.Errorf("writing %d bytes, Flush, Release: %v allocs/op, want 0", n, allocs)
				}
				if l != (frame.Layout{}) {
					return
				}
				allocs = testing.AllocsPerRun(200, func() {
					if err := frame.SendMessage(io.Discard, msg); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("SendMessage of %d bytes: %v allocs/op, want 0", n, allocs)
				}
			})
		}
	}
}
