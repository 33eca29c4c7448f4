package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// headers lists every header format.
var headers = []frame.Header{
	frame.Uint32BE, frame.Uint16BE, frame.Uint64BE, frame.Uint32LE, frame.Uvarint,
	frame.Uint8, frame.Uint16LE, frame.Uint24BE, frame.Uint24LE, frame.Uint64LE,
}

// readMakers wraps a reader in the adversarial readers of testing/iotest,
// as bufio's tests do.
var readMakers = []struct {
	name string
	fn   func(io.Reader) io.Reader
}{
	{"full", func(r io.Reader) io.Reader { return r }},
	{"byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data+err", iotest.DataErrReader},
	{"timeout", iotest.TimeoutReader},
}

// payload returns n deterministic pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// testMessages has the sizes that matter: empty, tiny, around the 1-byte
// and 2-byte length boundaries, around the default buffer, and larger than
// any buffer.
func testMessages(maxLen int) [][]byte {
	var msgs [][]byte
	for i, n := range []int{0, 1, 3, 127, 128, 255, 256, 0, 4095, 4096, 4097, 5000, 16384, 65535, 65536, 200000} {
		if n <= maxLen {
			msgs = append(msgs, payload(uint64(i), n))
		}
	}
	return msgs
}

// encode frames msgs with h the reference way: AppendLength, then payload.
func encode(t testing.TB, h frame.Header, msgs ...[]byte) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = h.AppendLength(b, uint64(len(m))); err != nil {
			t.Fatalf("AppendLength(%d): %v", len(m), err)
		}
		b = append(b, m...)
	}
	return b
}

// collect calls read until io.EOF and returns copies of the messages. An
// iotest.ErrTimeout is retried, a bounded number of times, as a caller
// retries after a deadline.
func collect(t testing.TB, read func() ([]byte, error)) ([][]byte, error) {
	t.Helper()
	var msgs [][]byte
	timeouts := 0
	for range 100000 {
		m, err := read()
		if errors.Is(err, iotest.ErrTimeout) && timeouts < 1000 {
			timeouts++
			continue
		}
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, bytes.Clone(m))
	}
	t.Fatal("collect: too many messages")
	return nil, nil
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// countingWriter counts Write calls.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// gatherWriter is a connection wrapper that can gather, as one
// implementing BuffersWriter does: it counts calls of Write and
// WriteBuffers and passes the bytes on to the wrapped connection. With
// keepV its WriteBuffers returns the right count but leaves v as it was,
// a broken contract that must not make bytes go out twice.
type gatherWriter struct {
	net.Conn
	keepV   bool
	writes  int
	gathers int
}

var _ frame.BuffersWriter = (*gatherWriter)(nil)

func (g *gatherWriter) Write(p []byte) (int, error) {
	g.writes++
	return g.Conn.Write(p)
}

func (g *gatherWriter) WriteBuffers(v *net.Buffers) (int64, error) {
	g.gathers++
	if g.keepV {
		v2 := slices.Clone(*v)
		return v2.WriteTo(g.Conn)
	}
	return v.WriteTo(g.Conn)
}

// diffMessages is cmp.Diff for message lists, with a fast path: go-cmp
// walks byte slices element by element through reflection, which takes
// seconds for the megabytes these tests move. On a mismatch it describes
// each differing message briefly instead of dumping it.
func diffMessages(want, got [][]byte) string {
	same := len(want) == len(got)
	for i := 0; same && i < len(want); i++ {
		same = bytes.Equal(want[i], got[i]) && (want[i] == nil) == (got[i] == nil)
	}
	if same {
		return ""
	}
	summary := func(ms [][]byte) []string {
		s := make([]string, len(ms))
		for i, m := range ms {
			s[i] = describe(m)
		}
		return s
	}
	return cmp.Diff(summary(want), summary(got))
}

// describe summarises a message: its length, nil-ness and a checksum.
func describe(m []byte) string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprintf("%d bytes, crc32 %08x", len(m), crc32.ChecksumIEEE(m))
}
