package frame

// largeBufs holds the pooled buffers of a Reader's payloads that are too
// large for its read buffer: the one being received, the one last returned
// and a spare. Reusing the spare lets a stream of large messages run on one
// recycled buffer; giving it back at the first small message lets a burst
// end without pinning memory.
//
// Who owns which buffer, and when each goes back to the pools:
//
//   - bigp is the Reader's while a payload is received into it (big is the
//     part received so far). start takes it, grow replaces it by a larger
//     one, stash fills it with what a caller's buffer had received before a
//     read error. When the payload is whole, handOut moves it to lastp. If
//     NextReader takes the payload over, its body hands out big and drop
//     gives the buffer back.
//   - lastp belongs to the caller: it backs the slice the last ReadMessage
//     returned, valid until the next call on the Reader (or Release), so
//     nothing writes to it or pools it until then.
//   - spare is lastp after that next call began (reclaim): the caller's
//     slice is no longer valid, so the buffer is the Reader's again. The
//     next large payload starts in it if it is large enough; the first
//     small message returned gives it to the pools (dropSpare).
//   - release gives lastp and spare to the pools (Reader.Release, which
//     invalidates the returned slice); reset gives all three (Reader.Reset).
//
// The three are distinct buffers or nil, and each is given back once.
type largeBufs struct {
	bigp  *[]byte // payload being received, or nil
	big   []byte  // the bytes of it received so far, in *bigp
	lastp *[]byte // backs the payload last returned; the caller's until the next call
	spare *[]byte // lastp once the next call began: reused by a large payload, else pooled
}

// reclaim takes back the buffer of the payload last returned, at the start
// of the next call, when the caller's slice stops being valid. A spare not
// used since (the message in between was not large) goes to the pools.
func (l *largeBufs) reclaim() {
	putBuf(l.spare)
	l.spare, l.lastp = l.lastp, nil
}

// dropSpare gives the spare back: a small message ended the burst.
func (l *largeBufs) dropSpare() {
	putBuf(l.spare)
	l.spare = nil
}

// start begins a payload of need bytes whose first bytes, have, arrived
// through the read buffer. A pooled buffer of the claimed size costs no new
// memory, so it is used when there is one (the spare first); otherwise the
// claim earns only trustedChunk, and grow doubles it as data arrives.
func (l *largeBufs) start(need int, have []byte) {
	p := l.spare
	l.spare = nil
	if p != nil && cap(*p) < need {
		putBuf(p)
		p = nil
	}
	if p == nil {
		p = getPooled(need)
	}
	if p == nil {
		p = getBuf(min(need, max(trustedChunk, len(have))))
	}
	l.bigp = p
	l.big = append((*p)[:0], have...)
}

// grow doubles the payload buffer, up to need bytes.
func (l *largeBufs) grow(need int) {
	p := getBuf(min(need, 2*cap(l.big)))
	nb := append((*p)[:0], l.big...)
	putBuf(l.bigp)
	l.bigp, l.big = p, nb
}

// stash keeps got, the part of a payload of need bytes that a read into
// the caller's memory had received when it failed, so that the payload
// resumes here whatever memory the next call brings.
func (l *largeBufs) stash(got []byte, need int) {
	p := getBuf(min(need, max(len(got), trustedChunk)))
	l.bigp, l.big = p, append((*p)[:0], got...)
}

// handOut returns the whole payload and lends its buffer to the caller.
func (l *largeBufs) handOut() []byte {
	msg := l.big
	l.lastp, l.bigp, l.big = l.bigp, nil, nil
	return msg
}

// drop gives back the payload being received: the Reader handed its
// bytes out through a body, or skips them.
func (l *largeBufs) drop() {
	putBuf(l.bigp)
	l.bigp, l.big = nil, nil
}

// release gives back the buffers that hold no payload in progress.
func (l *largeBufs) release() {
	putBuf(l.lastp)
	putBuf(l.spare)
	l.lastp, l.spare = nil, nil
}

// reset gives back every buffer, dropping a payload in progress.
func (l *largeBufs) reset() {
	l.release()
	putBuf(l.bigp)
	*l = largeBufs{}
}
