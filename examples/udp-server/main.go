// Udp-server is the chapter's "UDP Server" (section "UDP Sockets —
// Connectionless"): every datagram is answered with one datagram to its
// sender, upper-cased. Run it and talk to it with the udp-client example or
// the chapter's Python client:
//
//	go run ./examples/udp-server
//	listening on [::]:9000
//
//	go run ./examples/udp-client -msg 'hello'     # in another terminal
//	received from 127.0.0.1:9000: HELLO
//
// The chapter's UDP server binds port 9001; this one defaults to 9000 like
// every server example (a UDP port and a TCP port of the same number are
// different sockets, so tcp-server and udp-server run side by side). Pass
// -addr :9001 for the chapter's port.
//
// The first line of standard output is always "listening on HOST:PORT", the
// address actually bound. Ctrl-C or SIGTERM stops it gracefully: replies to
// datagrams already read are sent, and it exits with status 0.
//
// There is no accept and no per-client state: the chapter's recvfrom/sendto
// loop, which echo.PacketServer runs in batches of datagrams per system call
// on Linux (recvmmsg(2), sendmmsg(2)).
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C exits at once
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "udp-server: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("udp-server", flag.ContinueOnError)
	addr := fs.String("addr", ":9000", "`host:port` to listen on; port 0 picks a free one")
	grace := fs.Duration("grace", 5*time.Second, "how long shutdown waits for replies in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}

	srv := &echo.PacketServer{
		Network:   "udp",
		Address:   *addr,
		Transform: echo.Upper, // the chapter's s.sendto(data.upper(), addr)
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	// socket(AF_INET6, SOCK_DGRAM) + bind(): no listen, no accept.
	pc, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", pc.LocalAddr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(pc) }()
	select {
	case err := <-errc:
		return err // Serve never returns nil: the socket failed.
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *grace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, echo.ErrServerClosed) {
		return errors.Join(err, shutdownErr)
	}
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; datagrams echoed: %d, dropped: %d\n", st.MessagesOut, st.Dropped)
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	return nil
}
