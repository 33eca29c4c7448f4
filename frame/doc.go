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
// message (Python's b""), returned as an empty, non-nil slice.
//
// Other length-prefixed formats are a [Layout], set with [WithLayout]:
// header bytes before the length field (Offset), the field's encoding
// (Length: 1, 2, 3, 4 or 8 bytes in either byte order, or the unsigned
// varint of protobuf and MQTT), header bytes between the field and the
// payload (After), and one rule for what the field counts: the payload
// is the field's value + Adjust bytes long.
//
//	| Offset bytes | length field | After bytes | payload |
//
// Netty's LengthFieldBasedFrameDecoder and tokio's LengthDelimitedCodec
// have similar settings whose meanings depend on one another
// (tokio-rs/tokio#6604, netty/netty#1798); here each field means one
// thing, and a payload never includes its header. Some protocols:
//
//	PostgreSQL           Layout{Offset: 1, Length: Uint32BE, Adjust: -4}
//	PostgreSQL startup   Layout{Length: Uint32BE, Adjust: -4}
//	MySQL                Layout{Length: Uint24LE, After: 1}
//	TLS record           Layout{Offset: 3, Length: Uint16BE}
//	HTTP/2 frame         Layout{Length: Uint24BE, After: 6}
//	gRPC message         Layout{Offset: 1, Length: Uint32BE}
//	MQTT                 Layout{Offset: 1, Length: Uvarint} with WithMaxSize(268435455)
//	DNS over TCP         Layout{Length: Uint16BE}
//	Kafka, Thrift framed Layout{} (the default)
//	Cassandra v4         Layout{Offset: 5, Length: Uint32BE}
//	Diameter             Layout{Offset: 1, Length: Uint24BE, After: 16, Adjust: -20}
//
// A length that counts the whole frame has Adjust -(Offset + the field's
// width + After); one that counts itself and the payload, as PostgreSQL's
// does, minus its width. MQTT's remaining length is a varint of at most 4
// bytes, up to 268,435,455: with that maximum set by [WithMaxSize], a
// longer one claims too much and is a [*SizeError]. [WithHeader](h) is
// WithLayout(Layout{Length: h}), and the zero Layout is the default
// format.
//
// [Reader.Header] returns the header of the message last read, fields
// and length field as received; [Writer.WriteFrame] takes the header
// fields (the Offset bytes, then the After bytes) with the payload and
// computes the length field, refusing a payload the field cannot express
// rather than truncating its length. [Writer.WriteMessage] writes the
// layouts without fields and refuses the others ([ErrLayoutMismatch]),
// rather than write zeros into a protocol's type byte. A protocol whose
// framing changes between messages, such as PostgreSQL's startup message
// that has no type byte, switches with [Reader.SetLayout] and
// [Writer.SetLayout], keeping the bytes already buffered.
//
// A Layout that cannot be right is refused when it is given, never
// half-way through a stream: a negative Offset or After, an unknown
// Length, a header that can be longer than [MaxHeaderLen] (64 bytes), an
// Adjust that makes every payload negative (below -Length.MaxLength()) or
// every payload larger than the maximum (above it). Every call then
// returns an error matching [ErrInvalidOption], and nothing is read or
// written. Valid but unusual, and so worth a second look: an Adjust below
// minus the header's length, a positive Adjust, or a negative Adjust with
// a Uvarint field, whose width varies.
//
// What a Layout does not do: it does not join messages that a protocol
// splits (MySQL's packets of 16 MiB - 1 bytes continue in the next one,
// and come back one by one); it reads no length that is not a plain
// integer at a fixed offset (WebSocket's length is 7 bits, 16 or 64
// depending on the first; X11 counts 4-byte units); it has no trailer
// (AMQP's frame-end byte is read as the payload's last byte, with Adjust
// +1); and text protocols such as Redis RESP and NATS have no length
// prefix at all. [Layout.ParseHeader] and [Layout.AppendHeader] let code
// that frames its own buffers, such as an event loop, use a Layout
// without a Reader or Writer.
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
// [context.Context] to Send and Recv (SendFrame and RecvFrame with header
// fields), and makes sending safe for concurrent use.
//
// # Large messages
//
// A message too large to hold in memory streams. [Reader.NextReader]
// returns its payload as an [io.Reader], valid until the next read, which
// skips what is left of it; [Writer.WriteMessageFrom] (and
// [Writer.WriteFrameFrom], with header fields) sends one of a given size
// from an io.Reader; [Conn.RecvReader] and [Conn.SendFrom] do the same
// with a context. Streamed messages have a limit of their own,
// [WithMaxStreamSize], by default that of WithMaxSize: the payload takes
// no memory, but a receiver still says how much it takes. Between a file
// and a TCP socket on Linux the payload goes through sendfile(2) and
// splice(2), not through user space: WriteMessageFrom from a regular
// *os.File to a *net.TCPConn, and [io.Copy] from a body on a
// *net.TCPConn into a regular *os.File. A message that a writer has begun
// and cannot finish (its source ends early or fails, or a timeout cuts
// it) leaves the peer inside it, so the Writer is broken from then on.
//
// # Limits
//
// Every reader and writer has a maximum payload size, [DefaultMaxSize] (16
// MiB) unless [WithMaxSize] says otherwise, and never more than the layout
// can express. The maximum counts the payload only, never the header: a
// payload of exactly the maximum is accepted. A header that claims more
// is rejected before any memory is taken for the payload. Below the
// limit, memory grows with the bytes that actually arrive, not with the
// claim: a peer that sends a header claiming 15 MiB and then stops makes
// the reader allocate at most 64 KiB, and one that sends part of the
// payload about twice what it sent. (A Reader does use a recycled buffer
// of the claimed size when one is free in its pools: that costs no new
// memory.) A writer rejects a message over the limit before writing any
// byte of it, so the connection stays usable, and never truncates a
// length.
//
// # Errors
//
//   - [io.EOF] means the stream ended cleanly between frames, and nothing
//     else.
//   - An error matching [io.ErrUnexpectedEOF] means it ended inside a
//     header or payload; the message says how far it got.
//   - An error matching [ErrTooLarge] (a [*SizeError] with the claimed
//     size, the limit, the layout and the header bytes) means a header
//     claimed more than the limit, or a message to send was too long.
//     When the header looks like text, HTTP or a TLS record, the message
//     says so: the peer is probably not speaking this protocol.
//   - An error matching [ErrInvalidHeader] means a header cannot be
//     right: a malformed varint, or a length field whose value with the
//     layout's Adjust gives a negative payload length.
//   - An error matching [ErrLayoutMismatch] means a frame to write does
//     not fit the layout (header fields of the wrong size, WriteMessage
//     on a layout with fields); nothing was written.
//   - An error matching [ErrInvalidOption] means the Reader, Writer or
//     Conn was built with an invalid option (a negative size, a Layout
//     that cannot be right); every call returns it, and nothing is read
//     or written.
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
// Slices returned by [Reader.ReadMessage], [Reader.Header], [Conn.Recv]
// and [Conn.RecvFrame] point into the reader's memory and stay valid
// until the next read; slices passed to writes are not kept after the
// call returns.
package frame
