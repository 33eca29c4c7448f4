package frame

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

var (
	// ErrTooLarge matches, through [errors.Is], every error about a message
	// longer than the limit in force or than its header can express. The
	// concrete error is a [*SizeError] carrying the details.
	ErrTooLarge = errors.New("frame: message too large")

	// ErrInvalidHeader matches errors about a received header that cannot
	// be right: a varint longer than 10 bytes, one that overflows 64 bits
	// or one not in its shortest form, and a length field whose value
	// with the layout's Adjust gives a negative payload length.
	ErrInvalidHeader = errors.New("frame: invalid header")

	// ErrInvalidOption matches the error that every call on a Reader,
	// Writer or Conn returns when it was built with an invalid option,
	// such as WithMaxSize(-1) or a Layout that cannot be right:
	// constructors return no error, so the mistake surfaces, named, on
	// first use instead of as a panic. SetLayout and the methods of
	// Layout return it for an invalid Layout.
	ErrInvalidOption = errors.New("frame: invalid option")

	// ErrLayoutMismatch matches the error for a frame to write that does
	// not fit the layout, returned before any byte is written, so the
	// Writer stays usable: header fields of the wrong size for
	// WriteFrame; WriteMessage, WriteBatch, Send or SendBatch, which
	// write no fields, on a layout that has some; a payload shorter than
	// a positive Adjust.
	ErrLayoutMismatch = errors.New("frame: frame does not match the layout")

	// ErrNoStream is returned by every read or write of a Reader or
	// Writer that has nothing to read from or write to: the zero value
	// before Reset, one reset to nil, or a Reader after Handoff.
	ErrNoStream = errors.New("frame: no underlying reader or writer; use NewReader, NewWriter or Reset")

	// ErrBodyClosed is returned by a body that [Reader.NextReader] or
	// [Conn.RecvReader] handed out, when it is read after the next call
	// on its Reader or Conn (or a Reset or Handoff) moved on to the next
	// message: a stale body never returns another message's bytes.
	ErrBodyClosed = errors.New("frame: read from a message body after the next message was read")
)

// errNegativeRead and errInvalidWrite report an io.Reader or io.Writer
// that broke its contract by returning an impossible count.
var (
	errNegativeRead = errors.New("frame: reader returned an invalid count")
	errInvalidWrite = errors.New("frame: writer returned an invalid count")
)

// maxEmptyReads is how many consecutive (0, nil) reads a Reader tolerates
// before it reports [io.ErrNoProgress], as [bufio.Reader] does.
const maxEmptyReads = 100

// noStream is the source of a Reader that has none.
type noStream struct{}

func (noStream) Read([]byte) (int, error) { return 0, ErrNoStream }

// SizeError reports a message longer than the limit in force, on either
// side. It matches [ErrTooLarge] through [errors.Is].
type SizeError struct {
	Size        uint64 // the payload length a received header claims (saturated at 2^64-1), or that of the message to send
	Max         int    // the limit in force on the payload: the configured maximum or what Layout can express
	Layout      Layout // the layout in use; the zero Layout is the default format
	HeaderBytes []byte // the whole header as received, which may show what the peer speaks; nil on the sending side
	Stream      bool   // the message was to be streamed (NextReader, WriteMessageFrom): Max is WithMaxStreamSize's
}

var _ error = (*SizeError)(nil)

func (e *SizeError) Error() string {
	var b strings.Builder
	if e.HeaderBytes == nil {
		fmt.Fprintf(&b, "frame: message of %d bytes exceeds the maximum of %d", e.Size, e.Max)
	} else {
		fmt.Fprintf(&b, "frame: header % x claims %d bytes, above the maximum of %d", e.HeaderBytes, e.Size, e.Max)
		if hint := misframingHint(e.HeaderBytes); hint != "" {
			b.WriteString(" (")
			b.WriteString(hint)
			b.WriteString(")")
		}
	}
	switch l := &e.Layout; {
	case uint64(e.Max) >= l.maxPayload():
		fmt.Fprintf(&b, "; a %v length field", l.Length)
		if l.Adjust != 0 {
			fmt.Fprintf(&b, " with Adjust %d", l.Adjust)
		}
		b.WriteString(" cannot express more")
	case e.Max == math.MaxInt:
		b.WriteString("; more than an int holds")
	case e.Stream:
		b.WriteString("; raise it with frame.WithMaxStreamSize")
	default:
		b.WriteString("; raise it with frame.WithMaxSize")
	}
	return b.String()
}

// Unwrap returns [ErrTooLarge].
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// misframingHint recognises headers that are really the start of another
// protocol, the usual cause of an absurd length: a plaintext client talking
// to a framed port, or framed bytes arriving on a TLS listener.
// "GET " read as "!I" is 1195725856 (x/net/http2 gives a similar hint).
func misframingHint(h []byte) string {
	switch {
	case len(h) >= 2 && h[0] == 0x16 && h[1] == 0x03:
		return "looks like a TLS handshake record: the peer speaks TLS"
	case len(h) >= 4 && isHTTPMethod(string(h[:4])):
		return fmt.Sprintf("looks like text %q: the peer speaks HTTP/1.x", h)
	case len(h) >= 4 && string(h[:4]) == "PRI ":
		return "looks like the HTTP/2 connection preface"
	case len(h) >= 4 && string(h[:4]) == "SSH-":
		return "looks like an SSH banner"
	}
	for _, c := range h {
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	return fmt.Sprintf("looks like text %q: the peer may not be sending length-prefixed frames", h)
}

func isHTTPMethod(s string) bool {
	switch s {
	case "GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "HTTP":
		return true
	}
	return false
}
