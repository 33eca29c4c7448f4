package frame

import "fmt"

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
	built   bool  // by newConfig; false in a zero Reader or Writer
	err     error // the first invalid option, returned by every call
	max     int
	header  Header
	discard bool
	bufSize int // initial buffer size
	bufMax  int // the size up to which the buffer may grow
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
// a Writer sends (default [DefaultMaxSize]). The limit in force is the
// smaller of n and what the header format can express, so WithMaxSize never
// lets a Writer truncate a length. A negative n makes every call fail with
// an error matching [ErrInvalidOption].
//
// A Reader compares the claimed length with the limit before it takes any
// memory for the payload, and below the limit takes memory as the bytes
// arrive rather than as claimed, so a large limit is safe against a peer
// that lies in its header.
func WithMaxSize(n int) Option {
	if n < 0 {
		return invalidOption("WithMaxSize(%d): negative size", n)
	}
	return optionFunc(func(c *config) { c.max = n })
}

// WithHeader sets the length-header format (default [Uint32BE]). A value
// that is not one of the declared formats makes every call fail with an
// error matching [ErrInvalidOption].
func WithHeader(h Header) Option {
	if !h.valid() {
		return invalidOption("WithHeader(%v): unknown format", h)
	}
	return optionFunc(func(c *config) { c.header = h })
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
	c := config{built: true, max: DefaultMaxSize, header: Uint32BE, bufSize: defaultBufferSize, bufMax: maxAdaptiveBufferSize}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	c.max = min(c.max, clampInt(c.header.MaxLength()))
	if cl := classOf(c.bufSize); cl >= 0 {
		c.bufSize = classSize(cl)
	}
	c.bufMax = max(c.bufMax, c.bufSize)
	return c
}

// orDefaults returns c, or the defaults if c is the zero config of a
// zero Reader or Writer, so that Reset makes a zero value usable.
func (c config) orDefaults() config {
	if !c.built {
		return newConfig(nil)
	}
	return c
}

// tooLarge returns the error for sending a message of n bytes, or nil.
func (c *config) tooLarge(n int) error {
	if n > c.max {
		return &SizeError{Size: uint64(n), Max: c.max, Format: c.header}
	}
	return nil
}
