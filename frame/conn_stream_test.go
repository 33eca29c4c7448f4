package frame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// TestConnStream checks SendFrom and RecvReader over TCP loopback, mixed
// with Send and Recv, and their forms with header fields.
func TestConnStream(t *testing.T) {
	t.Parallel()
	for _, lt := range []struct {
		name   string
		layout frame.Layout
		fields []byte
	}{
		{"default", frame.Layout{}, nil},
		{"PostgreSQL", frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}, []byte("d")},
	} {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			client, server := tcpPair(t)
			opts := []frame.Option{frame.WithLayout(lt.layout), frame.WithMaxStreamSize(64 << 20)}
			cc, sc := frame.NewConn(client, opts...), frame.NewConn(server, opts...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var msgs [][]byte
			for i, n := range []int{0, 10, 5000, 300000, 20 << 20} {
				msgs = append(msgs, payload(uint64(30+i), n))
			}
			sent := make(chan error, 1)
			go func() {
				for _, m := range msgs {
					if err := cc.SendFrameFrom(ctx, lt.fields, bytes.NewReader(m), int64(len(m))); err != nil {
						sent <- err
						return
					}
					if err := cc.SendFrame(ctx, lt.fields, []byte("small")); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			for i, m := range msgs {
				hdr, size, body, err := sc.RecvFrameReader(ctx)
				if err != nil || size != int64(len(m)) {
					t.Fatalf("message %d: RecvFrameReader = %d, %v; want %d", i, size, err, len(m))
				}
				if !bytes.Equal(hdr, refHeader(lt.layout, testFrame{lt.fields, m})) {
					t.Errorf("message %d: header % x", i, hdr)
				}
				got, err := readBody(body, 100000*(i%2))
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("message %d: body %s, %v; want %s", i, describe(got), err, describe(m))
				}
				if small, err := sc.Recv(ctx); err != nil || string(small) != "small" {
					t.Fatalf("after message %d: Recv = %q, %v", i, small, err)
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConnRecvReaderCancel checks that the end of RecvReader's context
// stops a blocked read at once, both while it waits for the header (the
// next call resumes the frame and returns the message whole) and while
// the body is read (later reads of the body return the context's error,
// and the next call skips the rest of the message).
func TestConnRecvReaderCancel(t *testing.T) {
	t.Parallel()
	t.Run("header", func(t *testing.T) {
		t.Parallel()
		client, server := tcpPair(t)
		sc := frame.NewConn(server)
		msg := payload(40, 100000)
		wire := encode(t, frame.Uint32BE, msg)
		if _, err := client.Write(wire[:2]); err != nil {
			t.Fatal(err)
		}
		timeoutUntilBuffered(t, func(d time.Duration) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			_, _, err := sc.RecvReader(ctx)
			return nil, err
		}, func(err error) bool { return err == context.DeadlineExceeded }, sc.Buffered, 2)
		if _, err := client.Write(wire[2:]); err != nil {
			t.Fatal(err)
		}
		size, body, err := sc.RecvReader(context.Background())
		if err != nil || size != int64(len(msg)) {
			t.Fatalf("RecvReader = %d, %v", size, err)
		}
		if got, err := readBody(body, 0); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("body %s, %v", describe(got), err)
		}
	})
	for _, how := range []string{"cancel", "deadline"} {
		for _, n := range []int{1000, 0} {
			t.Run(fmt.Sprintf("body/%s/read%d", how, n), func(t *testing.T) {
				t.Parallel()
				client, server := tcpPair(t)
				sc := frame.NewConn(server)
				// A bound for a read that the context fails to stop.
				sc.SetReadDeadline(time.Now().Add(time.Minute))
				msg := payload(41, 100000)
				wire := encode(t, frame.Uint32BE, msg, []byte("next"))
				if _, err := client.Write(wire[:50000]); err != nil {
					t.Fatal(err)
				}
				var ctx context.Context
				var cancel context.CancelFunc
				want := context.Canceled
				if how == "cancel" {
					ctx, cancel = context.WithCancel(context.Background())
					// Whether it lands during a read or before one,
					// the read returns the same error.
					time.AfterFunc(50*time.Millisecond, cancel)
				} else {
					ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
					want = context.DeadlineExceeded
				}
				defer cancel()
				_, body, err := sc.RecvReader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, err := readBody(body, n)
				if err != want || !bytes.Equal(got, msg[:len(got)]) || len(got) != 50000-4 {
					t.Fatalf("body: %d bytes, %v; want the %d sent, then %v", len(got), err, 50000-4, want)
				}
				if _, err := body.Read(make([]byte, 10)); err != want {
					t.Errorf("body read after the context ended: %v, want %v", err, want)
				}
				if _, err := client.Write(wire[50000:]); err != nil {
					t.Fatal(err)
				}
				ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
				defer cancel2()
				if m, err := sc.Recv(ctx2); err != nil || string(m) != "next" {
					t.Fatalf("Recv after the abandoned body: %q, %v; want \"next\"", m, err)
				}
				if _, err := body.Read(make([]byte, 10)); !errors.Is(err, frame.ErrBodyClosed) {
					t.Errorf("body after the next Recv: %v, want ErrBodyClosed", err)
				}
			})
		}
	}
}

// gateReader yields head, tells on reached that it is about to block, and
// then yields the rest once release is closed.
type gateReader struct {
	head, rest []byte
	reached    chan struct{}
	release    chan struct{}
	told       bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	if len(g.head) > 0 {
		n := copy(p, g.head)
		g.head = g.head[n:]
		return n, nil
	}
	if !g.told {
		g.told = true
		close(g.reached)
		<-g.release
	}
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// TestConnSendFromExclusive checks that a Send from another goroutine
// waits while a streamed message is being sent: it does not return before
// the streamed message is done, and the peer receives both whole.
func TestConnSendFromExclusive(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	cc, sc := frame.NewConn(client), frame.NewConn(server)
	big := payload(42, 1<<20)
	src := &gateReader{head: big[:600000], rest: big[600000:], reached: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	streamed := make(chan error, 1)
	go func() { streamed <- cc.SendFrom(ctx, src, int64(len(big))) }()
	<-src.reached // part of the message is on the wire, the rest is not
	sent := make(chan error, 1)
	go func() { sent <- cc.Send(ctx, []byte("other")) }()
	select {
	case err := <-sent:
		t.Fatalf("Send returned (%v) in the middle of a streamed message", err)
	case <-time.After(100 * time.Millisecond):
		// Send is waiting, as it should; if it were not, it would
		// have returned by now, and the peer would see its bytes
		// inside the streamed message.
	}
	close(src.release)
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	_, body, err := sc.RecvReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readBody(body, 0); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("streamed message: %s, %v", describe(got), err)
	}
	if m, err := sc.Recv(ctx); err != nil || string(m) != "other" {
		t.Fatalf("other message: %q, %v", m, err)
	}
}

// TestConnSendFromCancel checks SendFrom's context: one that ended before
// the call sends nothing and leaves src unread; one that ends while the
// message is on its way cuts it, and every later Send returns an error
// that says so.
func TestConnSendFromCancel(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	cc := frame.NewConn(client, frame.WithMaxStreamSize(1<<30))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cc.SendFrom(done, failReader{t}, 10); err != context.Canceled {
		t.Fatalf("SendFrom with a done context: %v, want context.Canceled", err)
	}
	// Nobody reads: the socket buffers fill and the send blocks until
	// the deadline.
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := cc.SendFrom(ctx, io.LimitReader(zeros{}, 256<<20), 256<<20); err != context.DeadlineExceeded {
		t.Fatalf("SendFrom cut by its context: %v, want context.DeadlineExceeded", err)
	}
	err := cc.Send(context.Background(), []byte("after"))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send after a cut message: %v, want a sticky error wrapping the timeout", err)
	}
	// The peer got the start of the message and nothing after it.
	server.SetReadDeadline(time.Now().Add(time.Minute))
	client.Close()
	r := frame.NewReader(server, frame.WithMaxStreamSize(1<<30))
	size, body, err := r.NextReader()
	if err != nil || size != 256<<20 {
		t.Fatalf("peer: NextReader = %d, %v", size, err)
	}
	if _, err := io.Copy(io.Discard, body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("peer: body %v, want io.ErrUnexpectedEOF", err)
	}
}

// zeros reads zero bytes without end.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
