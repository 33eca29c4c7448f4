// Tcp-client is the chapter's "TCP Client" (section "TCP Sockets —
// Connection-Oriented"): it connects, sends one message, reads the reply and
// prints it. The chapter's example.com:80 becomes the tcp-server example on
// loopback, which replies upper-cased:
//
//	go run ./examples/tcp-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/tcp-client -addr localhost:9000 -msg 'Hello, TCP!'   # in another
//	HELLO, TCP!
//
// Where the chapter reads once with s.recv(4096) and may get only part of
// the reply (its section "Handling Partial Data"), this client half-closes
// its side after sending, so the server knows the request is complete, and
// reads until the server closes: the whole reply, however the kernel split
// it.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("tcp-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewClient("tcp-client", "localhost:9000")
	msg := cmd.String("msg", "Hello, TCP!", "message to send")
	timeout := cmd.Duration("timeout", 10*time.Second, "limit on the whole exchange (see examples/timeout-client)")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// socket() + connect(): net.Dialer does both, and resolves the name.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cmd.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", cmd.Addr, err)
	}
	defer conn.Close()

	// Let ctx govern the connection: when it ends, by its timeout or by
	// Ctrl-C, a deadline in the past unblocks a pending Read or Write at
	// once. AfterFunc runs only after ctx is done, so the failed call can
	// always be blamed on ctx.Err(); copying ctx's deadline onto the socket
	// instead would race with ctx's own timer.
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })()

	// sendall(): Write returns only when every byte is written or on error.
	if _, err := conn.Write([]byte(*msg)); err != nil {
		return fmt.Errorf("send to %s: %w", cmd.Addr, ctxErr(ctx, err))
	}
	// shutdown(SHUT_WR): tell the server no more bytes are coming, so it
	// can answer and close; we keep reading.
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("half-close to %s: %w", cmd.Addr, err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, maxReply))
	if err != nil {
		return fmt.Errorf("receive from %s: %w", cmd.Addr, ctxErr(ctx, err))
	}
	fmt.Fprintln(stdout, string(reply))
	return nil
}

// maxReply bounds what the client keeps of a reply, so a server that never
// stops sending cannot exhaust memory.
const maxReply = 1 << 20

// ctxErr prefers the context's error when ctx ended, so the cause reads
// "context deadline exceeded" or "context canceled" rather than the
// "i/o timeout" the deadline produced; the original stays wrapped.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	return err
}
