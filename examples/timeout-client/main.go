// Timeout-client is the chapter's "Setting Timeouts" (section "Blocking vs
// Non-Blocking Sockets"): a client that gives up instead of waiting forever.
// The chapter's example.com becomes a loopback server. With -silent the
// client starts its own that accepts connections and never answers, so you
// can watch the timeout with no other process:
//
//	go run ./examples/timeout-client -silent -timeout 2s
//	timeout-client: timed out after 2s waiting for a reply from 127.0.0.1:38215: read tcp ...: i/o timeout
//	(exit status 1)
//
// and against the tcp-server example the reply comes in time:
//
//	go run ./examples/tcp-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/timeout-client -addr localhost:9000   # in another
//	HELLO, TIMEOUTS!
//
// # From settimeout to deadlines and contexts
//
// Python's s.settimeout(5.0) gives every later blocking call on the socket
// (connect, sendall, recv) its own 5-second budget, and a call that runs out
// raises socket.timeout. Go splits that in two:
//
//   - Connecting takes a context: net.Dialer.DialContext gives up when the
//     context's deadline passes (net.Dialer.Timeout is the shorthand).
//   - Reads and writes take a deadline: conn.SetDeadline(t) is an absolute
//     point in time, not a duration, and applies to every later Read and
//     Write until changed. Setting time.Now().Add(timeout) before each call,
//     as this program does, is exactly settimeout's per-call budget; setting
//     it once bounds the whole exchange instead.
//   - The error of a call that ran out matches os.ErrDeadlineExceeded through
//     errors.Is (and net.Error's Timeout() reports true): that test is the
//     Go spelling of "except socket.timeout". The connection stays usable,
//     and a later call with a new deadline picks up where this one stopped.
//
// A context also carries cancellation that a timeout alone cannot: Ctrl-C
// here cancels ctx, and context.AfterFunc turns that into a deadline in the
// past, which unblocks the read at once. frame.Conn's Send(ctx) and Recv(ctx)
// package the same pattern for framed messages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("timeout-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewClient("timeout-client", "localhost:9000")
	msg := cmd.String("msg", "Hello, timeouts!", "message to send")
	timeout := cmd.Duration("timeout", 5*time.Second, "budget for each of connect, send and receive (the chapter's settimeout(5.0))")
	silent := cmd.Bool("silent", false, "ignore -addr; talk to a loopback server started here that never answers")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	if *silent {
		// The kernel completes the handshake for connections queued in a
		// listener's backlog even if nobody calls accept (listen(2)), so
		// connect succeeds and the reply simply never comes.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		cmd.Addr = ln.Addr().String()
	}

	// connect() with a timeout: the context bounds the dial, name
	// resolution included.
	dialCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dialCtx, "tcp", cmd.Addr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("timed out after %v connecting to %s: %w", *timeout, cmd.Addr, err)
		}
		return fmt.Errorf("cannot connect to %s: %w", cmd.Addr, err)
	}
	defer conn.Close()

	// Cancellation (Ctrl-C) unblocks whatever call is pending by moving
	// the deadline into the past; stop() detaches it when we are done.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	// sendall() with a timeout: a fresh deadline for this call alone.
	if err := setDeadline(ctx, conn.SetWriteDeadline, *timeout); err != nil {
		return fmt.Errorf("sending to %s: %w", cmd.Addr, err)
	}
	if _, err := conn.Write([]byte(*msg)); err != nil {
		return explain(ctx, err, *timeout, "sending to", cmd.Addr)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("half-close to %s: %w", cmd.Addr, err)
	}

	// recv() with a timeout. The deadline is absolute, so a server that
	// trickles a byte at a time cannot stretch the wait past it.
	if err := setDeadline(ctx, conn.SetReadDeadline, *timeout); err != nil {
		return fmt.Errorf("waiting for a reply from %s: %w", cmd.Addr, err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, maxReply))
	if err != nil {
		return explain(ctx, err, *timeout, "waiting for a reply from", cmd.Addr)
	}
	fmt.Fprintln(stdout, string(reply))
	return nil
}

const maxReply = 1 << 20

// setDeadline gives the next call its own timeout budget, as settimeout
// does. A new deadline overwrites the one in the past that AfterFunc sets
// when ctx ends, so it looks at ctx afterwards: if ctx ended just before,
// it reports that; if ctx ends later, AfterFunc still unblocks the call.
func setDeadline(ctx context.Context, set func(time.Time) error, timeout time.Duration) error {
	_ = set(time.Now().Add(timeout))
	return context.Cause(ctx)
}

// explain turns a deadline error into the program's "timed out" message,
// the counterpart of the chapter's except socket.timeout branch, keeping the
// original error wrapped for errors.Is.
func explain(ctx context.Context, err error, timeout time.Duration, doing, addr string) error {
	switch {
	case ctx.Err() != nil:
		// Our own AfterFunc set the deadline: report the cancellation.
		return fmt.Errorf("%s %s: %w (%w)", doing, addr, context.Cause(ctx), err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("timed out after %v %s %s: %w", timeout, doing, addr, err)
	default:
		return fmt.Errorf("%s %s: %w", doing, addr, err)
	}
}
