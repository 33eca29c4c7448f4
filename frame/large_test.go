package frame_test

// The test in this file measures the heap of the whole process, so it is
// not parallel: Go runs it before any parallel test resumes.

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// pattern reads n bytes in which each aligned 8-byte word is a mix of its
// position, so that a byte lost, repeated or moved anywhere changes the
// hash of what arrives.
type pattern struct {
	off, n uint64
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off == p.n {
		return 0, io.EOF
	}
	b = b[:min(uint64(len(b)), p.n-p.off)]
	i := 0
	for ; i < len(b) && (p.off+uint64(i))%8 != 0; i++ {
		b[i] = byte(mix64((p.off+uint64(i))/8) >> (8 * ((p.off + uint64(i)) % 8)))
	}
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], mix64((p.off+uint64(i))/8))
	}
	for ; i < len(b); i++ {
		b[i] = byte(mix64((p.off+uint64(i))/8) >> (8 * ((p.off + uint64(i)) % 8)))
	}
	p.off += uint64(len(b))
	return len(b), nil
}

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// heapObjects is the runtime/metrics name of the bytes of heap objects,
// live or not yet swept: the figure a payload buffered in memory would
// raise.
const heapObjects = "/memory/classes/heap/objects:bytes"

// TestLargerThanMemory sends one message of 4 GiB, generated as it is
// read, with WriteMessageFrom over TCP loopback, and receives it with
// NextReader and io.Copy into a hashing writer: the hashes match, and
// the heap of the process grows by at most 4 MiB meanwhile, so neither
// side held the message. It moves 1 GiB with -short and 256 MiB under the
// race detector, which slows the copy tenfold.
func TestLargerThanMemory(t *testing.T) {
	size := uint64(4 << 30)
	switch {
	case raceEnabled:
		size = 256 << 20
	case testing.Short():
		size = 1 << 30
	}
	client, server := tcpPair(t)
	// Uint32BE cannot express 4 GiB: a 64-bit length, and a limit that
	// lets it through.
	opts := []frame.Option{frame.WithHeader(frame.Uint64BE), frame.WithMaxStreamSize(int64(size))}
	seed := maphash.MakeSeed()
	var sent, received maphash.Hash
	sent.SetSeed(seed)
	received.SetSeed(seed)

	runtime.GC()
	sample := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(sample)
	base, peak := sample[0].Value.Uint64(), uint64(0)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		w := frame.NewWriter(client, opts...)
		src := io.TeeReader(&pattern{n: size}, &sent)
		if err := w.WriteMessageFrom(src, int64(size)); err != nil {
			errc <- err
			return
		}
		errc <- w.Flush()
	}()
	context.AfterFunc(ctx, func() { server.Close() })
	r := frame.NewReader(server, opts...)
	n, body, err := r.NextReader()
	if err != nil || uint64(n) != size {
		t.Fatalf("NextReader = %d, %v; want %d", n, err, size)
	}
	copied, err := io.Copy(&received, body)
	close(stop)
	<-sampled
	if err != nil || uint64(copied) != size {
		t.Fatalf("io.Copy = %d, %v; want %d", copied, err, size)
	}
	if err := <-errc; err != nil {
		t.Fatalf("WriteMessageFrom: %v", err)
	}
	if sent.Sum64() != received.Sum64() {
		t.Fatalf("hash of what arrived %x, of what was sent %x", received.Sum64(), sent.Sum64())
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d MiB moved; heap objects grew by at most %d KiB", size>>20, growth>>10)
	if growth > 4<<20 {
		t.Errorf("heap objects grew by %d KiB during the transfer, want at most 4 MiB", growth>>10)
	}
}
