package faultnet_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"

	"github.com/framesock/framesock/faultnet"
)

// writeSplit writes data to c in writes of sizes drawn from seed, then
// closes c.
func writeSplit(c net.Conn, data []byte, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	for len(data) > 0 {
		n := min(len(data), 1+r.IntN(300))
		if _, err := c.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return c.Close()
}

// FuzzRandomFragments checks, for any seed, fragment bound, read bound,
// buffer size and data, that a Pipe delivers exactly the bytes written,
// in order, then io.EOF, with a reader and a writer running at once; that
// the same seed and writes, written before any read, give the same reads
// again; and that the split points do not depend on timing: the reads of
// the first run, cut finer by short reads and by bytes not there yet, end
// at every split point of the pieces.
func FuzzRandomFragments(f *testing.F) {
	f.Add(uint64(0), uint8(3), uint8(5), uint16(10), []byte("hello, world"))
	f.Add(uint64(1), uint8(0), uint8(0), uint16(0), []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add(uint64(1<<63), uint8(255), uint8(1), uint16(1000), bytes.Repeat([]byte("0123456789"), 500))
	f.Fuzz(func(t *testing.T, seed uint64, frag, reads uint8, buffer uint16, data []byte) {
		opts := []faultnet.Option{
			faultnet.Seed(seed),
			faultnet.RandomFragments(1 + int(frag)),
			faultnet.RandomReads(1 + int(reads)),
		}

		// Concurrent, through a buffer that may be smaller than a write.
		a, b := faultnet.Pipe(append(opts, faultnet.Buffer(1+int(buffer)))...)
		a.SetDeadline(soon()) // a failure, not a hang
		b.SetDeadline(soon())
		done := make(chan error, 1)
		go func() { done <- writeSplit(a, data, seed) }()
		sizes, got, err := readAll(t, b, 512)
		b.Close()
		if werr := <-done; werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		if err != io.EOF || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v; want the %d written, then io.EOF", len(got), err, len(data))
		}

		// Replay: everything written first, so timing plays no part.
		replay := func(opts ...faultnet.Option) []int {
			a, b := faultnet.Pipe(opts...)
			defer b.Close()
			a.SetDeadline(soon())
			b.SetDeadline(soon())
			if err := writeSplit(a, data, seed); err != nil {
				t.Fatal(err)
			}
			sizes, got, err := readAll(t, b, 512)
			if err != io.EOF || !bytes.Equal(got, data) {
				t.Fatalf("replay: read %d bytes, %v; want the %d written, then io.EOF", len(got), err, len(data))
			}
			return sizes
		}
		if first, second := replay(opts...), replay(opts...); !slices.Equal(first, second) {
			t.Fatalf("seed %d: reads %v, then %v", seed, first, second)
		}
		ends := map[int]bool{}
		for _, end := range offsets(sizes) {
			ends[end] = true
		}
		for _, end := range offsets(replay(opts[:2]...)) { // the pieces alone
			if !ends[end] {
				t.Fatalf("seed %d: the split point at offset %d is gone through a %d-byte buffer", seed, end, 1+int(buffer))
			}
		}
	})
}

// offsets returns where each read of the given sizes ended.
func offsets(sizes []int) []int {
	var ends []int
	at := 0
	for _, n := range sizes {
		at += n
		ends = append(ends, at)
	}
	return ends
}
