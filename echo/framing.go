package echo

import (
	"errors"
	"fmt"

	"github.com/framesock/framesock/frame"
)

// errBadReply marks a reply that the layout cannot frame: a transform
// returned a payload above MaxMessageSize, beyond what the length field
// can express, or shorter than a positive Adjust.
var errBadReply = errors.New("echo: the transform's reply cannot be framed")

// badReply marks err, from writing a reply, with errBadReply if the
// frame.Writer refused the reply (which it does before writing any of
// it), so that the log does not blame the client; other errors are the
// connection's.
func badReply(err error) error {
	if errors.Is(err, frame.ErrTooLarge) || errors.Is(err, frame.ErrLayoutMismatch) {
		return fmt.Errorf("%w: %w", errBadReply, err)
	}
	return err
}

// replyFields holds the header fields a framed reply takes from its
// request: the Offset bytes and the After bytes of the layout, which
// the reply's header repeats around a length field computed anew.
type replyFields struct {
	offset, after int
	buf           [frame.MaxHeaderLen]byte // so that collecting them allocates nothing
}

func (f *replyFields) init(l frame.Layout) { f.offset, f.after = l.Offset, l.After }

// none reports whether the layout has no header fields, as the default
// one: its replies are written without collecting any.
func (f *replyFields) none() bool { return f.offset+f.after == 0 }

// of returns the fields of header h, the whole header of a request,
// copied into f's array: valid until the next call.
func (f *replyFields) of(h []byte) []byte {
	b := append(f.buf[:0], h[:f.offset]...)
	return append(b, h[len(h)-f.after:]...)
}
