// Framed-client is the chapter's send_message and recv_message (section
// "Handling Partial Data") as a program: it sends each argument as one
// length-prefixed message, plus one large message that the kernel is sure to
// split, and prints every reply. Against the framed-server example:
//
//	go run ./examples/framed-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/framed-client -addr localhost:9000 hello ''   # in another
//	"HELLO" (5 bytes)
//	"" (0 bytes)
//	"XXXXXXXXXXXXXXXXXXXXXXXX..." (1048576 bytes)
//
// The chapter's three functions are in package frame under the same names:
// frame.RecvExactly, frame.SendMessage and frame.RecvMessage, byte for byte
// the same wire format. This client uses frame.Conn, their form for services:
// Send(ctx, msg) and Recv(ctx) take a context, so Ctrl-C or the -timeout
// unblocks them at once, and a timeout never loses or splits a message.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/frame"
)

func main() { program.Main("framed-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewClient("framed-client", "localhost:9000")
	big := cmd.Int("big", 1<<20, "also send one message of this many bytes (0: none)")
	timeout := cmd.Duration("timeout", 10*time.Second, "limit on the whole exchange")
	cmd.Usage = func() {
		fmt.Fprintf(cmd.Output(), "usage: framed-client [flags] [message ...]\n")
		cmd.PrintDefaults()
	}
	if err := cmd.Parse(args); err != nil {
		return err
	}
	if *big < 0 || *big > frame.DefaultMaxSize {
		return fmt.Errorf("-big %d: want 0 to %d", *big, frame.DefaultMaxSize)
	}

	msgs := make([][]byte, 0, cmd.NArg()+1)
	for _, a := range cmd.Args() {
		msgs = append(msgs, []byte(a))
	}
	if cmd.NArg() == 0 {
		msgs = append(msgs, []byte("hello"), []byte(""), []byte("framing"))
	}
	if *big > 0 {
		msgs = append(msgs, bytes.Repeat([]byte("x"), *big))
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cmd.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", cmd.Addr, err)
	}
	conn := frame.NewConn(nc)
	defer conn.Close()

	// Send from one goroutine while this one receives, as a pipelining
	// client would: the replies come back in order, one per message,
	// however the bytes were cut up on the way, and neither side waits for
	// the other to drain a socket buffer. Send may be called from any
	// goroutine; Recv from one at a time.
	sent := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := conn.Send(ctx, m); err != nil {
				sent <- fmt.Errorf("send to %s: %w", cmd.Addr, err)
				return
			}
		}
		sent <- nil
	}()
	for range msgs {
		reply, err := conn.Recv(ctx) // valid until the next Recv
		if err != nil {
			// Unblock the sender and wait for it; its error, if any, is
			// a consequence of this one.
			cancel()
			<-sent
			return fmt.Errorf("receive from %s: %w", cmd.Addr, err)
		}
		fmt.Fprintf(stdout, "%s (%d bytes)\n", quote(reply), len(reply))
	}
	return <-sent
}

// quote prints a reply readably, eliding all but the start of a long one.
func quote(p []byte) string {
	const show = 24
	if len(p) <= show {
		return fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%q...", p[:show])
}
