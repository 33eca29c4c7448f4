package frame_test

import (
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/framesock/framesock/frame"
)

// streamBenchSize is the message BenchmarkStream moves per operation.
const streamBenchSize = 256 << 20

// BenchmarkStream measures streamed messages between a file and TCP
// loopback beside the same bytes without framing, in one run, so that
// benchstat -col /impl reads the ratio:
//
//   - send: impl=raw is io.Copy(conn, file), impl=frame is
//     Writer.WriteMessageFrom(file, size). The peer moves what arrives
//     into a file with splice(2), the same for both.
//   - receive: impl=raw is io.Copy(file, conn) of the payload, impl=frame
//     is Reader.NextReader, then io.Copy(file, body). The peer sends the
//     file with sendfile(2) (after the header for frame).
//
// On Linux both framed paths are zero-copy; elsewhere they copy through a
// buffer. The file is on tmpfs (/dev/shm) where there is one, so that the
// disk does not set the pace; each operation rewinds it.
//
//	for i in 1 2 3 4 5 6 7 8; do
//	  go test -run '^$' -bench 'Stream' -count 1 ./frame/ >> stream.txt
//	done
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl -filter '.unit:(B/s)' stream.txt
func BenchmarkStream(b *testing.B) {
	src := scratchFile(b, "src")
	if _, err := io.Copy(src, &pattern{n: streamBenchSize}); err != nil {
		b.Fatal(err)
	}
	opts := []frame.Option{frame.WithMaxStreamSize(streamBenchSize)}
	name := fmt.Sprintf("%dMiB", streamBenchSize>>20)
	hdr := int64(len(encode(b, frame.Uint32BE, nil)))
	for _, impl := range []string{"raw", "frame"} {
		b.Run("send/"+name+"/impl="+impl, func(b *testing.B) {
			client, server := tcpPair(b)
			wire := int64(streamBenchSize)
			if impl == "frame" {
				wire += hdr
			}
			sink := scratchFile(b, "sink")
			done := drain(server, sink, wire, b.N)
			w := frame.NewWriter(client, opts...)
			b.SetBytes(streamBenchSize)
			b.ReportAllocs()
			b.ResetTimer()
			// Not b.Loop: the peer must know b.N before the first
			// operation.
			for range b.N {
				if _, err := src.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				var err error
				if impl == "raw" {
					_, err = io.Copy(client, src)
				} else {
					err = w.WriteMessageFrom(src, streamBenchSize)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
	for _, impl := range []string{"raw", "frame"} {
		b.Run("receive/"+name+"/impl="+impl, func(b *testing.B) {
			client, server := tcpPair(b)
			sink := scratchFile(b, "sink")
			done := feed(client, src, impl == "frame", b.N)
			r := frame.NewReader(server, opts...)
			b.SetBytes(streamBenchSize)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := sink.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				var n int64
				var err error
				if impl == "raw" {
					n, err = io.Copy(sink, io.LimitReader(server, streamBenchSize))
				} else {
					var body io.Reader
					if _, body, err = r.NextReader(); err == nil {
						n, err = io.Copy(sink, body)
					}
				}
				if err != nil || n != streamBenchSize {
					b.Fatalf("received %d bytes, %v", n, err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// scratchFile creates a file on tmpfs (/dev/shm) where there is one, so
// that the disk does not set the pace, or else in the test's directory.
func scratchFile(t testing.TB, name string) *os.File {
	t.Helper()
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "framesock"); err == nil {
			dir = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	f, err := os.Create(dir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// drain moves n bytes from c into sink, ops times, rewinding sink each
// time, and reports how it ended.
func drain(c io.Reader, sink *os.File, n int64, ops int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for range ops {
			if _, err := sink.Seek(0, io.SeekStart); err != nil {
				done <- err
				return
			}
			if k, err := sink.ReadFrom(io.LimitReader(c, n)); err != nil || k != n {
				done <- fmt.Errorf("drained %d of %d bytes: %v", k, n, err)
				return
			}
		}
		done <- nil
	}()
	return done
}

// feed sends src to c ops times, each time after a header if framed.
func feed(c io.ReaderFrom, src *os.File, framed bool, ops int) <-chan error {
	done := make(chan error, 1)
	f, err := os.Open(src.Name()) // an offset of its own
	if err != nil {
		done <- err
		return done
	}
	go func() {
		defer f.Close()
		for range ops {
			if framed {
				if _, err := c.(io.Writer).Write(hdr4(streamBenchSize)); err != nil {
					done <- err
					return
				}
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				done <- err
				return
			}
			if k, err := c.ReadFrom(io.LimitReader(f, streamBenchSize)); err != nil || k != streamBenchSize {
				done <- fmt.Errorf("fed %d bytes: %v", k, err)
				return
			}
		}
		done <- nil
	}()
	return done
}
