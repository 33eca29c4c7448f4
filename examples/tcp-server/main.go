// Tcp-server is the chapter's "TCP Server" (section "TCP Sockets —
// Connection-Oriented"): it accepts connections and answers each with what
// it sent, upper-cased. Run it and talk to it with the tcp-client example,
// the chapter's Python client, or nc:
//
//	go run ./examples/tcp-server
//	listening on [::]:9000
//
//	go run ./examples/tcp-client -msg 'hello'     # in another terminal
//	HELLO
//
// The first line of standard output is always "listening on HOST:PORT",
// the address actually bound, so -addr 127.0.0.1:0 (any free port) works
// for scripts and tests. Ctrl-C or SIGTERM stops it gracefully: it stops
// accepting, lets each connection get the reply to everything it sent, then
// exits with status 0. A second Ctrl-C exits at once.
//
// The chapter's loop serves one client at a time and answers a single
// recv(1024); echo.Server serves every connection in its own goroutine and
// echoes the whole stream until the client closes, with idle and write
// timeouts so a stuck client cannot pin a goroutine. Go sets SO_REUSEADDR
// on every listening socket on Unix already, the chapter's first setsockopt
// (see examples/sockopts for setting options yourself), and where the
// chapter calls listen(5), Go asks for the largest backlog the system allows
// (net.core.somaxconn on Linux), so bursts of connections are not refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/framesock/framesock/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling, so a second
	// Ctrl-C kills a shutdown that takes too long.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "tcp-server: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tcp-server", flag.ContinueOnError)
	addr := fs.String("addr", ":9000", "`host:port` to listen on; port 0 picks a free one")
	grace := fs.Duration("grace", 10*time.Second, "how long shutdown waits for connections to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}

	srv := &echo.Server{
		Address:   *addr,
		Transform: echo.Upper, // the chapter's conn.sendall(data.upper())
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	// socket() + bind() + listen(): Listen is separate from Serve so the
	// bound address can be printed before any client is served.
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	// The chapter's print(f"Connection from {addr}") for every accept().
	err = serve(ctx, srv, &announcer{Listener: ln, w: stdout}, *grace)
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; connections: %d, bytes in: %d, bytes out: %d\n", st.TotalConns, st.BytesIn, st.BytesOut)
	return err
}

// serve runs srv on ln until ctx is cancelled, then shuts it down, giving
// live connections up to grace to finish. It returns nil after a clean
// shutdown, as net/http.Server users write it.
func serve(ctx context.Context, srv *echo.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err // Serve never returns nil: the listener failed.
	case <-ctx.Done():
	}
	// ctx is already cancelled; the grace period needs a fresh clock.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, echo.ErrServerClosed) {
		return errors.Join(err, shutdownErr)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: connections cut after %v: %w", grace, shutdownErr)
	}
	return nil
}

// announcer prints the peer of every accepted connection.
type announcer struct {
	net.Listener
	w io.Writer
}

func (a *announcer) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err == nil {
		fmt.Fprintf(a.w, "connection from %s\n", c.RemoteAddr())
	}
	return c, err
}
