// Dualstack-server is the chapter's "Dual-Stack Sockets" (section "IPv6
// Socket Programming"): one listening port that IPv4 and IPv6 clients both
// reach, answering upper-cased like tcp-server. It prints the mode it
// achieved, then every client and the family it came over:
//
//	go run ./examples/dualstack-server
//	listening on [::]:9000
//	mode SingleSocket, sockets [[::]:9000]
//
//	go run ./examples/tcp-client -addr 127.0.0.1:9000     # in another terminal
//	go run ./examples/ipv6-client -addr '[::1]:9000'
//
//	connection from 127.0.0.1:50412 over IPv4
//	connection from [::1]:38120 over IPv6
//
// The chapter clears IPV6_V6ONLY by hand and notes that Linux does so by
// default "on some systems". dualstack.Listen makes that portable and
// explicit: it clears IPV6_V6ONLY itself (so the net.ipv6.bindv6only sysctl
// does not matter), falls back to two sockets on the same port where the
// kernel refuses (OpenBSD), or to one family where the host lacks the other,
// and reports which in Mode, never silently. With -both, a host that can
// serve only one family is an error instead. ListenConfig.Unmap reports an
// IPv4 client as 127.0.0.1 rather than ::ffff:127.0.0.1, so logs and
// allow-lists see one name per client.
//
// The first line of standard output is "listening on HOST:PORT"; Ctrl-C or
// SIGTERM shuts down gracefully with exit status 0.
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

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/sockopt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C exits at once
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "dualstack-server: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dualstack-server", flag.ContinueOnError)
	addr := fs.String("addr", ":9000", "`host:port` to listen on; an empty or wildcard host serves both families")
	both := fs.Bool("both", false, "fail unless both IPv4 and IPv6 clients can be served")
	grace := fs.Duration("grace", 10*time.Second, "how long shutdown waits for connections to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}

	lc := dualstack.ListenConfig{Unmap: true}
	if *both {
		lc.Modes = dualstack.BothFamilies
	}
	// The chapter's setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), where it means
	// "rebind over TIME_WAIT". On Windows SO_REUSEADDR means "steal a bound
	// port" instead, so sockopt does not offer it there.
	var opts []sockopt.Option
	if reuse := sockopt.ReuseAddr(true); sockopt.Supported(reuse) == nil {
		opts = append(opts, reuse)
	}
	ln, err := lc.Listen(ctx, "tcp", *addr, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stdout, "mode %v, sockets %v\n", ln.Mode(), ln.Addrs())

	srv := &echo.Server{
		Transform: echo.Upper,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(&announcer{Listener: ln, w: stdout}) }()
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
	fmt.Fprintf(stdout, "shut down; connections: %d, bytes in: %d, bytes out: %d\n", st.TotalConns, st.BytesIn, st.BytesOut)
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: connections cut after %v: %w", *grace, shutdownErr)
	}
	return nil
}

// announcer prints every accepted client and the family it connected over.
type announcer struct {
	net.Listener
	w io.Writer
}

func (a *announcer) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err != nil {
		return c, err
	}
	family := "IPv6"
	if ap, ok := dualstack.AddrPort(c.RemoteAddr()); ok && ap.Addr().Is4() {
		family = "IPv4"
	}
	fmt.Fprintf(a.w, "connection from %s over %s\n", c.RemoteAddr(), family)
	return c, nil
}
