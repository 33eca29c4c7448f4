package faultnet

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultBuffer is how many bytes a direction of a [Pipe] holds before a
// Write blocks, unless [Buffer] says otherwise: 256 KiB, of the order of a
// TCP socket's send and receive buffers together, so a test can write a
// whole request before it reads the reply.
const DefaultBuffer = 256 << 10

// ErrInvalidOption matches the error that every Read and Write of a
// connection returns when it was made with an invalid option, such as
// MaxRead(0): the constructors return no error, so the mistake surfaces,
// named, on first use instead of as a panic.
var ErrInvalidOption = errors.New("faultnet: invalid option")

// An Option configures a [Pipe], [Wrap] or [WrapListener]. Options are
// values of a sealed interface, as in go-cmp and goleak, so more can be
// added without breaking callers.
//
// A fault option applies to both directions of a connection unless it is
// given inside [Outbound] or [Inbound]; each direction keeps its own
// count of bytes, so ResetAfter(10) resets the connection as soon as
// either end has written 10 bytes. Of two options of the same kind for a
// direction the later wins, except [Corrupt] and [RandomCorrupt], which
// add up.
type Option interface {
	apply(c *config, s scope)
}

// The two directions of a connection, as seen from the first end of a
// Pipe or from a wrapped connection.
const (
	outbound = 0 // what the first end writes and the second reads
	inbound  = 1 // what the first end reads
)

// scope is the set of directions an option applies to.
type scope struct {
	dirs     uint8 // 1<<outbound | 1<<inbound
	explicit bool  // chosen through Outbound or Inbound
}

// config is what the options of one connection say.
type config struct {
	err  error // the first invalid option: every Read and Write returns it
	seed uint64
	dir  [2]faults
}

// faults are the faults of one direction, as configured.
type faults struct {
	buffer         int
	bufferExplicit bool // given inside Outbound or Inbound

	readMax      int // 0: reads are not limited
	readRandom   bool
	readExplicit bool // given inside Outbound or Inbound

	fragSize   int // 0: writes are not fragmented
	fragRandom bool

	latency   time.Duration
	bandwidth int64 // bytes per second; 0: unlimited

	stallAt int64 // math.MaxInt64: no stall
	release <-chan struct{}

	resetAt int64 // -1: no reset
	truncAt int64 // -1: no truncation

	corrupt       []int64 // offsets
	corruptWithin []int64 // bounds of offsets chosen from the seed
}

func newConfig(opts []Option) config {
	c := config{}
	for d := range c.dir {
		c.dir[d] = faults{buffer: DefaultBuffer, stallAt: math.MaxInt64, resetAt: -1, truncAt: -1}
	}
	all := scope{dirs: 1<<outbound | 1<<inbound}
	for _, o := range opts {
		if o != nil {
			o.apply(&c, all)
		}
	}
	return c
}

type optionFunc func(*config, scope)

func (f optionFunc) apply(c *config, s scope) { f(c, s) }

// each returns an option that calls f on the faults of every direction in
// its scope.
func each(f func(f *faults, explicit bool)) Option {
	return optionFunc(func(c *config, s scope) {
		for d := range c.dir {
			if s.dirs&(1<<d) != 0 {
				f(&c.dir[d], s.explicit)
			}
		}
	})
}

// atLeast returns the option that set makes of v, or, if v is below
// lowest, one that makes the connection invalid, naming the option (call).
func atLeast[T int | int64 | time.Duration](v, lowest T, call, problem string, set func(f *faults, explicit bool)) Option {
	if v < lowest {
		return invalid("%s(%v): %s", call, v, problem)
	}
	return each(set)
}

// invalid returns an option that records the first invalid option, so
// that the connection fails every Read and Write with that error.
func invalid(format string, args ...any) Option {
	err := invalidError(format, args...)
	return optionFunc(func(c *config, _ scope) {
		if c.err == nil {
			c.err = err
		}
	})
}

// invalidError returns the error for an invalid option, which matches
// ErrInvalidOption.
func invalidError(format string, args ...any) error {
	return fmt.Errorf("faultnet: "+format+": %w", append(args, ErrInvalidOption)...)
}

// Outbound applies opts only to what the first end of a [Pipe] writes (and
// its second end reads), or to what a wrapped connection writes to its
// peer. Nested inside [Inbound] it applies to nothing.
func Outbound(opts ...Option) Option { return within(outbound, opts) }

// Inbound applies opts only to what the first end of a [Pipe] reads (and
// its second end writes), or to what a wrapped connection reads from its
// peer. Nested inside [Outbound] it applies to nothing.
func Inbound(opts ...Option) Option { return within(inbound, opts) }

func within(dir int, opts []Option) Option {
	return optionFunc(func(c *config, s scope) {
		s.dirs &= 1 << dir
		s.explicit = true
		for _, o := range opts {
			if o != nil {
				o.apply(c, s)
			}
		}
	})
}

// Seed sets the seed of every random choice of the connection: the sizes
// of [RandomReads] and [RandomFragments], and the offset of
// [RandomCorrupt]. The default is 0, so a test behaves the same on every
// run; the same seed and the same calls give the same choices, on every
// platform and Go version. Seed applies to the whole connection wherever
// it is given.
func Seed(seed uint64) Option {
	return optionFunc(func(c *config, _ scope) { c.seed = seed })
}

// Buffer sets how many bytes a direction of a [Pipe] holds before a Write
// blocks (default [DefaultBuffer]), and for a wrapped connection the most
// it reads from its peer in one call. With [Fragment], [Latency] or
// [Bandwidth] each write queued (each part, for a write larger than the
// free buffer) also takes a record of about 40 bytes.
// Inside [Outbound] on a wrapped connection, which writes straight
// through, it is an invalid option. A size below 1 makes every Read and
// Write fail with an error matching [ErrInvalidOption].
func Buffer(bytes int) Option {
	return atLeast(bytes, 1, "Buffer", "size below 1", func(f *faults, explicit bool) {
		f.buffer, f.bufferExplicit = bytes, explicit
	})
}

// MaxRead makes every Read return at most n bytes, as
// [testing/iotest.OneByteReader] does for n = 1. It shapes the reads of
// the receiving end: on a wrapped connection, only its own reads (the
// peer's are out of reach), so inside [Outbound] there it is an invalid
// option. An n below 1 makes every Read and Write fail with an error
// matching [ErrInvalidOption].
func MaxRead(n int) Option {
	return atLeast(n, 1, "MaxRead", "size below 1", func(f *faults, explicit bool) {
		f.readMax, f.readRandom, f.readExplicit = n, false, explicit
	})
}

// RandomReads makes every Read that returns data return between 1 and n
// bytes, chosen from the seed (see [Seed]), otherwise as [MaxRead]. The
// choice is made once per Read that returns data; how many bytes have
// arrived by then also limits a Read, so for split points that depend on
// nothing but the seed and the writes, prefer [RandomFragments].
func RandomReads(n int) Option {
	return atLeast(n, 1, "RandomReads", "size below 1", func(f *faults, explicit bool) {
		f.readMax, f.readRandom, f.readExplicit = n, true, explicit
	})
}

// Fragment delivers every write in pieces of size bytes (the last piece of
// a write may be shorter), and no Read returns bytes of two pieces, so the
// reader sees, for example, a 4-byte header arrive in two reads with
// Fragment(2). With [Latency] or [Bandwidth] each piece is delayed on its
// own. A piece never spans two writes. On a wrapped connection each
// outbound piece is a Write of its own on the real connection, which the
// peer's kernel may join again unless [Latency] or [Bandwidth] separates
// them. A size below 1 makes every Read and Write fail with an error
// matching [ErrInvalidOption].
func Fragment(size int) Option {
	return atLeast(size, 1, "Fragment", "size below 1", func(f *faults, _ bool) {
		f.fragSize, f.fragRandom = size, false
	})
}

// RandomFragments is [Fragment] with the size of each piece chosen
// between 1 and n from the seed (see [Seed]). The split points depend
// only on the seed and on the sizes of the writes (a write cut short by a
// deadline ends where it stopped), not on timing, so a test that replays
// the seed and the writes sees the same pieces.
func RandomFragments(n int) Option {
	return atLeast(n, 1, "RandomFragments", "size below 1", func(f *faults, _ bool) {
		f.fragSize, f.fragRandom = n, true
	})
}

// Latency delays every piece of a direction (every write, or every piece
// of [Fragment]) by d: a piece written at t becomes readable at t+d, and
// pieces written together arrive together, as on a link with a one-way
// delay of d. On a wrapped connection, which holds no bytes in flight, an
// outbound Write waits d before it writes each piece; an inbound Read
// waits until d has passed since the bytes came off the real connection.
// A negative d makes every Read and Write fail with an error matching
// [ErrInvalidOption].
func Latency(d time.Duration) Option {
	return atLeast(d, 0, "Latency", "negative delay", func(f *faults, _ bool) { f.latency = d })
}

// Bandwidth limits a direction to bytesPerSecond: a piece (a write, or a
// piece of [Fragment]) of n bytes leaves n/bytesPerSecond seconds after
// the previous piece left, or after it was written if that is later, and
// arrives after a further [Latency]. A rate below 1 makes every Read and
// Write fail with an error matching [ErrInvalidOption].
func Bandwidth(bytesPerSecond int64) Option {
	return atLeast(bytesPerSecond, 1, "Bandwidth", "rate below 1", func(f *faults, _ bool) {
		f.bandwidth = bytesPerSecond
	})
}

// Stall stops a direction after its first after bytes: the bytes written
// past that point stay in the buffer, a Read waits for them until its
// deadline or Close, and once the buffer is full a Write waits too, as
// over a network that stopped forwarding. Closing release (or sending on
// it) ends the stall; with a nil release only a deadline or Close ends the
// wait. On a wrapped connection an outbound stall holds Write back, and an
// inbound one stops reading from the real connection, whose peer then
// meets flow control. A negative after makes every Read and Write fail
// with an error matching [ErrInvalidOption].
func Stall(after int64, release <-chan struct{}) Option {
	return atLeast(after, 0, "Stall", "negative offset", func(f *faults, _ bool) {
		f.stallAt, f.release = after, release
	})
}

// ResetAfter resets the connection, as a TCP RST does, once n bytes have
// been written in a direction (at once for n = 0). Bytes written past n
// are lost, but the Write that crossed n succeeds, as a send into a
// socket buffer does. The reader of that direction gets the first n bytes,
// then an error matching [syscall.ECONNRESET]; on the other direction the
// bytes already written are still read, then the same error; every later
// Write on either end fails with it. The errors are [*net.OpError] values,
// as the net package returns. On a wrapped TCP connection the real
// connection is reset too: faultnet sets SO_LINGER to 0 and closes it, so
// the peer's kernel receives an RST. A negative n makes every Read and
// Write fail with an error matching [ErrInvalidOption].
func ResetAfter(n int64) Option {
	return atLeast(n, 0, "ResetAfter", "negative offset", func(f *faults, _ bool) { f.resetAt = n })
}

// TruncateAfter ends a direction after its first n bytes: the reader gets
// them, then [io.EOF], as if the writer had closed cleanly; bytes written
// past n are dropped, and the Writes that carry them succeed. On a wrapped
// connection the outbound direction ends with CloseWrite on the real
// connection, or Close if it has no CloseWrite; the inbound one stops
// reading from it. A negative n makes every Read and Write fail with an
// error matching [ErrInvalidOption].
func TruncateAfter(n int64) Option {
	return atLeast(n, 0, "TruncateAfter", "negative offset", func(f *faults, _ bool) { f.truncAt = n })
}

// Corrupt inverts every bit of the byte at offset (counting from 0) of a
// direction, so the reader gets a byte that certainly differs from the one
// written. A negative offset makes every Read and Write fail with an error
// matching [ErrInvalidOption].
func Corrupt(offset int64) Option {
	return atLeast(offset, 0, "Corrupt", "negative offset", func(f *faults, _ bool) {
		f.corrupt = append(f.corrupt, offset)
	})
}

// RandomCorrupt is [Corrupt] at an offset below within, chosen from the
// seed (see [Seed]), one for each direction it applies to. A bound below
// 1 makes every Read and Write fail with an error matching
// [ErrInvalidOption].
func RandomCorrupt(within int64) Option {
	return atLeast(within, 1, "RandomCorrupt", "bound below 1", func(f *faults, _ bool) {
		f.corruptWithin = append(f.corruptWithin, within)
	})
}
