package frame

// readBuf is a Reader's read buffer: pooled memory taken on the first
// read, doubled while reads keep filling it, and given back while the
// connection idles, so an idle Reader pins none. buf[r:w] holds the bytes
// read and not yet consumed.
//
// It also keeps the header of the frame in progress or of the message
// last returned (see Reader.Header): a view of buf while the bytes are
// there, which costs nothing, copied to hdr just before anything moves,
// overwrites or gives back the buffer.
type readBuf struct {
	bufp *[]byte // from the pools; nil before the first read and after release
	buf  []byte  // *bufp
	r, w int
	grow bool // the last read filled buf: a larger one would save reads

	hdrAt  int // the header is buf[hdrAt:hdrAt+hdrLen], or hdr[:hdrLen] when hdrAt < 0
	hdrLen int // 0: no header to report
	hdr    [MaxHeaderLen]byte
}

// markHeader records that the n bytes at buf[at:] are the header.
func (b *readBuf) markHeader(at, n int) { b.hdrAt, b.hdrLen = at, n }

// header returns the header recorded by markHeader, or nil.
func (b *readBuf) header() []byte {
	n := b.hdrLen
	if n == 0 {
		return nil
	}
	if b.hdrAt < 0 {
		return b.hdr[:n:n]
	}
	return b.buf[b.hdrAt : b.hdrAt+n : b.hdrAt+n]
}

// keepHeader copies the header out of buf, which is about to change.
func (b *readBuf) keepHeader() {
	if b.hdrLen > 0 && b.hdrAt >= 0 {
		copy(b.hdr[:], b.buf[b.hdrAt:b.hdrAt+b.hdrLen])
		b.hdrAt = -1
	}
}

// makeRoom readies buf for a read at w: it takes a buffer of size bytes on
// first use, doubles it (up to maxSize) when the last read filled it, or
// else slides the unread bytes to the front, as bufio does, so that the
// read gets all the free space.
func (b *readBuf) makeRoom(size, maxSize int) {
	b.keepHeader()
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
		b.keepHeader()
		putBuf(b.bufp)
		b.bufp, b.buf, b.r, b.w, b.grow = nil, nil, 0, 0, false
	}
}
