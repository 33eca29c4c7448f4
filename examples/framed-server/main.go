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
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/frame"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C exits at once
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "framed-server: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("framed-server", flag.ContinueOnError)
	addr := fs.String("addr", ":9000", "`host:port` to listen on; port 0 picks a free one")
	maxSize := fs.Int("max", frame.DefaultMaxSize, "largest message accepted, in bytes")
	grace := fs.Duration("grace", 10*time.Second, "how long shutdown waits for connections to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}

	srv := &echo.Server{
		Address:        *addr,
		Framed:         true, // frame.Reader in, frame.Writer out
		MaxMessageSize: *maxSize,
		Transform:      echo.Upper,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err // Serve never returns nil: the listener failed.
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *grace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, echo.ErrServerClosed) {
		return errors.Join(err, shutdownErr)
	}
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; connections: %d, messages echoed: %d\n", st.TotalConns, st.MessagesOut)
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: connections cut after %v: %w", *grace, shutdownErr)
	}
	return nil
}
