package echo_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
)

// upperPattern is pattern as echo.Upper replies it.
var upperPattern = upper(pattern)

// loadScale returns how many messages each load-test client sends: full
// in a plain `go test`, and a tenth under -race or -short. The race detector makes this memory-bound test 5 to 10 times
// slower; at a tenth the traffic still crosses every path (raw, framed,
// every size class) with 200 clients at once.
func loadScale(full int) int {
	if raceEnabled || testing.Short() {
		return full / 10
	}
	return full
}

// segment is one message of a load-test client: a slice of pattern.
type segment struct{ off, n int }

// segments returns the messages client id sends: sizes uniform in 1 B..64
// KiB, at random offsets into pattern, reproducible from the seed.
func segments(id, count int) []segment {
	r := rand.New(rand.NewPCG(42, uint64(id)))
	segs := make([]segment, count)
	for i := range segs {
		n := 1 + r.IntN(64<<10)
		segs[i] = segment{off: r.IntN(len(pattern) - n), n: n}
	}
	return segs
}

// TestLoadTCP runs 200 clients at once, each sending 500 messages of 1 B to
// 64 KiB while reading replies concurrently, and checks every reply byte
// against Upper of what was sent, in raw and framed modes.
func TestLoadTCP(t *testing.T) {
	const clients = 200
	msgs := loadScale(500)
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			s := &echo.Server{Framed: framed, Transform: echo.Upper}
			addr := echotest.Start(t, s)
			var g group
			var total int64
			var mu sync.Mutex
			for id := range clients {
				segs := segments(id, msgs)
				n := 0
				for _, sg := range segs {
					n += sg.n
				}
				mu.Lock()
				total += int64(n)
				mu.Unlock()
				c, err := net.Dial("tcp", addr.String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				g.Go(func() error { return sendSegments(c, segs, framed) })
				g.Go(func() error {
					if err := checkReplies(c, segs, framed); err != nil {
						return fmt.Errorf("client %d: %w", id, err)
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			wantBytes := uint64(total)
			if framed {
				wantBytes += 4 * clients * uint64(msgs)
			}
			// A client can read a reply before the server has counted it.
			waitFor(t, "replies counted", func() bool { return s.Stats().BytesOut >= wantBytes })
			st := s.Stats()
			if framed {
				if st.MessagesIn != clients*uint64(msgs) || st.MessagesOut != st.MessagesIn {
					t.Errorf("messages in/out = %d/%d, want %d", st.MessagesIn, st.MessagesOut, clients*msgs)
				}
			}
			if st.BytesIn != wantBytes || st.BytesOut != wantBytes {
				t.Errorf("bytes in/out = %d/%d, want %d", st.BytesIn, st.BytesOut, wantBytes)
			}
			t.Logf("%d clients x %d messages: %.1f MB echoed", clients, msgs, float64(total)/1e6)
		})
	}
}

func sendSegments(c net.Conn, segs []segment, framed bool) error {
	var hdr [4]byte
	for _, sg := range segs {
		p := pattern[sg.off : sg.off+sg.n]
		if framed {
			binary.BigEndian.PutUint32(hdr[:], uint32(sg.n))
			bufs := net.Buffers{hdr[:], p}
			if _, err := bufs.WriteTo(c); err != nil {
				return err
			}
			continue
		}
		if _, err := c.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// checkReplies reads the replies to segs and compares every byte.
func checkReplies(c net.Conn, segs []segment, framed bool) error {
	if framed {
		r := &readerCounter{r: c}
		buf := make([]byte, 64<<10)
		var hdr [4]byte
		for i, sg := range segs {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return fmt.Errorf("reply %d header: %w", i, err)
			}
			if n := binary.BigEndian.Uint32(hdr[:]); n != uint32(sg.n) {
				return fmt.Errorf("reply %d: length %d, want %d", i, n, sg.n)
			}
			if _, err := io.ReadFull(r, buf[:sg.n]); err != nil {
				return fmt.Errorf("reply %d payload: %w", i, err)
			}
			if !bytes.Equal(buf[:sg.n], upperPattern[sg.off:sg.off+sg.n]) {
				return fmt.Errorf("reply %d (%d bytes) differs from Upper(request)", i, sg.n)
			}
		}
		return nil
	}
	// A raw stream: compare the byte stream, whatever the read sizes.
	buf := make([]byte, 64<<10)
	seg, pos := 0, 0 // next expected byte: segs[seg], offset pos
	for seg < len(segs) {
		n, err := c.Read(buf)
		got := buf[:n]
		for len(got) > 0 {
			if seg == len(segs) {
				return errors.New("more bytes than were sent")
			}
			sg := segs[seg]
			want := upperPattern[sg.off+pos : sg.off+sg.n]
			k := min(len(want), len(got))
			if !bytes.Equal(got[:k], want[:k]) {
				return fmt.Errorf("message %d, offset %d: reply differs from Upper(request)", seg, pos)
			}
			got, pos = got[k:], pos+k
			if pos == sg.n {
				seg, pos = seg+1, 0
			}
		}
		if err != nil && seg < len(segs) {
			return fmt.Errorf("after message %d of %d: %w", seg, len(segs), err)
		}
	}
	return nil
}

type readerCounter struct {
	r io.Reader
	n int64
}

func (r *readerCounter) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}
