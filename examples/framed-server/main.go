// Framed-server serves the chapter's length-prefixed messages (section
// "Handling Partial Data"): it reads whole messages, each a 4-byte
// big-endian length and then that many bytes (the chapter's
// struct.pack("!I", len(msg)) + msg), and answers each with one message,
// upper-cased. However TCP splits or merges the bytes, every reply is the
// reply to exactly one message. Talk to it with the framed-client example or
// the chapter's send_message/recv_message:
//
//	go run ./examples/framed-server
//	listening on [::]:9000
//
//	go run ./examples/framed-client hello ''     # in another terminal
//	"HELLO" (5 bytes)
//	"" (0 bytes)
//	...
//
// A header claiming more than -max bytes (16 MiB by default) closes that
// connection before any payload is read or buffered, so a hostile or
// confused peer (say, an HTTP client whose "GET " reads as a 1.2 GB length)
// cannot make the server allocate. The first line of standard output is
// "listening on HOST:PORT"; Ctrl-C or SIGTERM shuts down gracefully, every
// message already read still answered, with exit status 0.
package main

import (
	"context"
	"fmt"
	"io"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/frame"
)

func main() { program.Main("framed-server", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewServer("framed-server", ":9000")
	maxSize := cmd.Int("max", frame.DefaultMaxSize, "largest message accepted, in bytes")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	srv := &echo.Server{
		Address:        cmd.Addr,
		Framed:         true, // frame.Reader in, frame.Writer out
		MaxMessageSize: *maxSize,
		Transform:      echo.Upper,
	}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	program.Listening(stdout, ln.Addr())

	err = cmd.Serve(ctx, func() error { return srv.Serve(ln) }, srv.Shutdown)
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; connections: %d, messages echoed: %d\n", st.TotalConns, st.MessagesOut)
	return err
}
