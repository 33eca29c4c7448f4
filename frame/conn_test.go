package frame_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// tcpPair returns the two ends of a TCP loopback connection.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: TCP loopback unavailable: %v", err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	res := <-accepted
	if res.err != nil {
		c.Close()
		t.Fatal(res.err)
	}
	t.Cleanup(func() {
		c.Close()
		res.c.Close()
	})
	return c.(*net.TCPConn), res.c.(*net.TCPConn)
}

// timeoutUntilBuffered calls read with a short timeout until the reader
// holds want bytes of the frame in progress. Every call must time out:
// the frame is incomplete, so returning a message would split it.
func timeoutUntilBuffered(t *testing.T, read func(time.Duration) ([]byte, error), isTimeout func(error) bool, buffered func() int, want int) {
	t.Helper()
	for range 200 {
		m, err := read(10 * time.Millisecond)
		if err == nil {
			t.Fatalf("returned a %d-byte message from an incomplete frame", len(m))
		}
		if !isTimeout(err) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if buffered() == want {
			return
		}
	}
	t.Fatalf("reader holds %d bytes after 200 timeouts, want %d", buffered(), want)
}

// TestTimeoutMidFrame: over TCP loopback with read deadlines, a message
// whose bytes arrive in three pieces (the header split 2+2) arrives whole,
// once, after the timeouts in between, and the next message still parses.
func TestTimeoutMidFrame(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 100000} {
		for _, how := range []string{"Reader+deadline", "Conn+context"} {
			t.Run(fmt.Sprintf("%s/%d", how, size), func(t *testing.T) {
				t.Parallel()
				client, server := tcpPair(t)
				msg := payload(5, size)
				next := []byte("next message")
				frame1 := encode(t, frame.Uint32BE, msg)
				half := 4 + size/2
				pieces := [][]byte{frame1[:2], frame1[2:half], append(frame1[half:], encode(t, frame.Uint32BE, next)...)}

				var read func(time.Duration) ([]byte, error)
				var isTimeout func(error) bool
				var buffered func() int
				var readNoDeadline func() ([]byte, error)
				if how == "Reader+deadline" {
					r := frame.NewReader(server)
					read = func(d time.Duration) ([]byte, error) {
						server.SetReadDeadline(time.Now().Add(d))
						return r.ReadMessage()
					}
					isTimeout = func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
					buffered = r.Buffered
					readNoDeadline = func() ([]byte, error) {
						server.SetReadDeadline(time.Time{})
						return r.ReadMessage()
					}
				} else {
					c := frame.NewConn(server)
					read = func(d time.Duration) ([]byte, error) {
						ctx, cancel := context.WithTimeout(context.Background(), d)
						defer cancel()
						return c.Recv(ctx)
					}
					isTimeout = func(err error) bool { return err == context.DeadlineExceeded }
					buffered = c.Buffered
					readNoDeadline = func() ([]byte, error) { return c.Recv(context.Background()) }
				}

				if _, err := client.Write(pieces[0]); err != nil {
					t.Fatal(err)
				}
				timeoutUntilBuffered(t, read, isTimeout, buffered, 2)
				if _, err := client.Write(pieces[1]); err != nil {
					t.Fatal(err)
				}
				timeoutUntilBuffered(t, read, isTimeout, buffered, half-4)
				if _, err := client.Write(pieces[2]); err != nil {
					t.Fatal(err)
				}
				got, err := readNoDeadline()
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("message = %s, %v; want the %d-byte message", describe(got), err, size)
				}
				got, err = readNoDeadline()
				if err != nil || !bytes.Equal(got, next) {
					t.Fatalf("next message = %q, %v; want %q", got, err, next)
				}
			})
		}
	}
}

// TestConnRecvCancel: Recv blocked on a silent peer returns
// context.Canceled within 100 ms of the cancel, and the next Recv with a
// fresh context returns the message the peer then sends.
func TestConnRecvCancel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, func() time.Time)
		want error
	}{
		{"cancel", func() (context.Context, func() time.Time) {
			ctx, cancel := context.WithCancel(context.Background())
			at := make(chan time.Time, 1)
			// The cancel comes while Recv is (almost certainly)
			// blocked; it is measured from when it happens.
			time.AfterFunc(50*time.Millisecond, func() {
				at <- time.Now()
				cancel()
			})
			return ctx, func() time.Time { return <-at }
		}, context.Canceled},
		{"deadline", func() (context.Context, func() time.Time) {
			d := time.Now().Add(50 * time.Millisecond)
			ctx, cancel := context.WithDeadline(context.Background(), d)
			t.Cleanup(cancel)
			return ctx, func() time.Time { return d }
		}, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := tcpPair(t)
			c := frame.NewConn(server)
			ctx, cancelledAt := tt.ctx()
			_, err := c.Recv(ctx)
			returned := time.Now()
			if err != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if lag := returned.Sub(cancelledAt()); lag > 100*time.Millisecond {
				t.Errorf("Recv returned %v after the context ended, want within 100ms", lag)
			}
			if err := frame.SendMessage(client, []byte("after")); err != nil {
				t.Fatal(err)
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel2()
			m, err := c.Recv(ctx2)
			if err != nil || string(m) != "after" {
				t.Fatalf("next Recv = %q, %v; want \"after\"", m, err)
			}
		})
	}
}

// TestConnRestoresUserDeadline: a deadline set through the Conn is back
// in force after a Recv that applied a context.
func TestConnRestoresUserDeadline(t *testing.T) {
	t.Parallel()
	_, server := tcpPair(t)
	c := frame.NewConn(server)
	c.SetReadDeadline(time.Now().Add(-time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	// The user's past deadline is earlier than the context's, so it
	// decides: a timeout, not a context error.
	if _, err := c.Recv(ctx); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
	if _, err := c.Recv(context.Background()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after the context Recv: err = %v, want the user's deadline still in force", err)
	}
}

// TestConnConcurrentSend: 8 goroutines sending 1,000 messages each
// through one Conn yield 8,000 intact, non-interleaved messages.
func TestConnConcurrentSend(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	c := frame.NewConn(client)
	const senders, each = 8, 1000
	msgFor := func(id, seq int) []byte {
		n := 5 + (seq*37)%300
		if seq%100 == 7 {
			n = 20000 // larger than the buffer: the vectored path
		}
		m := make([]byte, n)
		m[0] = byte(id)
		binary.BigEndian.PutUint32(m[1:], uint32(seq))
		for i := 5; i < n; i++ {
			m[i] = byte(id*31 + seq + i)
		}
		return m
	}
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	for id := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range each {
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if seq%2 == 1 {
					// Half the sends take the context path.
					ctx, cancel = context.WithTimeout(ctx, time.Minute)
				}
				err := c.Send(ctx, msgFor(id, seq))
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	r := frame.NewReader(server)
	next := make([]int, senders)
	server.SetReadDeadline(time.Now().Add(time.Minute))
	for i := range senders * each {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m) < 5 || int(m[0]) >= senders {
			t.Fatalf("message %d: malformed (%d bytes)", i, len(m))
		}
		id, seq := int(m[0]), int(binary.BigEndian.Uint32(m[1:]))
		if seq != next[id] || !bytes.Equal(m, msgFor(id, seq)) {
			t.Fatalf("message %d: sender %d seq %d, want seq %d intact", i, id, seq, next[id])
		}
		next[id]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConnCloseDoesNotWait: Close unblocks a Recv and a Send in progress.
func TestConnCloseDoesNotWait(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	c := frame.NewConn(server)
	recvErr := make(chan error, 1)
	sendErr := make(chan error, 1)
	go func() {
		_, err := c.Recv(context.Background())
		recvErr <- err
	}()
	go func() {
		// The peer reads one byte only: a 16 MiB frame fills the
		// socket buffers and the Send blocks.
		sendErr <- c.Send(context.Background(), make([]byte, frame.DefaultMaxSize))
	}()
	// The first byte of the frame at the peer shows the Send is under
	// way (and the Recv started before it).
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"Recv": recvErr, "Send": sendErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: err = %v, want net.ErrClosed", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still blocked 5s after Close", name)
		}
	}
}

// TestConnSendCancel: a Send cancelled in the middle of a large frame
// returns context.Canceled, and the rest of the frame goes out before the
// next message, so the peer sees both whole. A Send whose context is
// already done sends nothing.
func TestConnSendCancel(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	c := frame.NewConn(client)
	big := payload(9, 8<<20)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(done, []byte("never sent")); err != context.Canceled {
		t.Fatalf("Send with a done context: err = %v, want context.Canceled", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	// Nobody reads yet, so an 8 MiB frame cannot fit in the socket
	// buffers and Send blocks until the cancel.
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := c.Send(ctx, big); err != context.Canceled {
		t.Fatalf("Send: err = %v, want context.Canceled", err)
	}

	received := make(chan [][]byte, 1)
	go func() {
		var msgs [][]byte
		r := frame.NewReader(server)
		server.SetReadDeadline(time.Now().Add(time.Minute))
		for range 2 {
			m, err := r.ReadMessage()
			if err != nil {
				break
			}
			msgs = append(msgs, bytes.Clone(m))
		}
		received <- msgs
	}()
	if err := c.Send(context.Background(), []byte("next")); err != nil {
		t.Fatal(err)
	}
	if diff := diffMessages([][]byte{big, []byte("next")}, <-received); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// TestConnAllocs: Send and Recv without a context allocate nothing, nor
// do SendFrame and RecvFrame on a layout with header fields.
func TestConnAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: under -race, sync.Pool drops items at random")
	}
	client, server := tcpPair(t)
	a, b := frame.NewConn(client), frame.NewConn(server)
	msg := make([]byte, 128)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Send+Recv: %v allocs/op, want 0", allocs)
	}

	client, server = tcpPair(t)
	a, b = frame.NewConn(client, frame.WithLayout(pgTyped)), frame.NewConn(server, frame.WithLayout(pgTyped))
	fields := []byte("D")
	allocs = testing.AllocsPerRun(100, func() {
		if err := a.SendFrame(ctx, fields, msg); err != nil {
			t.Fatal(err)
		}
		if hdr, _, err := b.RecvFrame(ctx); err != nil || hdr[0] != 'D' {
			t.Fatalf("RecvFrame = % x, %v", hdr, err)
		}
	})
	if allocs != 0 {
		t.Errorf("SendFrame+RecvFrame: %v allocs/op, want 0", allocs)
	}
}

// TestConnSendTooLarge: an oversize Send writes nothing and the Conn
// stays usable.
func TestConnSendTooLarge(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	a := frame.NewConn(client, frame.WithMaxSize(10))
	b := frame.NewConn(server, frame.WithMaxSize(10))
	if err := a.Send(context.Background(), make([]byte, 11)); !errors.Is(err, frame.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if err := a.SendBatch(context.Background(), []byte("one"), []byte("two")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two"} {
		if m, err := b.Recv(context.Background()); err != nil || string(m) != want {
			t.Fatalf("Recv = %q, %v; want %q", m, err, want)
		}
	}
}

// TestConnRelease: a Conn that is idle after Release holds no buffer, and
// the next exchange works.
func TestConnRelease(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	a, b := frame.NewConn(client), frame.NewConn(server)
	ctx := context.Background()
	for i := range 3 {
		if err := a.Send(ctx, payload(uint64(i), 100000)); err != nil {
			t.Fatal(err)
		}
		if m, err := b.Recv(ctx); err != nil || len(m) != 100000 {
			t.Fatalf("Recv = %d bytes, %v", len(m), err)
		}
		a.Release()
		b.Release()
		if n := a.HeldBytes() + b.HeldBytes(); n != 0 {
			t.Fatalf("after Release: holding %d bytes, want 0", n)
		}
	}
}

// TestConnRecvBuffered: messages that arrived together are returned
// without touching the deadline, even with a context that can be
// cancelled, and a cancelled context still wins.
func TestConnRecvBuffered(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	b := frame.NewConn(server)
	if err := frame.SendBatch(client, []byte("one"), []byte("two"), []byte("three")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, want := range []string{"one", "two"} {
		if m, err := b.Recv(ctx); err != nil || string(m) != want {
			t.Fatalf("Recv = %q, %v; want %q", m, err, want)
		}
	}
	cancel()
	if _, err := b.Recv(ctx); err != context.Canceled {
		t.Fatalf("Recv with a cancelled context: err = %v, want context.Canceled", err)
	}
	if m, err := b.Recv(context.Background()); err != nil || string(m) != "three" {
		t.Fatalf("Recv = %q, %v; want \"three\"", m, err)
	}
}

// TestConnSendDropsUnsent: a Send stopped by its context or by the write
// deadline before any byte left is dropped, not delivered by a later
// Send. net.Pipe has no buffer, so nothing leaves while nobody reads.
func TestConnSendDropsUnsent(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	c := frame.NewConn(a)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Send(ctx, []byte("dropped by the context")); err != context.DeadlineExceeded {
		t.Fatalf("Send: err = %v, want context.DeadlineExceeded", err)
	}
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if err := c.Send(context.Background(), []byte("dropped by the deadline")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send: err = %v, want os.ErrDeadlineExceeded", err)
	}
	c.SetDeadline(time.Time{})

	got := make(chan string, 1)
	go func() {
		m, err := frame.RecvMessage(b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m)
	}()
	// Bounded: if a dropped message went first, nobody reads "kept".
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	err := c.Send(ctx2, []byte("kept"))
	if m := <-got; m != "kept" {
		t.Fatalf("peer received %q, want \"kept\"", m)
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.NetConn() != a {
		t.Error("NetConn does not return the wrapped connection")
	}
}
