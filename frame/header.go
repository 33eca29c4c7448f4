package frame

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// Header is the encoding of a frame's length field. The zero value is
// [Uint32BE], the chapter's struct.pack("!I", len(msg)).
//
// By itself (WithHeader) a Header is the whole frame header, at offset 0
// and counting the payload only; a [Layout] puts it among other header
// fields and says what it counts.
type Header uint8

// The values of the first five are kept stable; later ones were added.
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
	// varint mode, and MQTT's "remaining length". Readers accept only the
	// shortest encoding of each length, so that every frame has exactly
	// one encoding; a longer one, or one that overflows 64 bits, is
	// [ErrInvalidHeader].
	Uvarint
	// Uint8 is a 1-byte length ("!B"), up to 255.
	Uint8
	// Uint16LE is a 2-byte unsigned little-endian length ("<H").
	Uint16LE
	// Uint24BE is a 3-byte unsigned big-endian length, up to 16 MiB - 1:
	// HTTP/2 frames, TLS handshake messages, Diameter.
	Uint24BE
	// Uint24LE is a 3-byte unsigned little-endian length: MySQL packets.
	Uint24LE
	// Uint64LE is an 8-byte unsigned little-endian length ("<Q").
	Uint64LE

	numHeaders // sentinel for validation; not a format
)

var headerNames = [numHeaders]string{
	Uint32BE: "Uint32BE", Uint16BE: "Uint16BE", Uint64BE: "Uint64BE",
	Uint32LE: "Uint32LE", Uvarint: "Uvarint", Uint8: "Uint8",
	Uint16LE: "Uint16LE", Uint24BE: "Uint24BE", Uint24LE: "Uint24LE",
	Uint64LE: "Uint64LE",
}

// String returns the name of the constant, such as "Uint32BE".
func (h Header) String() string {
	if h.valid() {
		return headerNames[h]
	}
	return fmt.Sprintf("Header(%d)", uint8(h))
}

// valid reports whether h is one of the declared formats.
func (h Header) valid() bool { return h < numHeaders }

// MaxLength returns the largest value h can express.
func (h Header) MaxLength() uint64 {
	switch h {
	case Uint8:
		return math.MaxUint8
	case Uint16BE, Uint16LE:
		return math.MaxUint16
	case Uint24BE, Uint24LE:
		return 1<<24 - 1
	case Uint32BE, Uint32LE:
		return math.MaxUint32
	}
	return math.MaxUint64
}

// Len returns the number of bytes h uses to encode length n.
func (h Header) Len(n uint64) int {
	switch h {
	case Uint8:
		return 1
	case Uint16BE, Uint16LE:
		return 2
	case Uint24BE, Uint24LE:
		return 3
	case Uint32BE, Uint32LE:
		return 4
	case Uint64BE, Uint64LE:
		return 8
	}
	// A uvarint carries 7 bits per byte; zero still takes one byte.
	return (bits.Len64(n|1) + 6) / 7
}

// AppendLength appends the length field holding n to dst. It returns an
// error matching [ErrTooLarge] when h cannot express n, rather than
// truncating it as uint32(n) would (tokio-rs/tokio#5080), and
// [ErrInvalidHeader] when h is not a declared format.
//
// AppendLength and [Header.ParseLength] let a caller that owns its buffers,
// such as an event loop, frame and split messages itself;
// [Layout.AppendHeader] and [Layout.ParseHeader] do the same for a whole
// header.
func (h Header) AppendLength(dst []byte, n uint64) ([]byte, error) {
	if !h.valid() {
		return dst, fmt.Errorf("%w: unknown format %v", ErrInvalidHeader, h)
	}
	if n > h.MaxLength() {
		return dst, &SizeError{Size: n, Max: clampInt(h.MaxLength()), Layout: Layout{Length: h}}
	}
	return h.appendLength(dst, n), nil
}

// appendLength is AppendLength without the checks, for callers that did them.
func (h Header) appendLength(dst []byte, n uint64) []byte {
	switch h {
	case Uint32BE:
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	case Uint8:
		return append(dst, byte(n))
	case Uint16BE:
		return binary.BigEndian.AppendUint16(dst, uint16(n))
	case Uint16LE:
		return binary.LittleEndian.AppendUint16(dst, uint16(n))
	case Uint24BE:
		return append(dst, byte(n>>16), byte(n>>8), byte(n))
	case Uint24LE:
		return append(dst, byte(n), byte(n>>8), byte(n>>16))
	case Uint32LE:
		return binary.LittleEndian.AppendUint32(dst, uint32(n))
	case Uint64BE:
		return binary.BigEndian.AppendUint64(dst, n)
	case Uint64LE:
		return binary.LittleEndian.AppendUint64(dst, n)
	}
	return binary.AppendUvarint(dst, n)
}

// ParseLength decodes the length field at the start of b. It returns its
// value and the number of bytes it takes, or hdrLen 0 and a nil error when
// b holds only the beginning of it. A uvarint longer than 10 bytes, one
// that overflows 64 bits, or one not in its shortest form is
// [ErrInvalidHeader]. ParseLength applies no size limit: that is the
// caller's policy. [Layout.ParseHeader] decodes a whole header.
func (h Header) ParseLength(b []byte) (n uint64, hdrLen int, err error) {
	if h == Uvarint {
		return parseUvarint(b)
	}
	if !h.valid() {
		return 0, 0, fmt.Errorf("%w: unknown format %v", ErrInvalidHeader, h)
	}
	if w := h.Len(0); len(b) >= w {
		return h.fixedValue(b), w, nil
	}
	return 0, 0, nil
}

// fixedValue decodes the field at the start of b, which holds all of it,
// for the fixed-width formats.
func (h Header) fixedValue(b []byte) uint64 {
	switch h {
	case Uint8:
		return uint64(b[0])
	case Uint16BE:
		return uint64(binary.BigEndian.Uint16(b))
	case Uint16LE:
		return uint64(binary.LittleEndian.Uint16(b))
	case Uint24BE:
		_ = b[2]
		return uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	case Uint24LE:
		_ = b[2]
		return uint64(b[2])<<16 | uint64(b[1])<<8 | uint64(b[0])
	case Uint32LE:
		return uint64(binary.LittleEndian.Uint32(b))
	case Uint64BE:
		return binary.BigEndian.Uint64(b)
	case Uint64LE:
		return binary.LittleEndian.Uint64(b)
	}
	return uint64(binary.BigEndian.Uint32(b))
}

// SplitFunc is Layout{Length: h}.SplitFunc(max): see [Layout.SplitFunc].
func (h Header) SplitFunc(max int) bufio.SplitFunc {
	return Layout{Length: h}.SplitFunc(max)
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
