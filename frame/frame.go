package frame

import (
	"context"
	"errors"
	"io"
	"iter"
	"net"
	"time"
)

// DefaultMaxSize is the largest payload, in bytes, that readers and writers
// accept unless [WithMaxSize] says otherwise: 16 MiB.
const DefaultMaxSize = 16 << 20

var (
	// ErrTooLarge matches (through [errors.Is]) every error about a message
	// longer than the limit in force or than its header can express. The
	// concrete error is a [*SizeError].
	ErrTooLarge = errors.New("frame: message too large")

	// ErrInvalidHeader is returned when a length header cannot be decoded,
	// such as a varint longer than 10 bytes or not in its shortest form.
	ErrInvalidHeader = errors.New("frame: invalid header")
)

// SizeError reports a message longer than the limit in force.
type SizeError struct {
	Size   uint64 // length claimed by the header, or of the message to send
	Max    int    // limit in force
	Header []byte // header bytes as received; nil on the sending side
}

func (e *SizeError) Error() string { return "frame: message too large" }

// Unwrap returns [ErrTooLarge].
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// Header is a length-header format.
type Header uint8

const (
	Uint32BE Header = iota
	Uint16BE
	Uint64BE
	Uint32LE
	Uvarint
)

// Option configures a Reader, Writer or Conn.
type Option interface{ apply(*config) }

type config struct {
	max     int
	header  Header
	discard bool
	bufSize int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxSize sets the largest payload accepted.
func WithMaxSize(n int) Option { return optionFunc(func(c *config) { c.max = n }) }

// WithHeader sets the length-header format.
func WithHeader(h Header) Option { return optionFunc(func(c *config) { c.header = h }) }

// WithDiscardOversize makes a Reader skip oversize messages and stay in sync.
func WithDiscardOversize(on bool) Option { return optionFunc(func(c *config) { c.discard = on }) }

// WithBufferSize sets the size of the internal buffer.
func WithBufferSize(n int) Option { return optionFunc(func(c *config) { c.bufSize = n }) }

// RecvExactly reads exactly n bytes from r.
func RecvExactly(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// SendMessage writes msg with a 4-byte big-endian length header.
func SendMessage(w io.Writer, msg []byte) error { return errors.ErrUnsupported }

// SendMessages writes several messages in one write.
func SendMessages(w io.Writer, msgs ...[]byte) error { return errors.ErrUnsupported }

// RecvMessage reads one message.
func RecvMessage(r io.Reader) ([]byte, error) { return nil, errors.ErrUnsupported }

// Reader reads messages.
type Reader struct{ src io.Reader }

// NewReader returns a Reader.
func NewReader(r io.Reader, opts ...Option) *Reader { return &Reader{src: r} }

// ReadMessage returns the next message, valid until the next call.
func (r *Reader) ReadMessage() ([]byte, error) { return nil, errors.ErrUnsupported }

// AppendMessage appends the next message to dst.
func (r *Reader) AppendMessage(dst []byte) ([]byte, error) { return dst, errors.ErrUnsupported }

// Messages iterates over messages.
func (r *Reader) Messages() iter.Seq2[[]byte, error] { return func(func([]byte, error) bool) {} }

// Buffered returns the number of bytes received but not yet returned.
func (r *Reader) Buffered() int { return 0 }

// Handoff returns the unread bytes followed by the rest of the stream.
func (r *Reader) Handoff() io.Reader { return r.src }

// Reset discards state and reads from src.
func (r *Reader) Reset(src io.Reader) { r.src = src }

// Release returns the internal buffer to a pool when nothing is pending.
func (r *Reader) Release() {}

// Writer writes messages.
type Writer struct{ dst io.Writer }

// NewWriter returns a Writer.
func NewWriter(w io.Writer, opts ...Option) *Writer { return &Writer{dst: w} }

// WriteMessage buffers p as one message.
func (w *Writer) WriteMessage(p []byte) error { return errors.ErrUnsupported }

// WriteMessages writes the buffered data and msgs in one write.
func (w *Writer) WriteMessages(msgs ...[]byte) error { return errors.ErrUnsupported }

// Flush writes buffered data.
func (w *Writer) Flush() error { return nil }

// Buffered returns the number of bytes not yet flushed.
func (w *Writer) Buffered() int { return 0 }

// Reset discards state and writes to dst.
func (w *Writer) Reset(dst io.Writer) { w.dst = dst }

// Release returns the internal buffer to a pool when nothing is pending.
func (w *Writer) Release() {}

// Conn is a framed net.Conn.
type Conn struct{ nc net.Conn }

// NewConn returns a Conn.
func NewConn(c net.Conn, opts ...Option) *Conn { return &Conn{nc: c} }

// Send writes msg.
func (c *Conn) Send(ctx context.Context, msg []byte) error { return errors.ErrUnsupported }

// SendBatch writes msgs in one write.
func (c *Conn) SendBatch(ctx context.Context, msgs ...[]byte) error { return errors.ErrUnsupported }

// Recv reads the next message, valid until the next Recv.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return nil, errors.ErrUnsupported }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// Release releases idle buffers.
func (c *Conn) Release() {}
