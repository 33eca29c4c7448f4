package frame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// TestBuffersWriterOneCall checks that a writer implementing
// BuffersWriter, such as a wrapper of a net.Conn, gets a large message or
// a batch with large payloads in exactly one WriteBuffers call and no
// Write, from every API that sends them, with the bytes of the reference
// encoding.
func TestBuffersWriterOneCall(t *testing.T) {
	t.Parallel()
	small, large, larger := []byte("small"), payload(1, 100000), payload(2, 300000)
	tests := []struct {
		name string
		msgs [][]byte
		send func(ctx context.Context, w *gatherWriter, msgs [][]byte) error
	}{
		{"Writer.WriteMessage", [][]byte{small, large}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			// The small message is buffered and leaves with the large one.
			fw := frame.NewWriter(w)
			for _, m := range msgs {
				if err := fw.WriteMessage(m); err != nil {
					return err
				}
			}
			return fw.Flush()
		}},
		{"Writer.WriteBatch", [][]byte{small, large, small, larger}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			return frame.NewWriter(w).WriteBatch(msgs...)
		}},
		{"SendMessage", [][]byte{large}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			return frame.SendMessage(w, msgs[0])
		}},
		{"SendBatch", [][]byte{small, large, larger, small}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			return frame.SendBatch(w, msgs...)
		}},
		{"Conn.Send", [][]byte{large}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			return frame.NewConn(w).Send(ctx, msgs[0])
		}},
		{"Conn.SendBatch", [][]byte{small, large, larger}, func(ctx context.Context, w *gatherWriter, msgs [][]byte) error {
			return frame.NewConn(w).SendBatch(ctx, msgs...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c1, c2 := net.Pipe()
			defer c2.Close()
			received := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(c2)
				received <- b
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			w := &gatherWriter{Conn: c1}
			err := tt.send(ctx, w, tt.msgs)
			c1.Close()
			wire := <-received
			if err != nil {
				t.Fatal(err)
			}
			if w.gathers != 1 || w.writes != 0 {
				t.Errorf("%d WriteBuffers and %d Write calls, want 1 and 0", w.gathers, w.writes)
			}
			if want := encode(t, frame.Uint32BE, tt.msgs...); !bytes.Equal(want, wire) {
				t.Errorf("sent %d bytes that differ from the %d-byte reference encoding", len(wire), len(want))
			}
		})
	}
}

// buffersFunc is a BuffersWriter whose WriteBuffers is f, and whose Write
// discards.
type buffersFunc func(v *net.Buffers) (int64, error)

func (f buffersFunc) Write(p []byte) (int, error)                { return len(p), nil }
func (f buffersFunc) WriteBuffers(v *net.Buffers) (int64, error) { return f(v) }

// TestBuffersWriterContract checks that a WriteBuffers that fails or
// breaks its contract gives a clear error, sticky on a Writer, and never
// a panic.
func TestBuffersWriterContract(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("broken pipe")
	size := func(v *net.Buffers) int64 {
		n := 0
		for _, b := range *v {
			n += len(b)
		}
		return int64(n)
	}
	tests := []struct {
		name string
		f    func(v *net.Buffers) (int64, error)
		want string // in the error
		is   error  // the error matches, if not nil
	}{
		{"failing", func(v *net.Buffers) (int64, error) { return size(v) / 2, errBroken }, "broken pipe", errBroken},
		{"short without error", func(v *net.Buffers) (int64, error) { return size(v) / 2, nil }, "short write", io.ErrShortWrite},
		{"short without error, v consumed", func(v *net.Buffers) (int64, error) {
			n := size(v) / 2
			v.Read(make([]byte, n))
			return n, nil
		}, "short write", io.ErrShortWrite},
		{"count above the bytes given", func(v *net.Buffers) (int64, error) { return size(v) + 1, nil }, "invalid count", nil},
		{"negative count", func(v *net.Buffers) (int64, error) { return -1, nil }, "invalid count", nil},
		{"negative count with error", func(v *net.Buffers) (int64, error) { return -1, errBroken }, "invalid count", nil},
	}
	large := make([]byte, 100000)
	apis := []struct {
		name string
		send func(w io.Writer) error
	}{
		{"Writer.WriteMessage", func(w io.Writer) error {
			fw := frame.NewWriter(w)
			if err := fw.WriteMessage(large); err == nil {
				return errors.New("WriteMessage returned nil")
			}
			// Sticky: the stream is broken.
			return fw.WriteMessage([]byte("x"))
		}},
		{"Writer.WriteBatch", func(w io.Writer) error {
			fw := frame.NewWriter(w)
			if err := fw.WriteBatch([]byte("x"), large); err == nil {
				return errors.New("WriteBatch returned nil")
			}
			return fw.Flush()
		}},
		{"SendMessage", func(w io.Writer) error { return frame.SendMessage(w, large) }},
		{"SendBatch", func(w io.Writer) error { return frame.SendBatch(w, large, large) }},
	}
	for _, tt := range tests {
		for _, api := range apis {
			t.Run(fmt.Sprintf("%s/%s", tt.name, api.name), func(t *testing.T) {
				t.Parallel()
				calls := 0
				err := api.send(buffersFunc(func(v *net.Buffers) (int64, error) {
					calls++
					return tt.f(v)
				}))
				if calls != 1 {
					t.Errorf("%d WriteBuffers calls, want 1", calls)
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
					t.Fatalf("err = %v, want an error about %q", err, tt.want)
				}
			})
		}
	}
}
