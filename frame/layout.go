package frame

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
)

// MaxHeaderLen is the longest header a [Layout] may describe, in bytes:
// its Offset bytes, its length field (at its widest) and its After bytes
// together. The longest headers of the protocols in the package's table
// are 20 bytes (Diameter) and 24 (memcached's binary protocol, Bitcoin).
// The bound lets a [Reader] keep the header of the message it returned in
// a small array of its own, so [Reader.Header] never allocates and stays
// valid whatever happens to the read buffer, and it catches an Offset or
// After that is really a payload size.
const MaxHeaderLen = 64

// Layout says where a frame's length field sits and what it counts. A
// frame is
//
//	| Offset bytes | length field | After bytes | payload |
//
// with one meaning per field: the payload is the length field's value +
// Adjust bytes long, and the header (everything before the payload) is
// never part of it. So a field that counts only the payload has Adjust 0;
// one that counts itself and the payload, as PostgreSQL's does, has
// Adjust -4; one that counts the whole frame has Adjust -(Offset + the
// field's width + After).
//
// The zero Layout is the default format: a [Uint32BE] length at offset 0
// counting the payload. [WithHeader](h) is WithLayout(Layout{Length: h}).
// The package documentation lists the layouts of common protocols and
// what a Layout cannot describe.
//
// A Layout cannot be right, and is refused with [ErrInvalidOption] when
// given, if Offset or After is negative, Length is not a declared
// [Header], the header can be longer than [MaxHeaderLen], or Adjust makes
// every payload negative (Adjust < -Length.MaxLength()). A Reader or Writer
// also refuses an Adjust above its maximum payload size, which would make
// every frame too large. Valid but unusual: an Adjust below minus the
// header's length (field values below -Adjust are then [ErrInvalidHeader]
// when read), a positive Adjust (every payload is at least Adjust bytes
// long, as when a trailer such as AMQP's frame-end byte is counted in the
// payload), and a negative Adjust with a [Uvarint] field, whose width
// varies, so that Adjust cannot make it count itself.
type Layout struct {
	Offset int    // header bytes before the length field
	Length Header // the length field's encoding
	After  int    // header bytes between the length field and the payload
	Adjust int    // payload length = the length field's value + Adjust
}

// check returns why l cannot be right, or "".
func (l Layout) check() string {
	switch {
	case l.Offset < 0:
		return "negative Offset"
	case l.After < 0:
		return "negative After"
	case !l.Length.valid():
		return fmt.Sprintf("unknown Length %v", l.Length)
	case l.Offset > MaxHeaderLen || l.After > MaxHeaderLen || l.maxHeaderLen() > MaxHeaderLen:
		return fmt.Sprintf("Offset %d + a %v field of up to %d bytes + After %d is above MaxHeaderLen (%d)",
			l.Offset, l.Length, l.Length.Len(math.MaxUint64), l.After, MaxHeaderLen)
	case l.Adjust < 0 && uint64(-(l.Adjust+1)) >= l.Length.MaxLength():
		return fmt.Sprintf("Adjust %d makes every payload negative: a %v field holds at most %d", l.Adjust, l.Length, l.Length.MaxLength())
	}
	return ""
}

// maxHeaderLen returns the length of l's longest header.
func (l *Layout) maxHeaderLen() int {
	return l.Offset + l.Length.Len(math.MaxUint64) + l.After
}

// invalid returns the error for a Layout that failed check, given to call.
func (l Layout) invalid(call, reason string) error {
	return fmt.Errorf("frame: %s(%+v): %s: %w", call, l, reason, ErrInvalidOption)
}

// payloadLen returns the payload length that field value v gives, v +
// Adjust, and whether it is in range: not below 0 nor above 2^64-1.
func (l *Layout) payloadLen(v uint64) (uint64, bool) {
	// uint64(Adjust) is Adjust modulo 2^64: the sum wraps past 2^64 for a
	// negative Adjust, and only then, when the true result is in range.
	n := v + uint64(l.Adjust)
	return n, (n < v) == (l.Adjust < 0)
}

// outOfRange is the payload length for a field value v that payloadLen
// finds out of range: saturated at math.MaxUint64 (above any maximum), or
// ErrInvalidHeader when it is negative.
func (l *Layout) outOfRange(v uint64) (uint64, error) {
	if l.Adjust > 0 {
		return math.MaxUint64, nil
	}
	return 0, fmt.Errorf("%w: length field value %d with Adjust %d gives a negative payload", ErrInvalidHeader, v, l.Adjust)
}

// maxPayload returns the largest payload l can express.
func (l *Layout) maxPayload() uint64 {
	n, ok := l.payloadLen(l.Length.MaxLength())
	if !ok {
		n, _ = l.outOfRange(l.Length.MaxLength())
	}
	return n
}

// parse decodes the header at the start of b: hl is its length and n the
// payload's. It returns hl 0 and a nil error while b holds only the start
// of a header, and an error as soon as the length field is complete and
// malformed or gives a negative payload. It is the one header parser of
// the package: Reader, SplitFunc and ParseHeader use it.
func (l *Layout) parse(b []byte) (hl int, n uint64, err error) {
	var v uint64
	if l.Length == Uvarint {
		if len(b) <= l.Offset {
			return 0, 0, nil
		}
		var fl int
		if v, fl, err = parseUvarint(b[l.Offset:]); fl == 0 {
			return 0, 0, err
		}
		hl = l.Offset + fl + l.After
	} else {
		fl := l.Length.Len(0)
		if len(b) < l.Offset+fl {
			return 0, 0, nil
		}
		v = l.Length.fixedValue(b[l.Offset:])
		hl = l.Offset + fl + l.After
	}
	n, ok := l.payloadLen(v)
	if !ok {
		if n, err = l.outOfRange(v); err != nil {
			return 0, 0, err
		}
	}
	if len(b) < hl {
		return 0, 0, nil
	}
	return hl, n, nil
}

// ParseHeader decodes the header at the start of b and returns its length
// and the payload's, for a caller that frames bytes it holds itself, such
// as an event loop: the frame is b[:headerLen+payloadLen], its payload
// b[headerLen:headerLen+payloadLen]. While b holds only the start of a
// header, it returns headerLen 0 and a nil error.
//
// A malformed [Uvarint] or a field value that makes the payload negative
// is an error matching [ErrInvalidHeader], reported as soon as the length
// field is complete. ParseHeader applies no maximum, which is the
// caller's policy, except that a payload length that does not fit in an
// int is a [*SizeError]. An invalid l is [ErrInvalidOption].
func (l Layout) ParseHeader(b []byte) (headerLen, payloadLen int, err error) {
	if reason := l.check(); reason != "" {
		return 0, 0, l.invalid("Layout.ParseHeader", reason)
	}
	hl, n, err := l.parse(b)
	if hl == 0 {
		return 0, 0, err
	}
	if n > math.MaxInt {
		return 0, 0, &SizeError{Size: n, Max: math.MaxInt, Layout: l, HeaderBytes: bytes.Clone(b[:hl])}
	}
	return hl, int(n), nil
}

// AppendHeader appends to dst the header of a frame whose payload is n
// bytes long: fields[:Offset], the length field, then fields[Offset:], as
// [Writer.WriteFrame] writes it. It returns dst unchanged and an error if
// len(fields) is not Offset+After or n is below the shortest payload l
// allows (0, or Adjust when positive), both matching [ErrLayoutMismatch];
// if the length field cannot express n, a [*SizeError]; if l is invalid,
// [ErrInvalidOption].
func (l Layout) AppendHeader(dst, fields []byte, n int) ([]byte, error) {
	if reason := l.check(); reason != "" {
		return dst, l.invalid("Layout.AppendHeader", reason)
	}
	if err := l.checkFields("Layout.AppendHeader", len(fields)); err != nil {
		return dst, err
	}
	if n < max(0, l.Adjust) {
		return dst, l.tooShort(n)
	}
	if uint64(n) > l.maxPayload() {
		return dst, &SizeError{Size: uint64(n), Max: clampInt(l.maxPayload()), Layout: l}
	}
	return l.appendHeader(dst, fields, uint64(n)), nil
}

// appendHeader is AppendHeader without the checks, for callers that did
// them. The field's value n - Adjust is computed modulo 2^64, which is
// exact for every n the checks let through.
func (l *Layout) appendHeader(dst, fields []byte, n uint64) []byte {
	dst = append(dst, fields[:l.Offset]...)
	dst = l.Length.appendLength(dst, n-uint64(l.Adjust))
	return append(dst, fields[l.Offset:]...)
}

// checkFields returns the error for k bytes of fields given to call, or
// nil if l takes k.
func (l *Layout) checkFields(call string, k int) error {
	if k == l.Offset+l.After {
		return nil
	}
	return fmt.Errorf("frame: %s: %d bytes of header fields, but the layout takes %d (Offset %d, then After %d): %w",
		call, k, l.Offset+l.After, l.Offset, l.After, ErrLayoutMismatch)
}

// noFields returns the error of call, which writes messages without
// fields, on a layout that has some: use names the call that takes them.
func (l *Layout) noFields(call, use string) error {
	return fmt.Errorf("frame: %s: the layout has %d bytes of header fields (Offset %d, After %d) that %s cannot fill: use %s: %w",
		call, l.Offset+l.After, l.Offset, l.After, call, use, ErrLayoutMismatch)
}

// tooShort returns the error for a payload of n bytes, shorter than l allows.
func (l *Layout) tooShort(n int) error {
	return fmt.Errorf("frame: payload of %d bytes is shorter than the layout allows (Adjust %d): no length field value gives it: %w",
		n, l.Adjust, ErrLayoutMismatch)
}

// SplitFunc returns a [bufio.SplitFunc] that makes a [bufio.Scanner]
// yield the payloads of frames in layout l, for code already built around
// a Scanner (golang/go#43201). The token is the payload, as
// [Reader.ReadMessage] returns it: the header is not part of it, so when
// its fields matter (a message type), use a Reader and [Reader.Header], or
// a split function of your own around [Layout.ParseHeader].
//
// A header that claims more than max payload bytes stops the scan with a
// [*SizeError], a malformed one with [ErrInvalidHeader], and a stream that
// ends inside a frame with an error wrapping [io.ErrUnexpectedEOF]; the end
// of the stream between frames ends the scan cleanly. A zero-length
// payload is an empty token. A negative max or an invalid l stops the scan
// with [ErrInvalidOption].
//
// A Scanner holds a whole frame in its buffer and refuses tokens larger
// than it may grow (64 KiB by default): give it room with
// scanner.Buffer(buf, max+MaxHeaderLen). For framed streams in services
// prefer a [Reader], which reads large payloads without buffering them
// twice and resumes after a timeout, where a Scanner stops for good.
func (l Layout) SplitFunc(max int) bufio.SplitFunc {
	var err error
	switch reason := l.check(); {
	case max < 0:
		err = fmt.Errorf("frame: SplitFunc(%d): negative size: %w", max, ErrInvalidOption)
	case reason != "":
		err = l.invalid("Layout.SplitFunc", reason)
	case l.Adjust > max:
		err = l.invalid("Layout.SplitFunc", adjustAboveMax(l.Adjust, max))
	}
	if err != nil {
		return func([]byte, bool) (int, []byte, error) { return 0, nil, err }
	}
	max = min(max, clampInt(l.maxPayload()))
	return func(data []byte, atEOF bool) (int, []byte, error) {
		hl, n, err := l.parse(data)
		switch {
		case err != nil:
			return 0, nil, err
		case hl == 0:
			if atEOF && len(data) > 0 {
				return 0, nil, fmt.Errorf("frame: stream ended after %d header bytes: %w", len(data), io.ErrUnexpectedEOF)
			}
			return 0, nil, nil // more data, or a clean end between frames
		case n > uint64(max):
			return 0, nil, &SizeError{Size: n, Max: max, Layout: l, HeaderBytes: bytes.Clone(data[:hl])}
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

// adjustAboveMax is the reason a layout whose smallest payload, Adjust,
// is above the maximum payload size is refused.
func adjustAboveMax(adjust, max int) string {
	return fmt.Sprintf("Adjust %d is above the maximum payload size %d, so every frame would be too large", adjust, max)
}
