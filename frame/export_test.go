package frame

// HeldBytes reports the capacity of the buffers r holds, so tests can see
// that a burst of large messages leaves no large buffer behind and that
// Release gives the buffer back.
func (r *Reader) HeldBytes() int {
	n := 0
	for _, p := range []*[]byte{r.bufp, r.large.bigp, r.large.lastp, r.large.spare} {
		if p != nil {
			n += cap(*p)
		}
	}
	return n
}

// HeldBytes reports the capacity of the buffer w holds.
func (w *Writer) HeldBytes() int {
	if w.bufp == nil {
		return 0
	}
	return cap(*w.bufp)
}

// HeldBytes reports the buffer capacity c holds on both sides.
func (c *Conn) HeldBytes() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.r.HeldBytes() + c.w.HeldBytes()
}
