package frame

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// Header is the format of the length that precedes every payload. The zero
// value is [Uint32BE], the chapter's struct.pack("!I", len(msg)).
//
// Every format counts payload bytes only: the header does not include its
// own length, and no format has an offset or adjustment.
type Header uint8

const (
	// Uint32BE is a 4-byte unsigned big-endian length, Python's "!I" and
	// the default. It expresses lengths up to 4 GiB - 1.
	Uint32BE Header = iota
	// Uint16BE is a 2-byte unsigned big-endian length ("!H"), up to 65535.
	Uint16BE
	// Uint64BE is an 8-byte unsigned big-endian length ("!Q").
	Uint64BE
	// Uint32LE is a 4-byte unsigned little-endian length ("<I").
	Uint32LE
	// Uvarint is an unsigned LEB128 varint as written by
	// [binary.AppendUvarint]: the length prefix of protobuf delimited
	// streams (protodelim, Java's writeDelimitedTo) and of go-msgio's
	// varint mode. Readers accept only the shortest encoding of each
	// length, so that every frame has exactly one encoding; a longer one,
	// or one that overflows 64 bits, is [ErrInvalidHeader].
	Uvarint

	numHeaders // sentinel for validation; not a format
)

// String returns the name of the constant, such as "Uint32BE".
func (h Header) String() string {
	switch h {
	case Uint32BE:
		return "Uint32BE"
	case Uint16BE:
		return "Uint16BE"
	case Uint64BE:
		return "Uint64BE"
	case Uint32LE:
		return "Uint32LE"
	case Uvarint:
		return "Uvarint"
	}
	return fmt.Sprintf("Header(%d)", uint8(h))
}

// valid reports whether h is one of the declared formats.
func (h Header) valid() bool { return h < numHeaders }

// MaxLength returns the largest payload length h can express.
func (h Header) MaxLength() uint64 {
	switch h {
	case Uint16BE:
		return math.MaxUint16
	case Uint32BE, Uint32LE:
		return math.MaxUint32
	}
	return math.MaxUint64
}

// Len returns the number of bytes h uses to encode length n.
func (h Header) Len(n uint64) int {
	switch h {
	case Uint16BE:
		return 2
	case Uint32BE, Uint32LE:
		return 4
	case Uint64BE:
		return 8
	}
	// A uvarint carries 7 bits per byte; zero still takes one byte.
	return (bits.Len64(n|1) + 6) / 7
}

// AppendLength appends the header for a payload of n bytes to dst. It
// returns an error matching [ErrTooLarge] when h cannot express n, rather
// than truncating it as uint32(n) would (tokio-rs/tokio#5080), and
// [ErrInvalidHeader] when h is not a declared format.
//
// AppendLength and [Header.ParseLength] let a caller that owns its buffers,
// such as an event loop, frame and split messages itself.
func (h Header) AppendLength(dst []byte, n uint64) ([]byte, error) {
	if !h.valid() {
		return dst, fmt.Errorf("%w: unknown format %v", ErrInvalidHeader, h)
	}
	if n > h.MaxLength() {
		return dst, &SizeError{Size: n, Max: clampInt(h.MaxLength()), Format: h}
	}
	return h.appendLength(dst, n), nil
}

// appendLength is AppendLength without the checks, for callers that did them.
func (h Header) appendLength(dst []byte, n uint64) []byte {
	switch h {
	case Uint16BE:
		return binary.BigEndian.AppendUint16(dst, uint16(n))
	case Uint32BE:
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	case Uint64BE:
		return binary.BigEndian.AppendUint64(dst, n)
	case Uint32LE:
		return binary.LittleEndian.AppendUint32(dst, uint32(n))
	}
	return binary.AppendUvarint(dst, n)
}

// ParseLength decodes the header at the start of b. It returns the payload
// length and the number of header bytes, or hdrLen 0 and a nil error when b
// holds only the beginning of a header. A uvarint longer than 10 bytes, one
// that overflows 64 bits, or one not in its shortest form is
// [ErrInvalidHeader]. ParseLength applies no size limit: that is the
// caller's policy.
func (h Header) ParseLength(b []byte) (n uint64, hdrLen int, err error) {
	switch h {
	case Uint16BE:
		if len(b) < 2 {
			return 0, 0, nil
		}
		return uint64(binary.BigEndian.Uint16(b)), 2, nil
	case Uint32BE:
		if len(b) < 4 {
			return 0, 0, nil
		}
		return uint64(binary.BigEndian.Uint32(b)), 4, nil
	case Uint64BE:
		if len(b) < 8 {
			return 0, 0, nil
		}
		return binary.BigEndian.Uint64(b), 8, nil
	case Uint32LE:
		if len(b) < 4 {
			return 0, 0, nil
		}
		return uint64(binary.LittleEndian.Uint32(b)), 4, nil
	case Uvarint:
		return parseUvarint(b)
	}
	return 0, 0, fmt.Errorf("%w: unknown format %v", ErrInvalidHeader, h)
}

// SplitFunc returns a [bufio.SplitFunc] that makes a [bufio.Scanner]
// yield the payloads of frames in format h, for code already built around
// a Scanner (golang/go#43201). A header that claims more than max bytes
// stops the scan with a [*SizeError], a malformed one with
// [ErrInvalidHeader], and a stream that ends inside a frame with an error
// wrapping [io.ErrUnexpectedEOF]; the end of the stream between frames
// ends the scan cleanly. A zero-length payload is an empty token.
//
// A Scanner holds a whole frame in its buffer and refuses tokens larger
// than it may grow (64 KiB by default): give it room with
// scanner.Buffer(buf, max + 10). For framed streams in services prefer a
// [Reader], which reads large payloads without buffering them twice and
// resumes after a timeout, where a Scanner stops for good.
func (h Header) SplitFunc(max int) bufio.SplitFunc {
	if max < 0 {
		err := fmt.Errorf("frame: SplitFunc(%d): negative size: %w", max, ErrInvalidOption)
		return func([]byte, bool) (int, []byte, error) { return 0, nil, err }
	}
	max = min(max, clampInt(h.MaxLength()))
	return func(data []byte, atEOF bool) (int, []byte, error) {
		n, hl, err := h.ParseLength(data)
		switch {
		case err != nil:
			return 0, nil, err
		case hl == 0:
			if atEOF && len(data) > 0 {
				return 0, nil, fmt.Errorf("frame: stream ended after %d header bytes: %w", len(data), io.ErrUnexpectedEOF)
			}
			return 0, nil, nil // more data, or a clean end between frames
		case n > uint64(max):
			return 0, nil, &SizeError{Size: n, Max: max, Format: h, HeaderBytes: bytes.Clone(data[:hl])}
		case uint64(len(data)-hl) < n:
			if atEOF {
				return 0, nil, fmt.Errorf("frame: stream ended after %d of %d payload bytes: %w", len(data)-hl, n, io.ErrUnexpectedEOF)
			}
			return 0, nil, nil
		}
		end := hl + int(n)
		return end, data[hl:end:end], nil
	}
}

// parseUvarint is [binary.Uvarint] plus the shortest-form rule. Rejecting
// padded encodings (0x80 0x00 for zero) keeps a one-to-one mapping between
// frames and bytes, which the fuzz tests rely on, and costs nothing: every
// encoder we know of writes the shortest form.
func parseUvarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n > 0:
		// A final byte of zero after a continuation byte is padding.
		if n > 1 && b[n-1] == 0 {
			return 0, 0, fmt.Errorf("%w: uvarint % x is not in shortest form", ErrInvalidHeader, b[:n])
		}
		return v, n, nil
	case n < 0:
		return 0, 0, fmt.Errorf("%w: uvarint % x overflows 64 bits", ErrInvalidHeader, b[:-n])
	}
	// n == 0: b ends inside the varint. It cannot be valid once it holds
	// MaxVarintLen64 continuation bytes, which Uvarint reports as n < 0.
	return 0, 0, nil
}

// clampInt converts v to int, saturating at math.MaxInt on 32-bit platforms.
func clampInt(v uint64) int {
	if v > math.MaxInt {
		return math.MaxInt
	}
	return int(v)
}
