package frame

// readBuf is a Reader's read buffer: pooled memory taken on the first
// read, doubled while reads keep filling it, and given back while the
// connection idles, so an idle Reader pins none. buf[r:w] holds the bytes
// read and not yet consumed.
type readBuf struct {
	bufp *[]byte // from the pools; nil before the first read and after release
	buf  []byte  // *bufp
	r, w int
	grow bool // the last read filled buf: a larger one would save reads
}

// makeRoom readies buf for a read at w: it takes a buffer of size bytes on
// first use, doubles it (up to maxSize) when the last read filled it, or
// else slides the unread bytes to the front, as bufio does, so that the
// read gets all the free space.
func (b *readBuf) makeRoom(size, maxSize int) {
	switch {
	case b.bufp == nil:
		b.bufp = getBuf(size)
		b.buf = *b.bufp
		b.r, b.w = 0, 0
	case b.grow && len(b.buf) < maxSize:
		p := getBuf(2 * len(b.buf))
		b.w = copy(*p, b.buf[b.r:b.w])
		b.r = 0
		putBuf(b.bufp)
		b.bufp, b.buf = p, *p
	case b.r > 0:
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	b.grow = false
}

// release gives the buffer back if it holds no unread bytes.
func (b *readBuf) release() {
	if b.bufp != nil && b.r == b.w {
		putBuf(b.bufp)
		*b = readBuf{}
	}
}
