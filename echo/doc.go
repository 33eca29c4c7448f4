// Package echo implements TCP, framed-TCP and UDP echo servers with the
// lifecycle of [net/http.Server]: the servers of the socket-programming
// chapter, made safe to expose and cheap to start from a unit test.
//
// A [Server] echoes a raw TCP byte stream, or, with Framed set,
// length-prefixed messages read and written through [frame.Reader] and
// [frame.Writer] (the chapter's 4-byte big-endian header by default). A
// [PacketServer] echoes UDP datagrams. Each reply goes through a
// [Transform]: nil echoes unchanged, [Upper] upper-cases ASCII letters as
// Python's bytes.upper() does, and any other function may be supplied.
//
// # Framed messages and layouts
//
// A framed Server reads messages in the layout its FrameOptions give:
// the chapter's 4-byte big-endian length by default, or any
// [frame.Layout] set with [frame.WithLayout], such as gRPC's (a flag
// byte, then a 4-byte length) or PostgreSQL's (a type byte, then a length
// that counts itself). The transform sees each message's payload only.
// Its reply goes back in the same layout: the header fields of the
// request (the Offset bytes before the length field and the After bytes
// after it: a message type, a stream id) unchanged, and a length field
// computed for the reply, so a transform may change a payload's length.
// A reply above MaxMessageSize, or one the layout cannot carry (longer
// than its length field can express, shorter than a positive Adjust),
// closes the connection with a warning logged. MaxMessageSize counts
// payloads only, whatever the layout. Collecting the fields allocates
// nothing, and with the default layout, which has none, nothing is
// collected or copied. Options that cannot be right (a Layout that
// WithLayout refuses, a MaxMessageSize below a layout's positive Adjust)
// make Listen and Serve return an error matching
// [frame.ErrInvalidOption] before anything is served.
//
// # Lifecycle
//
// The methods are those of net/http.Server. [Server.Listen] binds (with
// socket options from package sockopt and, on request, one dual-stack
// listener from package dualstack) so a caller can read [Server.Addr]
// before [Server.Serve] runs; [Server.ListenAndServe] does both. Serve
// always returns a non-nil error, [ErrServerClosed] after
// [Server.Shutdown] or [Server.Close]. Shutdown closes the listeners at
// once, lets each connection echo everything it has read, half-closes it
// so the client reads EOF after the last reply, and returns nil when all
// are closed, or closes them and returns ctx.Err() when ctx ends first.
// Accept errors such as EMFILE are logged and retried after a pause that
// starts at 5 ms and doubles to 1 s. Package
// [github.com/framesock/framesock/echo/echotest] serves on an ephemeral
// loopback port for the length of a test, as net/http/httptest does.
//
// # Hostile and slow clients
//
// Each connection is served by a goroutine of its own while it talks,
// and every limit is per connection, so one client cannot stall another:
//   - A reply is written in full before the next read, so a client that
//     sends without reading stops the server reading from it (TCP flow
//     control) instead of growing a queue; [Server.WriteTimeout] then cuts
//     it. A connection blocked this way holds one buffer (64 KiB raw; the
//     frame.Writer's when framed).
//   - [Server.IdleTimeout] bounds the wait for the next input: any byte of
//     a raw stream, a whole message when framed, so a client that trickles
//     a frame byte by byte is cut too.
//   - A framed header that claims more than [Server.MaxMessageSize] (16
//     MiB by default), or that the layout finds malformed
//     ([frame.ErrInvalidHeader]: an overlong varint, a length field
//     below what it counts of the header), closes the connection with a
//     logged warning before anything is allocated for it.
//   - Past [Server.MaxConns], new connections are accepted and closed at
//     once, counted, and logged at most once a second.
//   - A panic in the Transform closes that connection (drops that
//     datagram) and is logged with its stack; the server keeps serving.
//
// # Memory
//
// A connection waiting for input holds no buffer. On Unix the raw server
// reads through [syscall.RawConn]: the read callback reads into a pooled
// buffer and gives it back when a read would block, before waiting, which
// costs no system call over net.Conn.Read; while input keeps coming the
// buffer stays with the connection. The framed server
// releases its frame.Reader and frame.Writer buffers and waits for
// readability with a MSG_PEEK recv(2), which leaves the bytes queued.
//
// On Linux, macOS and the BSDs a connection that has waited
// [Server.ParkAfter] (10 ms by default) for input parks: its goroutine,
// stack and per-connection state (the frame.Reader and frame.Writer
// included) go back to pools, and a poller owned by the server watches
// the socket (epoll(7) on Linux, waited for through Go's own netpoller;
// kqueue(2) elsewhere) and starts a goroutine that serves the same
// net.Conn again when input, an end of stream or a reset arrives. What a
// parked connection costs is then mostly the net package's own: the
// netFD, its addresses and the runtime's poll descriptor. With 10,000
// idle connections after one echo each, TestIdleConnMemory measures
// about 0.55 KiB of heap and stacks and 1.4 KiB of resident set per
// connection on linux/amd64, where the net package's share is 1.0 KiB,
// against 3.3 to 4 KiB for a connection that keeps its goroutine.
// Parking is folded into the read deadline that IdleTimeout sets anyway,
// so a connection whose input keeps arriving pays nothing for it.
//
// This takes the socket itself: a *net.TCPConn or *net.UnixConn, as
// Listen's listeners (dual-stack ones included), net.Listen and package
// sockopt return. On Windows and js, and for any other net.Conn (a TLS
// connection, a wrapper, the *dualstack.Conn of a listener with
// dualstack.ListenConfig.Unmap), a connection blocked on input holds its
// goroutine and its buffer.
//
// # UDP
//
// On Linux a PacketServer reads and writes up to 32 datagrams per system
// call (recvmmsg(2), sendmmsg(2), made through the socket's
// [syscall.RawConn]), and allocates nothing per datagram: peers are kept
// as the kernel wrote them and reported as [net/netip.AddrPort]. Replies
// of one size to one peer that follow each other in a batch leave as a
// single segmented send (UDP_SEGMENT), which the kernel cuts into
// datagrams again after carrying them through its stack once. With
// UDP_GRO, which the server asks for, the kernel hands it datagrams of
// one flow coalesced (a local peer's segmented sends, or what a NIC
// coalesced); each is echoed as its own request, and their replies leave
// as one segmented send. A kernel without either does without. Elsewhere
// it uses a ReadFromUDPAddrPort/WriteToUDPAddrPort loop that allocates
// nothing per datagram either. Batches take the sockets of
// [PacketServer.Listen] (the one socket of a dual-stack PacketConn
// included) and a *net.UDPConn given to Serve; any other net.PacketConn
// is read through its own methods.
// Buffers are one byte longer than [PacketServer.MaxDatagramSize]
// (65,535 by default, more than any UDP payload), or 64 KiB with UDP_GRO,
// the most the kernel coalesces, so a datagram is never echoed truncated:
// a longer one is dropped, counted in Stats.Dropped and logged.
//
// # Logging and counters
//
// Servers log through a [log/slog.Logger] (the default logger if
// none is set): accept retries and transform panics at Error, protocol
// errors, write timeouts and rejections at Warn, idle timeouts at Info,
// resets at Debug. A line about a client names it under "remote" as a
// [net/netip.AddrPort], an IPv4 client as a.b.c.d:port on every path and
// platform, though a dual-stack socket reports it as ::ffff:a.b.c.d.
// [Server.Stats] and [PacketServer.Stats] return
// connection (parked ones too), park, byte, message, drop, timeout and
// panic counts. A Server's
// connections count their own traffic, so no request writes memory that
// other connections write; Stats sums them under the server's lock.
package echo
