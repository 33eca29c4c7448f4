package frame_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/framesock/framesock/frame"
)

// The benchmarks move b.N messages of one size from a writer goroutine to
// the benchmark goroutine over a transport, and report the payload
// throughput (b.SetBytes) and the allocations of both sides. Each framing
// is measured beside two baselines, in the same benchmark tree, so a ratio
// can be read directly from one run:
//
//   - raw: the same payload bytes as one unframed stream, written through
//     a 64 KiB bufio.Writer and read with Read into a buffer the size of a
//     message, at least 64 KiB (the largest buffer a Reader or Writer grows
//     to by itself): the ceiling for moving these bytes.
//   - naive: what people write by hand, per message a header and the
//     payload appended into a new slice and written, then io.ReadFull of
//     the header, a fresh buffer and io.ReadFull of the payload; directly
//     on the connection, and over bufio.
//
// Run, for example:
//
//	go test -run '^$' -bench 'Transfer/tcp/128B' -count 10 ./frame | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl new.txt

const rawBufferSize = 64 << 10

var benchSizes = []int{16, 128, 1 << 10, 64 << 10, 1 << 20}

var benchTransports = []struct {
	name string
	pair func(b *testing.B) (w, r net.Conn)
}{
	{"pipe", func(b *testing.B) (net.Conn, net.Conn) {
		w, r := net.Pipe()
		b.Cleanup(func() {
			w.Close()
			r.Close()
		})
		return w, r
	}},
	{"tcp", func(b *testing.B) (net.Conn, net.Conn) {
		w, r := tcpPair(b)
		return w, r
	}},
}

// benchImpls are the ways to move n messages: write runs in its own
// goroutine, read in the benchmark's.
var benchImpls = []struct {
	name  string
	write func(w io.Writer, msg []byte, n int) error
	read  func(r io.Reader, size, n int) error
}{
	{"raw", func(w io.Writer, msg []byte, n int) error {
		bw := bufio.NewWriterSize(w, rawBufferSize)
		for range n {
			if _, err := bw.Write(msg); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(r io.Reader, size, n int) error {
		buf := make([]byte, max(size, rawBufferSize))
		for want := size * n; want > 0; {
			k, err := r.Read(buf[:min(len(buf), want)])
			want -= k
			if err != nil && want > 0 {
				return err
			}
		}
		return nil
	}},
	{"naive", naiveWrite, naiveRead},
	{"naive-bufio", func(w io.Writer, msg []byte, n int) error {
		bw := bufio.NewWriter(w)
		if err := naiveWrite(bw, msg, n); err != nil {
			return err
		}
		return bw.Flush()
	}, func(r io.Reader, size, n int) error {
		return naiveRead(bufio.NewReader(r), size, n)
	}},
	{"SendMessage+RecvMessage", func(w io.Writer, msg []byte, n int) error {
		for range n {
			if err := frame.SendMessage(w, msg); err != nil {
				return err
			}
		}
		return nil
	}, func(r io.Reader, size, n int) error {
		for range n {
			m, err := frame.RecvMessage(r)
			if err != nil {
				return err
			}
			if len(m) != size {
				return fmt.Errorf("got %d bytes, want %d", len(m), size)
			}
		}
		return nil
	}},
	{"Writer+Reader", func(w io.Writer, msg []byte, n int) error {
		fw := frame.NewWriter(w)
		for range n {
			if err := fw.WriteMessage(msg); err != nil {
				return err
			}
		}
		return fw.Flush()
	}, func(r io.Reader, size, n int) error {
		fr := frame.NewReader(r)
		for range n {
			m, err := fr.ReadMessage()
			if err != nil {
				return err
			}
			if len(m) != size {
				return fmt.Errorf("got %d bytes, want %d", len(m), size)
			}
		}
		return nil
	}},
	{"Conn", func(w io.Writer, msg []byte, n int) error {
		// Send flushes every message: one write per message.
		c := frame.NewConn(w.(net.Conn))
		ctx := context.Background()
		for range n {
			if err := c.Send(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	}, func(r io.Reader, size, n int) error {
		c := frame.NewConn(r.(net.Conn))
		ctx := context.Background()
		for range n {
			m, err := c.Recv(ctx)
			if err != nil {
				return err
			}
			if len(m) != size {
				return fmt.Errorf("got %d bytes, want %d", len(m), size)
			}
		}
		return nil
	}},
}

func naiveWrite(w io.Writer, msg []byte, n int) error {
	for range n {
		buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
		buf = append(buf, msg...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func naiveRead(r io.Reader, size, n int) error {
	var hdr [4]byte
	for range n {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		m := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, m); err != nil {
			return err
		}
		if len(m) != size {
			return fmt.Errorf("got %d bytes, want %d", len(m), size)
		}
	}
	return nil
}

// BenchmarkTransfer is the matrix transport x size x implementation.
func BenchmarkTransfer(b *testing.B) {
	for _, tr := range benchTransports {
		for _, size := range benchSizes {
			for _, impl := range benchImpls {
				b.Run(fmt.Sprintf("%s/%s/impl=%s", tr.name, sizeName(size), impl.name), func(b *testing.B) {
					msg := payload(1, size)
					w, r := tr.pair(b)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					errc := make(chan error, 1)
					go func() { errc <- impl.write(w, msg, b.N) }()
					err := impl.read(r, size, b.N)
					if err != nil {
						// Unblock the writer before waiting for it.
						w.Close()
						r.Close()
					}
					werr := <-errc
					b.StopTimer()
					if err != nil || werr != nil {
						b.Fatalf("read: %v, write: %v", err, werr)
					}
				})
			}
		}
	}
}

// BenchmarkCodec measures framing alone, without a transport: messages
// written to io.Discard and read back from memory.
func BenchmarkCodec(b *testing.B) {
	for _, size := range benchSizes {
		msg := payload(1, size)
		b.Run(fmt.Sprintf("WriteMessage/%s", sizeName(size)), func(b *testing.B) {
			w := frame.NewWriter(io.Discard)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteMessage(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ReadMessage/%s", sizeName(size)), func(b *testing.B) {
			stream := encode(b, frame.Uint32BE, msg)
			for len(stream) < 1<<20 {
				stream = append(stream, stream...)
			}
			src := &loopReader{data: stream}
			r := frame.NewReader(src)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loopReader reads data over and over, never returning io.EOF.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
