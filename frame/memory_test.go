package frame_test

// The tests in this file measure allocation with runtime.MemStats, which
// counts every goroutine's allocations, so none of them is parallel: Go
// runs them before any parallel test resumes.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"testing"

	"github.com/framesock/framesock/frame"
)

// allocated returns the bytes f allocates. The two collections first
// empty the buffer pools (sync.Pool keeps a victim cache for one cycle), so
// a buffer that a claim would need cannot come for free from an earlier
// test. The runtime allocates in the background now and then (finalizers
// of the sockets earlier tests closed run after a collection), so f runs
// three times and the least is the figure: background allocation only
// ever adds.
func allocated(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		runtime.GC()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// hostileReaders are the read APIs under attack, each reading one message
// from r with the given maximum (0 for the default).
var hostileReaders = []struct {
	name string
	read func(r io.Reader, max int) error
}{
	{"RecvMessage", func(r io.Reader, max int) error {
		if max != 0 {
			return errors.New("RecvMessage has no maximum to set")
		}
		_, err := frame.RecvMessage(r)
		return err
	}},
	{"Reader.ReadMessage", func(r io.Reader, max int) error {
		_, err := newReader(r, max).ReadMessage()
		return err
	}},
	{"Reader.AppendMessage", func(r io.Reader, max int) error {
		_, err := newReader(r, max).AppendMessage(nil)
		return err
	}},
}

func newReader(r io.Reader, max int) *frame.Reader {
	if max == 0 {
		return frame.NewReader(r)
	}
	return frame.NewReader(r, frame.WithMaxSize(max))
}

// TestHostileClaimAboveMax: a header claiming 4 GiB - 1 is rejected
// having allocated no more than a few KiB (the read buffer and the error).
func TestHostileClaimAboveMax(t *testing.T) {
	stream := append([]byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 100)...)
	for _, hr := range hostileReaders {
		var err error
		n := allocated(func() { err = hr.read(bytes.NewReader(stream), 0) })
		var se *frame.SizeError
		if !errors.As(err, &se) || se.Size != 1<<32-1 {
			t.Errorf("%s: err = %v, want a *SizeError for 4294967295 bytes", hr.name, err)
		}
		if n > 8<<10 {
			t.Errorf("%s: allocated %d bytes, want at most 8 KiB", hr.name, n)
		}
	}
}

// TestHostileClaimBelowMax: a header claiming 15 MiB followed by 100 bytes
// and EOF gives io.ErrUnexpectedEOF having allocated under 1 MiB, and the
// same holds when the maximum is raised to 1 GiB and the claim with it.
func TestHostileClaimBelowMax(t *testing.T) {
	tests := []struct {
		name  string
		claim uint32
		max   int
	}{
		{"15MiB", 15 << 20, 0},
		{"1GiB-1 under a 1GiB maximum", 1<<30 - 1, 1 << 30},
	}
	for _, tt := range tests {
		stream := binary.BigEndian.AppendUint32(nil, tt.claim)
		stream = append(stream, make([]byte, 100)...)
		for _, hr := range hostileReaders {
			if hr.name == "RecvMessage" && tt.max != 0 {
				continue
			}
			var err error
			n := allocated(func() { err = hr.read(bytes.NewReader(stream), tt.max) })
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s/%s: err = %v, want io.ErrUnexpectedEOF", tt.name, hr.name, err)
			}
			if n >= 1<<20 {
				t.Errorf("%s/%s: allocated %d bytes, want under 1 MiB", tt.name, hr.name, n)
			}
		}
	}
}

// TestAllocationFollowsData: a peer that claims 15 MiB and sends 2 MiB
// costs memory in proportion to the 2 MiB, not the claim.
func TestAllocationFollowsData(t *testing.T) {
	stream := binary.BigEndian.AppendUint32(nil, 15<<20)
	stream = append(stream, make([]byte, 2<<20)...)
	for _, hr := range hostileReaders {
		var err error
		n := allocated(func() { err = hr.read(bytes.NewReader(stream), 0) })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: err = %v, want io.ErrUnexpectedEOF", hr.name, err)
		}
		// Doubling growth keeps at most twice what arrived, plus the
		// copies made while growing.
		if n > 8<<20 {
			t.Errorf("%s: allocated %d bytes for 2 MiB received, want at most 8 MiB", hr.name, n)
		}
	}
}

// TestLargeSendIsNotCopied: on a *net.TCPConn a 1 MiB message goes out in
// one writev without the payload being copied into a joined buffer, which
// would allocate (the pools are empty) at least 1 MiB.
func TestLargeSendIsNotCopied(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: TCP loopback unavailable: %v", err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	// Drain with a buffer allocated up front, so the reader allocates
	// nothing while we measure.
	msg := payload(3, 1<<20)
	const sends = 2 * 3 // two per run of allocated
	want := sends * (4 + len(msg))
	drained := make(chan int, 1)
	buf := make([]byte, 64<<10)
	go func() {
		total := 0
		for total < want {
			n, err := server.Read(buf)
			total += n
			if err != nil {
				break
			}
		}
		drained <- total
	}()

	fw := frame.NewWriter(client)
	n := allocated(func() {
		if err := frame.SendMessage(client, msg); err != nil {
			t.Error(err)
		}
		if err := fw.WriteMessage(msg); err != nil {
			t.Error(err)
		}
	})
	if got := <-drained; got != want {
		t.Fatalf("peer received %d bytes, want %d", got, want)
	}
	if n > 64<<10 {
		t.Errorf("sending 1 MiB twice allocated %d bytes, want under 64 KiB (no copy of the payload)", n)
	}
}

// TestHostileClaimLayouts: the memory guarantees hold whatever the layout.
// A header claiming more than the maximum costs a few KiB, one claiming 15
// MiB followed by 100 bytes costs less than 1 MiB, one followed by 2 MiB
// costs in proportion to the 2 MiB.
func TestHostileClaimLayouts(t *testing.T) {
	for _, l := range []frame.Layout{
		{Offset: 1, Length: frame.Uint32BE, Adjust: -4},
		{Length: frame.Uint24BE, After: 6},
		{Offset: 1, Length: frame.Uvarint},
		{Offset: 1, Length: frame.Uint24BE, After: 16, Adjust: -20},
		{Offset: 3, Length: frame.Uint32BE, Adjust: 1},
	} {
		fields := make([]byte, l.Offset+l.After)
		claim := func(n, sent int) []byte {
			b := refHeader(l, testFrame{fields, make([]byte, n)})
			return append(b, make([]byte, sent)...)
		}
		above, short, part := claim(1<<20+1, 100), claim(15<<20, 100), claim(15<<20, 2<<20)
		for _, read := range []struct {
			name string
			fn   func(*frame.Reader) error
		}{
			{"ReadMessage", func(r *frame.Reader) error { _, err := r.ReadMessage(); return err }},
			{"AppendMessage", func(r *frame.Reader) error { _, err := r.AppendMessage(nil); return err }},
		} {
			name := fmt.Sprintf("%+v/%s", l, read.name)
			var err error
			n := allocated(func() {
				err = read.fn(frame.NewReader(bytes.NewReader(above), frame.WithLayout(l), frame.WithMaxSize(1<<20)))
			})
			if !errors.Is(err, frame.ErrTooLarge) || n > 8<<10 {
				t.Errorf("%s: above the maximum: %v after allocating %d bytes, want ErrTooLarge within 8 KiB", name, err, n)
			}
			n = allocated(func() {
				err = read.fn(frame.NewReader(bytes.NewReader(short), frame.WithLayout(l)))
			})
			if !errors.Is(err, io.ErrUnexpectedEOF) || n >= 1<<20 {
				t.Errorf("%s: 15 MiB claimed, 100 bytes sent: %v after allocating %d bytes, want io.ErrUnexpectedEOF under 1 MiB", name, err, n)
			}
			n = allocated(func() {
				err = read.fn(frame.NewReader(bytes.NewReader(part), frame.WithLayout(l)))
			})
			if !errors.Is(err, io.ErrUnexpectedEOF) || n > 8<<20 {
				t.Errorf("%s: 15 MiB claimed, 2 MiB sent: %v after allocating %d bytes, want io.ErrUnexpectedEOF within 8 MiB", name, err, n)
			}
		}
	}
}
