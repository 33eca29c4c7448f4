//go:build linux || darwin

package echo_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/frame"
	"github.com/framesock/framesock/sockopt"
)

// TestFramedLargeReplyWrites checks the system calls that carry a large
// framed reply (256 KiB, with 4 KiB frame buffers): with room in the send
// buffer it leaves, header and payload, in one writev(2); with a small
// send buffer and receiver, writev(2) writes part of it at a time and the
// server carries on from where each call stopped. Either way the reply
// arrives whole, and no plain write(2) is made for it.
//
// Not parallel: the write counters are shared by every server.
func TestFramedLargeReplyWrites(t *testing.T) {
	tests := []struct {
		name    string
		size    int // of the message
		sndbuf  int // the server's SO_SNDBUF
		rcvbuf  int // the client's SO_RCVBUF; 0: the default
		writevs func(n int64) bool
		want    string
	}{
		{name: "room", size: 256 << 10, sndbuf: 1 << 20,
			writevs: func(n int64) bool { return n == 1 }, want: "one writev"},
		{name: "partial", size: 4 << 20, sndbuf: 16 << 10, rcvbuf: 16 << 10,
			writevs: func(n int64) bool { return n > 1 }, want: "several writevs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes, writevs, restore := echo.CountWrites()
			t.Cleanup(restore) // after the server's own cleanup, which runs first
			s := &echo.Server{
				Framed:       true,
				FrameOptions: []frame.Option{frame.WithBufferSize(4 << 10)},
				Options:      []sockopt.Option{sockopt.WriteBuffer(tt.sndbuf)},
			}
			addr := echotest.Start(t, s)
			d := net.Dialer{Timeout: testTimeout}
			if tt.rcvbuf > 0 {
				d.Control = sockopt.Control(sockopt.ReadBuffer(tt.rcvbuf))
			}
			c, err := d.DialContext(context.Background(), "tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			msg := bytes.Repeat(pattern, tt.size/len(pattern)+1)[:tt.size]
			var sender group
			sender.Go(func() error { return writeFrame(c, msg) })

			got, err := readFrame(c)
			if err != nil {
				t.Fatalf("reading the reply: %v", err)
			}
			if err := sender.Wait(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("reply of %d bytes differs from the %d-byte message", len(got), len(msg))
			}
			if w, wv := writes.Load(), writevs.Load(); w != 0 || !tt.writevs(wv) {
				t.Errorf("reply left in %d write(2) and %d writev(2) calls, want %s and no write", w, wv, tt.want)
			}
		})
	}
}

// TestFramedLargeReplyWriteTimeout: a client that sends a large message
// and never reads the reply is cut by WriteTimeout while the server's
// gathered write waits for room.
func TestFramedLargeReplyWriteTimeout(t *testing.T) {
	t.Parallel()
	const writeTimeout = 200 * time.Millisecond
	logger, logs := newLogger()
	s := &echo.Server{
		Framed:       true,
		WriteTimeout: writeTimeout,
		FrameOptions: []frame.Option{frame.WithBufferSize(4 << 10)},
		Options:      []sockopt.Option{sockopt.WriteBuffer(16 << 10)},
		Logger:       logger,
	}
	addr := echotest.Start(t, s)
	c := dial(t, "tcp", addr)
	if err := writeFrame(c, bytes.Repeat(pattern, 16)); err != nil { // 4 MiB
		t.Fatal(err)
	}
	// The count comes before the log line.
	waitFor(t, "the write timeout counted and logged", func() bool {
		return s.Stats().Timeouts == 1 && len(logs.lines("level=WARN", "write timeout")) == 1
	})
	// The connection is closed: reading drains what was sent, then ends.
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Errorf("reading after the cut: %v", err)
	}
}
