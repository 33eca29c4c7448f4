// Package faultnet implements in-memory and wrapped network connections
// that fail as real networks do, for tests: a stream delivered in pieces
// of any size, late, slowly, not at all, cut short, reset or corrupted,
// the same way on every run.
//
//	client, server := faultnet.Pipe(faultnet.MaxRead(1), faultnet.TruncateAfter(11))
//
// gives two ends of a connection on which every Read returns one byte,
// and each side sees the stream end after 11 bytes.
//
// # Pipe and net.Pipe
//
// [Pipe] returns the two ends of an in-memory connection that behaves as
// TCP: it passes [golang.org/x/net/nettest.TestConn], Read returns what
// has arrived (joining writes), deadlines give errors matching
// [os.ErrDeadlineExceeded] whose Timeout method reports true, Close gives
// [net.ErrClosed] on the closed end and [io.EOF] on the other after what
// was written, and CloseWrite half-closes. Unlike [net.Pipe], which
// hands each Write to a Read and so blocks until the peer reads, a Pipe
// is buffered: a Write returns once its bytes are queued, and waits only
// when the direction holds [DefaultBuffer] bytes. A test can write a
// whole request, then read the reply, in one goroutine.
//
// # Faults
//
// Each fault is an [Option]. For each, what the reading side of the
// direction sees:
//
//   - [MaxRead], [RandomReads]: Reads return at most n bytes, or between 1
//     and n chosen from the seed.
//   - [Fragment], [RandomFragments]: each write arrives in pieces, and no
//     Read returns bytes of two pieces, so a message header arrives split
//     across reads.
//   - [Latency], [Bandwidth]: each piece arrives late, or at the pace of a
//     slow link.
//   - [Stall]: after n bytes nothing more arrives, until a deadline, Close
//     or a channel the test closes ends the wait.
//   - [ResetAfter]: after n bytes, an error matching [syscall.ECONNRESET],
//     on both ends, as after a TCP RST.
//   - [TruncateAfter]: after n bytes, [io.EOF], as if the writer had closed.
//   - [Corrupt], [RandomCorrupt]: the byte at an offset, or at one chosen
//     from the seed, arrives with every bit inverted.
//
// # Directions
//
// A fault acts on a direction: on what one end writes, that is, on what
// the other end reads. Without more, an option applies to both
// directions, each counting its own bytes. [Outbound] and [Inbound]
// choose one: for a Pipe, Outbound is what the first end returned
// writes; for a wrapped connection, what it writes to its peer.
//
//	client, server := faultnet.Pipe(
//		faultnet.Outbound(faultnet.Fragment(1)), // the server reads byte by byte
//		faultnet.Inbound(faultnet.ResetAfter(3)), // its reply is reset after 3 bytes
//	)
//
// # Determinism and seeds
//
// Every random choice comes from the seed set by [Seed], 0 by default,
// through a generator whose output does not change between Go versions.
// The split points of [RandomFragments] depend only on the seed and on
// the sizes of the writes, not on timing; the sizes of [RandomReads]
// depend also on how much has arrived when a Read runs. So the same seed
// and the same writes give the same pieces, and a failure found with one
// seed can be replayed with it. To explore many, name each
// subtest after its seed, and replay one with go test -run:
//
//	for seed := range uint64(100) {
//		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
//			client, server := faultnet.Pipe(faultnet.Seed(seed), faultnet.RandomFragments(8))
//			...
//		})
//	}
//
// or make the seed an input of a fuzz test (func(t *testing.T, seed
// uint64)), which keeps a failing seed under testdata/fuzz and replays it
// on every go test.
//
// # Time
//
// [Latency] and [Bandwidth] work in the time of the [time] package, and a
// Pipe waits only on channels and timers, so inside a [testing/synctest]
// bubble (Go 1.25 and later) a delay of an hour takes no real time and
// each arrival happens at exactly the expected instant. Outside a bubble,
// assert lower bounds: a piece never arrives early.
//
// # Concurrency
//
// Each connection is safe for concurrent use as a [net.Conn] is: Reads,
// Writes, deadline changes and Close may come from different goroutines,
// and Close or a deadline ends a blocked call. faultnet starts no
// goroutine: the faults act inside the calls of the connection, a waiting
// call holds a timer only while it waits, and nothing is left behind after
// Close. It makes no system call of its own (only a wrapped connection
// does), so it works on every platform Go supports that has ECONNRESET
// and EPIPE in package syscall: all but Plan 9.
//
// # Real connections
//
// [Wrap] gives the same faults to a real connection, and [WrapListener] to
// every connection a listener accepts, so a test can aim them at a server,
// its own or an echo.Server, through a real socket:
//
//	l, _ := net.Listen("tcp", "127.0.0.1:0")
//	go server.Serve(faultnet.WrapListener(l, faultnet.Inbound(faultnet.RandomFragments(3))))
//
// On a wrapped connection outbound faults act inside Write (which waits
// out a delay itself, as nothing holds bytes in flight) and inbound
// faults on what Read takes from the real connection. A reset resets the
// real connection too: on TCP its peer receives an RST.
//
// # Errors
//
// Errors the faults cause are [*net.OpError] values, as the net package
// returns, with Net "faultnet" so that a log tells them from real ones; a
// reset matches [syscall.ECONNRESET] through [errors.Is], a write into a
// closed direction [syscall.EPIPE]. An invalid option (MaxRead(0)) makes
// every Read and Write fail with an error matching [ErrInvalidOption].
package faultnet
