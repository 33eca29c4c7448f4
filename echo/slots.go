package echo

import "time"

// slots is the poller's table of parked connections: each in a slot
// whose index and generation make the token of its registration, the free
// slots in a list, and the slots with an IdleTimeout deadline in a heap,
// nearest first. The poller's mu guards it.
//
// Slots are allocated a chunk at a time and never move, so the table
// holds at most one chunk beyond the most connections ever parked at
// once, and growing it leaves no copy behind for the collector.
type slots struct {
	chunks []*[slotChunk]slot
	n      int32   // slots handed out: the indexes below n
	free   int32   // first free slot (chained through slot.pos), or -1
	heap   []int32 // the slots with a deadline, nearest first
	used   int     // slots holding a connection
}

// slot is one parked connection, or a free slot.
type slot struct {
	c        *conn
	since    time.Duration // when c parked, as a monoNow reading
	deadline time.Duration // when IdleTimeout cuts c, likewise; 0: never
	gen      uint32        // counts the slot's uses
	pos      int32         // index in heap or -1; while free, the next free slot
}

// slotChunk is how many slots are allocated at a time (8 KiB on 64-bit
// platforms).
const slotChunk = 256

// A token is a slot's index in its low idxBits bits, under the low bits
// of the slot's generation. Token 0 is never a slot's: generations start
// at 1.
const (
	idxBits = 20 + 12*(^uintptr(0)>>63) // 32 on 64-bit platforms
	maxIdx  = 1<<idxBits - 1
)

func token(i int32, gen uint32) uintptr { return uintptr(gen)<<idxBits | uintptr(i) }

func (t *slots) at(i int32) *slot { return &t.chunks[i/slotChunk][i%slotChunk] }

// reserve returns a free slot, with a new generation, for a connection
// about to be registered; false if every index is taken.
func (t *slots) reserve() (int32, bool) {
	i := t.free
	switch {
	case i >= 0:
		t.free = t.at(i).pos
	case int(t.n) > maxIdx:
		return 0, false
	default:
		if int(t.n) == len(t.chunks)*slotChunk {
			t.chunks = append(t.chunks, new([slotChunk]slot))
		}
		i = t.n
		t.n++
	}
	t.at(i).gen++
	return i, true
}

// unreserve gives back a slot that reserve returned and fill never filled.
func (t *slots) unreserve(i int32) {
	t.at(i).pos, t.free = t.free, i
}

// fill puts c, parked now, in slot i, under its deadline (0: none).
func (t *slots) fill(i int32, c *conn, now, deadline time.Duration) {
	sl := t.at(i)
	sl.c, sl.since, sl.deadline, sl.pos = c, now, deadline, -1
	t.used++
	if deadline != 0 {
		t.push(i)
	}
}

// take empties slot i and returns its connection.
func (t *slots) take(i int32) *conn {
	sl := t.at(i)
	c := sl.c
	if sl.pos >= 0 {
		t.remove(int(sl.pos))
	}
	sl.c = nil
	t.unreserve(i)
	t.used--
	return c
}

// lookup returns the slot that tok, a token from an event, names, if
// that slot holds the connection the token was made for.
func (t *slots) lookup(tok uintptr) (int32, bool) {
	i := int32(tok & maxIdx)
	if i >= t.n {
		return 0, false
	}
	sl := t.at(i)
	return i, sl.c != nil && token(i, sl.gen) == tok
}

// nearest returns the slot with the nearest deadline and that deadline;
// false if no slot has one.
func (t *slots) nearest() (int32, time.Duration, bool) {
	if len(t.heap) == 0 {
		return 0, 0, false
	}
	return t.heap[0], t.at(t.heap[0]).deadline, true
}

// The deadline heap: heap holds slot indexes, each slot its position in
// heap.

func (t *slots) push(i int32) {
	t.at(i).pos = int32(len(t.heap))
	t.heap = append(t.heap, i)
	t.up(len(t.heap) - 1)
}

// remove removes the entry at heap position k.
func (t *slots) remove(k int) {
	last := len(t.heap) - 1
	t.swap(k, last)
	t.at(t.heap[last]).pos = -1
	t.heap = t.heap[:last]
	if k < last && !t.down(k) {
		t.up(k)
	}
}

func (t *slots) less(a, b int) bool {
	return t.at(t.heap[a]).deadline < t.at(t.heap[b]).deadline
}

func (t *slots) swap(a, b int) {
	h := t.heap
	h[a], h[b] = h[b], h[a]
	t.at(h[a]).pos, t.at(h[b]).pos = int32(a), int32(b)
}

func (t *slots) up(k int) {
	for k > 0 {
		parent := (k - 1) / 2
		if !t.less(k, parent) {
			return
		}
		t.swap(k, parent)
		k = parent
	}
}

// down moves the entry at k towards the leaves and reports whether it
// moved.
func (t *slots) down(k int) bool {
	start := k
	for {
		child := 2*k + 1
		if child >= len(t.heap) {
			break
		}
		if r := child + 1; r < len(t.heap) && t.less(r, child) {
			child = r
		}
		if !t.less(child, k) {
			break
		}
		t.swap(k, child)
		k = child
	}
	return k > start
}
