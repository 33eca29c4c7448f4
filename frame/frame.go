package frame

import (
	"fmt"
	"io"
)

// RecvExactly reads exactly n bytes from r, like the chapter's
// recv_exactly. It reads nothing past them, and it takes memory as the
// bytes arrive, in chunks of at most doubling size, so a large n costs
// memory only when the data is really there.
//
// The error is [io.EOF] only if no byte was read, and wraps
// [io.ErrUnexpectedEOF] if the stream ended after some; other errors from
// r are returned as they are. The returned slice holds the bytes read in
// either case. n == 0 returns an empty, non-nil slice.
func RecvExactly(r io.Reader, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("frame: RecvExactly: negative count %d", n)
	}
	b, err := readFull(r, n)
	if err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("frame: stream ended after %d of %d bytes: %w", len(b), n, io.ErrUnexpectedEOF)
	}
	return b, err
}

// trustedChunk is how much memory a claimed length earns before any of its
// bytes arrive. Beyond it the buffer doubles as data comes in, so memory is
// at most about twice what was received (the strategy of gRPC's pooled
// chunks and Go's internal/saferio; NixOS/nix#16398).
const trustedChunk = 64 << 10

// readFull is [io.ReadFull] into a buffer that grows with the data.
func readFull(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, min(n, trustedChunk))
	got := 0
	for {
		m, err := io.ReadFull(r, b[got:])
		got += m
		if err != nil {
			if err == io.EOF && got > 0 {
				err = io.ErrUnexpectedEOF
			}
			return b[:got], err
		}
		if got == n {
			return b, nil
		}
		nb := make([]byte, min(n, 2*len(b)))
		copy(nb, b)
		b = nb
	}
}

// SendMessage writes msg to w as one frame in the chapter's format: a
// 4-byte big-endian length, then the payload, in exactly one call to
// w.Write, or to WriteBuffers for a large payload on a [BuffersWriter].
// Payloads up to [DefaultMaxSize] are accepted; a longer one returns a
// [*SizeError] before any byte is written, so w stays usable.
//
// On a BuffersWriter, *net.TCPConn or *net.UnixConn a large payload goes
// out with its header in one gathered write (one writev(2) on a socket),
// without being copied; other writers get the header and the payload
// joined in a pooled buffer.
//
// A failed or short write returns an error; SendMessage keeps no state, so
// the stream is then out of sync and should be closed. A [Writer] or
// [Conn] resumes after a timeout instead.
func SendMessage(w io.Writer, msg []byte) error {
	return SendBatch(w, msg)
}

// SendBatch writes msgs to w as consecutive frames in the chapter's
// format in one call to w.Write, or one gathered write on a
// [BuffersWriter], *net.TCPConn or *net.UnixConn, where large payloads are
// not copied, so a batch costs one system call. If any message is too
// long, nothing is written.
func SendBatch(w io.Writer, msgs ...[]byte) error {
	sw := sendWriters.Get().(*Writer)
	sw.Reset(w)
	err := sw.WriteBatch(msgs...)
	// Unwritten bytes have nowhere to go without a Writer to hold them.
	sw.Reset(nil)
	sendWriters.Put(sw)
	return err
}

// RecvMessage reads one frame in the chapter's format from r and returns
// its payload as a new slice, like the chapter's recv_message. It reads
// exactly the header and the payload, never past the frame, so r can be
// shared with other readers; that also means it holds no state between
// calls and cannot resume after a timeout in the middle of a frame: use a
// [Reader] or [Conn] for that.
//
// It returns [io.EOF] only when the stream ends cleanly before a header,
// an error wrapping [io.ErrUnexpectedEOF] when it ends inside a header or
// payload, and a [*SizeError] for a length above [DefaultMaxSize], leaving
// r positioned after the header (io.CopyN(io.Discard, r, int64(err.Size))
// skips the payload). A zero-length payload is an empty, non-nil slice.
func RecvMessage(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("frame: stream ended after %d of 4 header bytes: %w", n, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	size, _, _ := Uint32BE.ParseLength(hdr[:])
	if size > DefaultMaxSize {
		return nil, &SizeError{Size: size, Max: DefaultMaxSize, HeaderBytes: hdr[:]}
	}
	b, err := readFull(r, int(size))
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("frame: stream ended after %d of %d payload bytes: %w", len(b), size, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
