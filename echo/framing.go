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

// frameOptions returns the options of a framed server's frame.Reader and
// frame.Writer: opts (Server.FrameOptions), then maxSize
// (Server.MaxMessageSize) if set, which so overrides a WithMaxSize among
// them.
func frameOptions(opts []frame.Option, maxSize int) []frame.Option {
	if maxSize != 0 {
		opts = append(opts[:len(opts):len(opts)], frame.WithMaxSize(maxSize))
	}
	return opts
}

// checkFraming returns the error that every frame.Reader of a server with
// Framed, FrameOptions opts and MaxMessageSize maxSize would return (a
// Layout that cannot be right, a negative size, an Adjust above the
// maximum), so that Listen and Serve report it instead of every
// connection failing with it.
func checkFraming(framed bool, opts []frame.Option, maxSize int) error {
	if !framed {
		return nil
	}
	// A Reader with no source fails its first read with the error of an
	// invalid option if there is one, and with frame.ErrNoStream if not.
	_, err := frame.NewReader(nil, frameOptions(opts, maxSize)...).ReadMessage()
	if errors.Is(err, frame.ErrInvalidOption) {
		return fmt.Errorf("echo: Server.FrameOptions and MaxMessageSize: %w", err)
	}
	return nil
}

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
