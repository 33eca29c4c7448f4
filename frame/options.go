package frame

import (
	"encoding/binary"
	"fmt"
)

// DefaultMaxSize is the largest payload, in bytes, that readers and writers
// accept unless [WithMaxSize] says otherwise: 16 MiB. It is below 2 GiB, so
// every frame we accept or send is also valid for CPython's
// multiprocessing.connection, which reads the length as a signed "!i".
const DefaultMaxSize = 16 << 20

// A Reader or Writer takes a buffer of defaultBufferSize on first use (the
// same as [bufio]'s default, so a connection that exchanges a few small
// messages stays small) and doubles it, up to maxAdaptiveBufferSize, while
// the stream keeps it full, so that a busy stream of small messages needs
// few system calls: at 128-byte messages, a 64 KiB buffer carries about
// 500 per read(2) instead of 30. Release and Reset go back to nothing.
const (
	defaultBufferSize     = 4 << 10
	maxAdaptiveBufferSize = 64 << 10
)

// An Option configures a [Reader], [Writer] or [Conn]. Options are values
// of a sealed interface, as in go-cmp and goleak, so more can be added
// without breaking callers.
type Option interface{ apply(*config) }

type config struct {
	built     bool  // by newConfig; false in a zero Reader or Writer
	err       error // the first invalid option, returned by every call
	maxSize   int   // WithMaxSize's
	maxStream int64 // WithMaxStreamSize's, or -1 to follow maxSize
	discard   bool
	bufSize   int // initial buffer size
	bufMax    int // the size up to which the buffer may grow

	base Layout // the layout of the options, which Reset restores

	// The layout in force and what follows from it, computed when it is
	// set so that the paths per message only read them.
	layout Layout
	max    int    // the payload limit: maxSize, or less if layout cannot express it
	stream uint64 // the limit of streamed payloads, likewise
	plain  bool   // layout is the zero Layout, read and written on a fast path
	fixed  int    // the header's length if the field has a fixed width, else 0
	fields int    // Offset + After: the bytes of fields WriteFrame takes
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// invalidOption records the first invalid option, so that a Reader,
// Writer or Conn built with it fails every call with that error.
func invalidOption(format string, args ...any) Option {
	return optionFunc(func(c *config) {
		if c.err == nil {
			c.err = fmt.Errorf("frame: "+format+": %w", append(args, ErrInvalidOption)...)
		}
	})
}

// WithMaxSize sets the largest payload, in bytes, that a Reader accepts and
// a Writer sends (default [DefaultMaxSize]). It counts the payload only,
// never the header, whatever the layout: a frame whose payload is exactly
// n bytes long is accepted. The limit in force is the smaller of n and
// what the layout can express, so WithMaxSize never lets a Writer truncate
// a length. A negative n makes every call fail with an error matching
// [ErrInvalidOption].
//
// A Reader compares the claimed length with the limit before it takes any
// memory for the payload, and below the limit takes memory as the bytes
// arrive rather than as claimed, so a large limit is safe against a peer
// that lies in its header.
func WithMaxSize(n int) Option {
	if n < 0 {
		return invalidOption("WithMaxSize(%d): negative size", n)
	}
	return optionFunc(func(c *config) { c.maxSize = n })
}

// WithMaxStreamSize sets the largest payload, in bytes, of a message
// streamed by [Reader.NextReader] or [Writer.WriteMessageFrom] (and their
// forms on [Conn]). By default it is the maximum of [WithMaxSize], so a
// Reader built with no options refuses a streamed message above 16 MiB
// as it refuses any other: a header that claims a gigabyte is more
// likely a peer that does not speak the protocol ("GET " claims 1.1 GB)
// than a message, and a receiver should say how much it is ready to
// take. A streamed payload takes no memory, so this limit can be far
// above WithMaxSize's, which bounds what ReadMessage holds in memory.
// Like WithMaxSize it counts the payload only, and never exceeds what the
// layout can express. A negative n makes every call fail with an error
// matching [ErrInvalidOption].
func WithMaxStreamSize(n int64) Option {
	if n < 0 {
		return invalidOption("WithMaxStreamSize(%d): negative size", n)
	}
	return optionFunc(func(c *config) { c.maxStream = n })
}

// WithHeader sets the format of the length header (default [Uint32BE]):
// it is WithLayout(Layout{Length: h}), a header that is only a length
// field counting the payload. A value that is not one of the declared
// formats makes every call fail with an error matching [ErrInvalidOption].
func WithHeader(h Header) Option {
	if !h.valid() {
		return invalidOption("WithHeader(%v): unknown format", h)
	}
	return WithLayout(Layout{Length: h})
}

// WithLayout sets the layout of frame headers (default: the zero Layout,
// the chapter's 4-byte big-endian length). A Layout that cannot be right
// (see [Layout]) makes every call fail with an error matching
// [ErrInvalidOption], and nothing is read or written. The last of
// WithLayout and WithHeader wins.
func WithLayout(l Layout) Option {
	if reason := l.check(); reason != "" {
		return invalidOption("WithLayout(%+v): %s", l, reason)
	}
	return optionFunc(func(c *config) { c.base = l })
}

// WithDiscardOversize chooses what a Reader does after a header that claims
// more than the maximum. By default (false) it returns a [*SizeError] and
// keeps returning it: the stream is unusable, the safe choice for a peer
// that is not speaking the protocol. With true the error is returned once,
// the oversize payload is skipped without being stored as it arrives (on
// the next read), and the following message reads normally, like Netty's
// discard mode.
func WithDiscardOversize(on bool) Option {
	return optionFunc(func(c *config) { c.discard = on })
}

// WithBufferSize fixes the size of the buffer a Reader reads into and a
// Writer gathers small messages in, rounded up to a power of two of at
// least 512. It bounds how many small messages one system call carries;
// messages larger than the buffer bypass it. By default the buffer starts
// at 4 KiB and doubles up to 64 KiB while the stream keeps it full.
// A negative n makes every call fail with an error matching
// [ErrInvalidOption].
func WithBufferSize(n int) Option {
	if n < 0 {
		return invalidOption("WithBufferSize(%d): negative size", n)
	}
	return optionFunc(func(c *config) { c.bufSize, c.bufMax = n, n })
}

func newConfig(opts []Option) config {
	c := config{built: true, maxSize: DefaultMaxSize, maxStream: -1, bufSize: defaultBufferSize, bufMax: maxAdaptiveBufferSize}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.base.Adjust > c.maxSize && c.err == nil {
		c.err = c.base.invalid("WithLayout", adjustAboveMax(c.base.Adjust, c.maxSize))
	}
	c.use(c.base)
	if cl := classOf(c.bufSize); cl >= 0 {
		c.bufSize = classSize(cl)
	}
	c.bufMax = max(c.bufMax, c.bufSize)
	return c
}

// orDefaults returns c with the layout of its options, or the defaults if
// c is the zero config of a zero Reader or Writer, so that Reset makes a
// zero value usable.
func (c config) orDefaults() config {
	if !c.built {
		return newConfig(nil)
	}
	c.use(c.base)
	return c
}

// use makes l, which passed check, the layout in force.
func (c *config) use(l Layout) {
	c.layout = l
	c.max = min(c.maxSize, clampInt(l.maxPayload()))
	c.stream = uint64(c.maxSize)
	if c.maxStream >= 0 {
		c.stream = uint64(c.maxStream)
	}
	c.stream = min(c.stream, l.maxPayload())
	c.plain = l == Layout{}
	c.fixed = 0
	if l.Length != Uvarint {
		c.fixed = l.maxHeaderLen()
	}
	c.fields = l.Offset + l.After
}

// setLayout makes l the layout in force if it can be right with c's
// maximum, for call (SetLayout).
func (c *config) setLayout(call string, l Layout) error {
	if c.err != nil {
		return c.err
	}
	if reason := l.check(); reason != "" {
		return l.invalid(call, reason)
	}
	if l.Adjust > c.maxSize {
		return l.invalid(call, adjustAboveMax(l.Adjust, c.maxSize))
	}
	c.use(l)
	return nil
}

// checkPayload returns the error for writing a payload of n bytes, or nil.
func (c *config) checkPayload(n int) error {
	if n > c.max || n < c.layout.Adjust {
		return c.payloadErr(n)
	}
	return nil
}

// checkStream returns the error for streaming a payload of n bytes, or
// nil: n must not be negative, nor above the stream limit, nor shorter
// than a positive Adjust.
func (c *config) checkStream(call string, n int64) error {
	switch {
	case n < 0:
		return fmt.Errorf("frame: %s: negative size %d", call, n)
	case uint64(n) > c.stream:
		return &SizeError{Size: uint64(n), Max: clampInt(c.stream), Layout: c.layout, Stream: true}
	case n < int64(c.layout.Adjust):
		return c.layout.tooShort(int(n))
	}
	return nil
}

// payloadErr is the error of checkPayload, out of its inlined path.
func (c *config) payloadErr(n int) error {
	if n > c.max {
		return &SizeError{Size: uint64(n), Max: c.max, Layout: c.layout}
	}
	return c.layout.tooShort(n)
}

// fieldsErr returns the error of call, given k bytes of header fields
// that are not what the layout takes. The calls that write messages take
// none, and are told to use WriteFrame.
func (c *config) fieldsErr(call string, k int) error {
	switch call {
	case "WriteFrame", "WriteFrameFrom":
		return c.layout.checkFields(call, k)
	case "WriteMessageFrom":
		return c.layout.noFields(call, "WriteFrameFrom")
	}
	return c.layout.noFields(call, "WriteFrame")
}

// headerLen returns the length of the header for a payload of n bytes.
func (c *config) headerLen(n uint64) int {
	if c.fixed != 0 {
		return c.fixed
	}
	return c.fields + Uvarint.Len(n-uint64(c.layout.Adjust))
}

// appendHeader appends the header of a payload of n bytes that passed
// checkPayload, with fields that passed checkFields.
func (c *config) appendHeader(dst, fields []byte, n int) []byte {
	if c.plain {
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	return c.layout.appendHeader(dst, fields, uint64(n))
}
