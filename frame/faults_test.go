package frame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// faultWait is how far ahead the tests set the deadlines that pass while
// a faultnet connection waits, inside a bubble (see inBubble), where the
// wait costs no real time.
const faultWait = time.Second

// past is a deadline that has passed: a Read or Write fails at once.
var past = time.Unix(1, 0)

// A slowPeer is the two ends of a faultnet pipe whose writing end, w, has
// a window of bytes in flight that only the test empties, so that a write
// is cut at a point that depends on nothing but the writes: as over a
// socket whose peer reads slowly, a write that meets a full window waits
// for its deadline, then returns what fit with the timeout.
type slowPeer struct {
	w, r  net.Conn
	got   bytes.Buffer // what r has read
	buf   []byte
	tries int
}

func newSlowPeer(t testing.TB, window int) *slowPeer {
	w, r := faultnet.Pipe(faultnet.Outbound(faultnet.Buffer(window)))
	t.Cleanup(func() {
		w.Close()
		r.Close()
	})
	return &slowPeer{w: w, r: r, buf: make([]byte, window)}
}

// try calls write, which writes to s.w, under a write deadline that every
// other try has passed already, so the write returns at once having
// written nothing, and that otherwise passes once the window is full.
// After that timeout the peer reads what arrived, freeing the window for
// the next try.
func (s *slowPeer) try(write func() error) error {
	s.tries++
	if s.tries%2 == 0 {
		s.w.SetWriteDeadline(past)
		return write()
	}
	s.w.SetWriteDeadline(time.Now().Add(faultWait))
	err := write()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The window is full: the peer empties it.
		s.r.SetReadDeadline(time.Now().Add(faultWait))
		n, _ := s.r.Read(s.buf)
		s.got.Write(s.buf[:n])
	}
	return err
}

// flush retries Flush through the timeouts of try, a bounded number of
// times, and fails t on any other error.
func (s *slowPeer) flush(t testing.TB, fw *frame.Writer) {
	t.Helper()
	for range 100000 {
		err := s.try(fw.Flush)
		if err == nil {
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
	}
	t.Fatal("Flush: no end of timeouts")
}

// received closes the writing end and returns all the peer read.
func (s *slowPeer) received(t testing.TB) []byte {
	t.Helper()
	s.w.Close()
	s.r.SetReadDeadline(time.Time{})
	if _, err := s.got.ReadFrom(s.r); err != nil {
		t.Fatalf("peer: %v", err)
	}
	return s.got.Bytes()
}

// A stalledConn is the reading end of a faultnet pipe that holds a whole
// stream but delivers only its first bytes, up to a stall, until resume:
// a read past them waits for the read deadline, so a timeout falls at
// exactly that offset of the stream, in a header or a payload, however
// the reader reads.
type stalledConn struct {
	net.Conn
	release chan struct{}
}

// stallAt returns a connection that delivers wire, then io.EOF, with a
// stall after its first at bytes and a read deadline that passes there.
func stallAt(t testing.TB, wire []byte, at int) *stalledConn {
	t.Helper()
	release := make(chan struct{})
	w, r := faultnet.Pipe(faultnet.Outbound(faultnet.Stall(int64(at), release), faultnet.Buffer(max(len(wire), 1))))
	t.Cleanup(func() { r.Close() })
	if _, err := w.Write(wire); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.SetReadDeadline(time.Now().Add(faultWait))
	return &stalledConn{r, release}
}

// resume ends the stall and clears the read deadline.
func (c *stalledConn) resume() {
	close(c.release)
	c.SetReadDeadline(time.Time{})
}

// cutOff returns a connection that carries wire, or the part of it that
// opts (TruncateAfter, ResetAfter) let through, then ends.
func cutOff(t testing.TB, wire []byte, opts ...faultnet.Option) net.Conn {
	t.Helper()
	w, r := faultnet.Pipe(faultnet.Outbound(opts...))
	t.Cleanup(func() { r.Close() })
	// A reset at offset 0 fails the write; any other cut lets it
	// succeed, as a send into a socket buffer does.
	if _, err := w.Write(wire); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	w.Close()
	return r
}

// A netReadAPI is a way to read a stream of messages from a connection,
// given a fresh reader of it, as readAPIs are from an io.Reader.
type netReadAPI struct {
	name string
	read func(t testing.TB, c net.Conn, opts ...frame.Option) func() ([]byte, error)
}

// connAPIs are the ways a Conn receives, under a context that could end
// (so that Conn applies it), but does not.
var connAPIs = []netReadAPI{
	{"Conn.Recv", func(t testing.TB, c net.Conn, opts ...frame.Option) func() ([]byte, error) {
		fc, ctx := frame.NewConn(c, opts...), liveContext(t)
		return func() ([]byte, error) { return fc.Recv(ctx) }
	}},
	{"Conn.RecvReader", func(t testing.TB, c net.Conn, opts ...frame.Option) func() ([]byte, error) {
		fc, ctx := frame.NewConn(c, opts...), liveContext(t)
		return func() ([]byte, error) {
			size, body, err := fc.RecvReader(ctx)
			if err != nil {
				return nil, err
			}
			m, err := io.ReadAll(body)
			if err == nil && int64(len(m)) != size {
				err = fmt.Errorf("RecvReader said %d bytes, the body had %d", size, len(m))
			}
			return m, err
		}
	}},
}

// liveContext returns a context that ends when t does.
func liveContext(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// netReadAPIs returns readAPIs and connAPIs, the ways to read a stream of
// messages from a connection.
func netReadAPIs() []netReadAPI {
	var apis []netReadAPI
	for _, api := range readAPIs {
		apis = append(apis, netReadAPI{api.name, func(_ testing.TB, c net.Conn, opts ...frame.Option) func() ([]byte, error) {
			return api.read(c, opts...)
		}})
	}
	return append(apis, connAPIs...)
}
