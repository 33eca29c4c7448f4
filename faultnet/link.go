package faultnet

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
)

// link is the live state of the faults of one direction: its sources of
// random numbers, the corrupted offsets, when its last piece left, and
// whether its stall has been released.
type link struct {
	faults
	reads, frags *rand.PCG // nil unless the sizes are random
	corrupted    []int64   // offsets, sorted, without duplicates
	lastDepart   time.Time // when the last piece left, under Bandwidth
	released     bool      // the stall's release fired
}

// One stream of random numbers per kind of choice and direction, so that
// adding a fault never changes the choices another makes.
const (
	randReads = 1 + iota
	randFragments
	randCorrupt
)

func newLink(f faults, seed uint64, dir int) link {
	l := link{faults: f}
	source := func(kind uint64) *rand.PCG {
		return rand.NewPCG(mix(seed), mix(seed^mix(uint64(dir)<<8|kind)))
	}
	if f.readRandom {
		l.reads = source(randReads)
	}
	if f.fragRandom {
		l.frags = source(randFragments)
	}
	l.corrupted = slices.Clone(f.corrupt)
	if len(f.corruptWithin) > 0 {
		r := source(randCorrupt)
		for _, w := range f.corruptWithin {
			l.corrupted = append(l.corrupted, int64(below(r, uint64(w))))
		}
	}
	// A byte named twice is inverted once, not restored.
	slices.Sort(l.corrupted)
	l.corrupted = slices.Compact(l.corrupted)
	return l
}

// below returns a number in [0, n) from r, by multiplying and keeping the
// high word: stable across Go versions, unlike the methods of rand.Rand,
// and biased by less than n/2^64.
func below(r *rand.PCG, n uint64) uint64 {
	hi, _ := bits.Mul64(r.Uint64(), n)
	return hi
}

// mix is the SplitMix64 finaliser. PCG takes its seed as state, so seeds
// s and s+1 (a listener's successive connections) would start close.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// split reports whether reads stop at piece boundaries.
func (l *link) split() bool { return l.fragSize > 0 }

// timed reports whether pieces wait before they can be read.
func (l *link) timed() bool { return l.latency > 0 || l.bandwidth > 0 }

// pieceSize returns the size of the next piece of a write with rest bytes
// left: a fragment, or all of rest.
func (l *link) pieceSize(rest int64) int64 {
	if l.fragSize == 0 {
		return rest
	}
	n := int64(l.fragSize)
	if l.frags != nil {
		n = 1 + int64(below(l.frags, uint64(n)))
	}
	return min(n, rest)
}

// arrival returns when a piece of size bytes, written at t, can be read:
// it leaves once the previous piece has left and its own bytes have gone
// out at the bandwidth, and arrives a latency later.
func (l *link) arrival(t time.Time, size int64) time.Time {
	if l.bandwidth > 0 {
		if t.Before(l.lastDepart) {
			t = l.lastDepart
		}
		t = t.Add(transmit(size, l.bandwidth))
		l.lastDepart = t
	}
	return t.Add(l.latency)
}

// transmit returns how long n bytes take at bps bytes per second,
// without overflowing for large n.
func transmit(n, bps int64) time.Duration {
	sec := n / bps
	if sec > math.MaxInt64/int64(time.Second)-1 {
		return math.MaxInt64
	}
	hi, lo := bits.Mul64(uint64(n%bps), uint64(time.Second))
	frac, _ := bits.Div64(hi, lo, uint64(bps)) // hi < bps, as n%bps < bps
	return time.Duration(sec)*time.Second + time.Duration(frac)
}

// readSize returns how many of the n bytes available a Read may return.
func (l *link) readSize(n int) int {
	if l.readMax == 0 {
		return n
	}
	m := l.readMax
	if l.reads != nil {
		m = 1 + int(below(l.reads, uint64(m)))
	}
	return min(m, n)
}

// corrupt inverts the bytes of b, found at offset off of the direction,
// that are to be corrupted.
func (l *link) corrupt(b []byte, off int64) {
	i, _ := slices.BinarySearch(l.corrupted, off)
	for ; i < len(l.corrupted) && l.corrupted[i] < off+int64(len(b)); i++ {
		b[l.corrupted[i]-off] ^= 0xff
	}
}

// hasCorruption reports whether any of n bytes from offset off is to be
// corrupted.
func (l *link) hasCorruption(off, n int64) bool {
	i, _ := slices.BinarySearch(l.corrupted, off)
	return i < len(l.corrupted) && l.corrupted[i] < off+n
}

// stallLimit returns the offset past which nothing is delivered until the
// stall's release fires: math.MaxInt64 without a stall or after it.
func (l *link) stallLimit() int64 {
	if l.released || l.stallAt == math.MaxInt64 {
		return math.MaxInt64
	}
	select {
	case <-l.release:
		l.released = true
		return math.MaxInt64
	default:
		return l.stallAt
	}
}

// releaseChan returns the channel that ends the stall, nil once it has.
func (l *link) releaseChan() <-chan struct{} {
	if l.released {
		return nil
	}
	return l.release
}
