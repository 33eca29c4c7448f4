package frame_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// faultWait is how far ahead the tests set the deadlines that must pass
// while a faultnet connection waits. Inside a bubble (see inBubble) it
// costs no real time; before Go 1.25 it is real, so it is short.
const faultWait = time.Millisecond

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
		// The window is full, unless the deadline passed before the
		// write began (only in real time): then this read times out.
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
