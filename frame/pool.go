package frame

import (
	"math/bits"
	"sync"
)

// Buffers come from power-of-two size classes, each with its own
// [sync.Pool], so that a Reader or Writer that releases its buffer while a
// connection is idle (see [Reader.Release]) gets one back without
// allocating, and so that large payloads are received into recycled memory.
// A pool holds *[]byte rather than []byte: putting a slice header in an
// interface would allocate (staticcheck SA6002).
const (
	minClassShift = 9  // 512 B: the smallest buffer worth pooling
	maxClassShift = 26 // 64 MiB: larger buffers are allocated and dropped
	numClasses    = maxClassShift - minClassShift + 1
)

var pools [numClasses]sync.Pool

// classOf returns the index of the smallest class holding n bytes, or -1
// when n is above the largest class.
func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	shift := bits.Len(uint(n - 1))
	if shift > maxClassShift {
		return -1
	}
	return shift - minClassShift
}

// classSize returns the capacity of buffers in class c.
func classSize(c int) int { return 1 << (c + minClassShift) }

// getPooled returns a buffer of at least n bytes from the pools, or nil
// when the pool for that class is empty. It never allocates, which is what
// lets the Reader take memory for a claimed length without trusting it.
func getPooled(n int) *[]byte {
	c := classOf(n)
	if c < 0 {
		return nil
	}
	if p, _ := pools[c].Get().(*[]byte); p != nil {
		return p
	}
	return nil
}

// getBuf returns a buffer of at least n bytes, from the pools or freshly
// allocated with the capacity of its class so that it can be pooled later.
func getBuf(n int) *[]byte {
	if p := getPooled(n); p != nil {
		return p
	}
	size := n
	if c := classOf(n); c >= 0 {
		size = classSize(c)
	}
	b := make([]byte, size)
	return &b
}

// putBuf returns p to the pool of its class. Buffers whose capacity is not
// exactly a class size (from outside the pools) are dropped.
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	n := cap(*p)
	c := classOf(n)
	if c < 0 || classSize(c) != n {
		return
	}
	*p = (*p)[:n]
	pools[c].Put(p)
}
