package frame

import (
	"errors"
	"fmt"
	"io"
	"strings"
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

var (
	// ErrTooLarge matches, through [errors.Is], every error about a message
	// longer than the limit in force or than its header can express. The
	// concrete error is a [*SizeError] carrying the details.
	ErrTooLarge = errors.New("frame: message too large")

	// ErrInvalidHeader matches errors about a length header that cannot be
	// decoded: a varint longer than 10 bytes, one that overflows 64 bits, or
	// one not in its shortest form.
	ErrInvalidHeader = errors.New("frame: invalid header")

	// ErrInvalidOption matches the error that every call on a Reader,
	// Writer or Conn returns when it was built with an invalid option,
	// such as WithMaxSize(-1): constructors return no error, so the
	// mistake surfaces, named, on first use instead of as a panic.
	ErrInvalidOption = errors.New("frame: invalid option")
)

// SizeError reports a message longer than the limit in force, on either
// side. It matches [ErrTooLarge] through [errors.Is].
type SizeError struct {
	Size   uint64 // the length claimed by a received header, or of the message to send
	Max    int    // the limit in force: the configured maximum or what the header can express
	Format Header // the header format in use
	Header []byte // the header bytes as received; nil on the sending side
}

var _ error = (*SizeError)(nil)

func (e *SizeError) Error() string {
	var b strings.Builder
	if e.Header == nil {
		fmt.Fprintf(&b, "frame: message of %d bytes exceeds the maximum of %d", e.Size, e.Max)
	} else {
		fmt.Fprintf(&b, "frame: header % x claims %d bytes, above the maximum of %d", e.Header, e.Size, e.Max)
		if hint := misframingHint(e.Header); hint != "" {
			b.WriteString(" (")
			b.WriteString(hint)
			b.WriteString(")")
		}
	}
	if uint64(e.Max) < e.Format.MaxLength() {
		b.WriteString("; raise it with frame.WithMaxSize")
	} else {
		fmt.Fprintf(&b, "; %v cannot express more", e.Format)
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

// An Option configures a [Reader], [Writer] or [Conn]. Options are values
// of a sealed interface, as in go-cmp and goleak, so more can be added
// without breaking callers.
type Option interface{ apply(*config) }

type config struct {
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
	c := config{max: DefaultMaxSize, header: Uint32BE, bufSize: defaultBufferSize, bufMax: maxAdaptiveBufferSize}
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

// tooLarge returns the error for sending a message of n bytes, or nil.
func (c *config) tooLarge(n int) error {
	if n > c.max {
		return &SizeError{Size: uint64(n), Max: c.max, Format: c.header}
	}
	return nil
}

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
// w.Write. Payloads up to [DefaultMaxSize] are accepted; a longer one
// returns a [*SizeError] before any byte is written, so w stays usable.
//
// On a *net.TCPConn or *net.UnixConn a large payload goes out with one
// writev(2) of the header and the payload, without copying the payload;
// other writers (including wrappers around those, golang/go#21676) get the
// header and payload joined in a pooled buffer.
//
// A failed or short write returns an error; SendMessage keeps no state, so
// the stream is then out of sync and should be closed. A [Writer] or
// [Conn] resumes after a timeout instead.
func SendMessage(w io.Writer, msg []byte) error {
	return SendMessages(w, msg)
}

// SendMessages writes msgs to w as consecutive frames in the chapter's
// format in one call to w.Write (one writev(2) on a *net.TCPConn), so a
// batch costs one system call. If any message is too long, nothing is
// written.
func SendMessages(w io.Writer, msgs ...[]byte) error {
	sw := sendWriters.Get().(*Writer)
	sw.Reset(w)
	err := sw.WriteMessages(msgs...)
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
		return nil, &SizeError{Size: size, Max: DefaultMaxSize, Format: Uint32BE, Header: hdr[:]}
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
