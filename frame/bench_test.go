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
// At 128 B, Writer+Reader, Conn and the codec also run with the layouts
// of benchLayouts, under the key layout= (the default layout has no key),
// so that benchstat -col /layout compares each with the default.
//
// Run, for example:
//
//	go test -run '^$' -bench 'Transfer/tcp/128B' -count 10 ./frame | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /layout -filter '/impl:Writer+Reader' new.txt

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

// benchLayouts are the layouts measured beside the default at 128 B:
// Netty's documented example of a length field between one header byte
// before it and one after it, counting the whole frame (a 4-byte header
// like the default's, so the difference is the cost of generality), and
// PostgreSQL's typed messages.
var benchLayouts = []struct {
	name   string
	layout frame.Layout
}{
	{"netty7", frame.Layout{Offset: 1, Length: frame.Uint16BE, After: 1, Adjust: -4}},
	{"pg", frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}},
}

// BenchmarkTransfer is the matrix transport x size x implementation, and
// at 128 B the framed implementations with each of benchLayouts.
func BenchmarkTransfer(b *testing.B) {
	for _, tr := range benchTransports {
		for _, size := range benchSizes {
			for _, impl := range benchImpls {
				name := fmt.Sprintf("%s/%s/impl=%s", tr.name, sizeName(size), impl.name)
				benchTransfer(b, name, tr.pair, size, impl.write, impl.read)
			}
			if size != 128 {
				continue
			}
			for _, bl := range benchLayouts {
				for _, impl := range layoutImpls(bl.layout) {
					name := fmt.Sprintf("%s/%s/impl=%s/layout=%s", tr.name, sizeName(size), impl.name, bl.name)
					benchTransfer(b, name, tr.pair, size, impl.write, impl.read)
				}
			}
		}
	}
}

// benchTransfer runs one benchmark of BenchmarkTransfer.
func benchTransfer(b *testing.B, name string, pair func(*testing.B) (net.Conn, net.Conn), size int,
	write func(io.Writer, []byte, int) error, read func(io.Reader, int, int) error) {
	b.Run(name, func(b *testing.B) {
		msg := payload(1, size)
		w, r := pair(b)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.ResetTimer()
		errc := make(chan error, 1)
		go func() { errc <- write(w, msg, b.N) }()
		err := read(r, size, b.N)
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

// layoutImpls are Writer+Reader and Conn with layout l: WriteFrame and
// SendFrame with header fields, ReadMessage and Recv.
func layoutImpls(l frame.Layout) []struct {
	name  string
	write func(w io.Writer, msg []byte, n int) error
	read  func(r io.Reader, size, n int) error
} {
	fields := make([]byte, l.Offset+l.After)
	sized := func(size int) func([]byte, error) error {
		return func(m []byte, err error) error {
			if err == nil && len(m) != size {
				err = fmt.Errorf("got %d bytes, want %d", len(m), size)
			}
			return err
		}
	}
	return []struct {
		name  string
		write func(w io.Writer, msg []byte, n int) error
		read  func(r io.Reader, size, n int) error
	}{
		{"Writer+Reader", func(w io.Writer, msg []byte, n int) error {
			fw := frame.NewWriter(w, frame.WithLayout(l))
			for range n {
				if err := fw.WriteFrame(fields, msg); err != nil {
					return err
				}
			}
			return fw.Flush()
		}, func(r io.Reader, size, n int) error {
			fr := frame.NewReader(r, frame.WithLayout(l))
			check := sized(size)
			for range n {
				if err := check(fr.ReadMessage()); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Conn", func(w io.Writer, msg []byte, n int) error {
			c := frame.NewConn(w.(net.Conn), frame.WithLayout(l))
			ctx := context.Background()
			for range n {
				if err := c.SendFrame(ctx, fields, msg); err != nil {
					return err
				}
			}
			return nil
		}, func(r io.Reader, size, n int) error {
			c := frame.NewConn(r.(net.Conn), frame.WithLayout(l))
			ctx := context.Background()
			check := sized(size)
			for range n {
				if err := check(c.Recv(ctx)); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// BenchmarkCodec measures framing alone, without a transport: messages
// written to io.Discard and read back from memory. With a layout= key the
// writes are WriteFrame with header fields.
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
			benchRead(b, frame.Layout{}, encode(b, frame.Uint32BE, msg), size)
		})
		if size != 128 {
			continue
		}
		for _, bl := range benchLayouts {
			l := bl.layout
			f := testFrame{make([]byte, l.Offset+l.After), msg}
			b.Run(fmt.Sprintf("WriteMessage/%s/layout=%s", sizeName(size), bl.name), func(b *testing.B) {
				w := frame.NewWriter(io.Discard, frame.WithLayout(l))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := w.WriteFrame(f.fields, f.payload); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("ReadMessage/%s/layout=%s", sizeName(size), bl.name), func(b *testing.B) {
				benchRead(b, l, encodeFrames(l, f), size)
			})
		}
	}
}

// benchRead reads messages of size bytes in layout l from one frame, repeated
// in memory without end.
func benchRead(b *testing.B, l frame.Layout, one []byte, size int) {
	stream := one
	for len(stream) < 1<<20 {
		stream = append(stream, stream...)
	}
	r := frame.NewReader(&loopReader{data: stream}, frame.WithLayout(l))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
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
