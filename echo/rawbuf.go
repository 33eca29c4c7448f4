package echo

import (
	"io"
	"net"
	"sync"
)

// rawBufSize is the size of the pooled buffer a raw connection reads into.
// 64 KiB matches the largest chunk a loopback read returns in practice and
// the benchmark's streaming message; it is held only between a read and the
// end of its reply's write, never while a connection waits for input.
const rawBufSize = 64 << 10

var rawBufs = sync.Pool{New: func() any { b := make([]byte, rawBufSize); return &b }}

func getBuf() *[]byte  { return rawBufs.Get().(*[]byte) }
func putBuf(b *[]byte) { rawBufs.Put(b) }

// heldBuf is a raw connection's pooled read buffer, taken from the pool on
// first use and held until released.
type heldBuf struct{ b *[]byte }

func (h *heldBuf) get() []byte {
	if h.b == nil {
		h.b = getBuf()
	}
	return *h.b
}

func (h *heldBuf) release() {
	if h.b != nil {
		putBuf(h.b)
		h.b = nil
	}
}

// plainRead reads into h through net.Conn.Read, for conns the platform
// read path cannot take; the buffer stays held while the read blocks.
func plainRead(nc net.Conn, h *heldBuf) ([]byte, error) {
	b := h.get()
	n, err := nc.Read(b)
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return b[:n], err
}
