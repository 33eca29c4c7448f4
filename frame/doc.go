// Package frame implements length-prefixed messages over [io.Reader],
// [io.Writer] and [net.Conn]: the framing of the socket-programming
// chapter, made safe against hostile peers and free of allocations in
// steady state.
//
// TCP delivers a stream of bytes, not messages: one Write may arrive in
// several reads and several Writes in one. A frame restores the message
// boundaries by putting the payload's length in front of it.
//
// # Wire format
//
// By default a frame is a 4-byte unsigned big-endian length followed by
// that many payload bytes, byte for byte what Python writes with
//
//	struct.pack("!I", len(msg)) + msg
//
// The length counts the payload only. A zero-length payload is a valid
// message (Python's b""), returned as an empty, non-nil slice. [WithHeader]
// selects another length format, to talk to peers that use one: 2- and
// 8-byte big-endian ([Uint16BE], [Uint64BE]), 4-byte little-endian
// ([Uint32LE]) and the unsigned varint of protobuf delimited streams
// ([Uvarint]). There is no length adjustment or offset to configure.
//
// # Three ways to use it
//
// [RecvExactly], [SendMessage] and [RecvMessage] mirror the chapter's
// functions. They are unbuffered: RecvMessage reads exactly one frame and
// never past it, and SendMessage makes exactly one Write per message. They
// keep no state between calls, so a read that fails in the middle of a
// frame cannot be resumed.
//
// [Reader] and [Writer] are the buffered forms for services: one system
// call carries many small messages, large payloads are neither copied nor
// buffered twice, and in steady state nothing is allocated. A Reader offers
// three ways to receive: [Reader.ReadMessage] returns a view valid until
// the next read, [Reader.AppendMessage] reads into memory the caller owns,
// and [Reader.Messages] is an iterator. It keeps a frame in progress
// across a timeout and resumes it, and [Reader.Buffered] and
// [Reader.Handoff] give the bytes read ahead to a protocol that takes the
// stream over. A Writer gathers small messages until [Writer.Flush] and
// sends a batch in one write with [Writer.WriteBatch]. A large payload
// is not copied: on a *net.TCPConn, a *net.UnixConn or any [BuffersWriter]
// (a connection wrapper can be one) it leaves with its header in one
// gathered write, writev(2) on a socket. As with [bufio], the zero values
// of Reader and Writer are ready once Reset gives them a stream.
// [Reader.Release] and [Writer.Release] hand buffers back to a shared pool
// so that idle connections pin no memory.
//
// [Conn] wraps a [net.Conn] with a Reader and a Writer, adds
// [context.Context] to Send and Recv, and makes Send safe for concurrent
// use.
//
// # Limits
//
// Every reader and writer has a maximum payload size, [DefaultMaxSize] (16
// MiB) unless [WithMaxSize] says otherwise, and never more than the header
// format can express. A header that claims more is rejected before any
// memory is taken for the payload. Below the limit, memory grows with the
// bytes that actually arrive, not with the claim: a peer that sends a
// header claiming 15 MiB and then stops makes the reader allocate at most
// 64 KiB, and one that sends part of the payload about twice what it sent.
// (A Reader does use a recycled buffer of the claimed size when one is
// free in its pools: that costs no new memory.) A writer rejects a message over the limit before writing any byte of it,
// so the connection stays usable, and never truncates a length.
//
// # Errors
//
//   - [io.EOF] means the stream ended cleanly between frames, and nothing
//     else.
//   - An error matching [io.ErrUnexpectedEOF] means it ended inside a
//     header or payload; the message says how far it got.
//   - An error matching [ErrTooLarge] (a [*SizeError] with the claimed
//     size, the limit and the header bytes) means a header claimed more
//     than the limit, or a message to send was too long. When the header
//     looks like text, HTTP or a TLS record, the message says so: the peer
//     is probably not speaking this protocol.
//   - An error matching [ErrInvalidHeader] means a varint header was
//     malformed.
//   - An error matching [ErrInvalidOption] means the Reader, Writer or
//     Conn was built with an invalid option (a negative size, an unknown
//     header); every call returns it, and nothing is read or written.
//   - Errors from the underlying reader, writer or connection are returned
//     as they are, so [errors.Is] works with [os.ErrDeadlineExceeded] and
//     [net.ErrClosed].
//
// On a Reader, the end of the stream inside a frame, a malformed header and
// an oversize header are sticky: every later call returns the same error.
// [WithDiscardOversize] makes the oversize error non-sticky instead: the
// payload is skipped and the next message reads normally. Other errors,
// such as timeouts, are returned once and the frame resumes on the next
// call. On a Writer, errors are sticky except timeouts, after which the
// unwritten bytes stay buffered and are sent first by the next write.
//
// # Concurrency
//
// The functions are safe for concurrent use on distinct streams. A Reader
// or a Writer must be used by one goroutine at a time, like [bufio.Reader].
// A Conn's Send may be called from many goroutines at once: each message
// is written whole, never interleaved with another. Recv calls are
// serialised, and one goroutine may Recv while others Send. Close may be
// called at any time and does not wait for a blocked Send or Recv, which
// then return an error matching [net.ErrClosed].
//
// Slices returned by [Reader.ReadMessage] and [Conn.Recv] point into the
// reader's memory and stay valid until the next read; slices passed to
// writes are not kept after the call returns.
package frame
