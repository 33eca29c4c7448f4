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
// serve only one family is an error instead.
//
// One dual-stack socket sees an IPv4 client as the IPv4-mapped IPv6 address
// ::ffff:127.0.0.1. dualstack.AddrPort removes the mapping, so this program
// prints the client as 127.0.0.1, as logs and allow-lists should see it.
// (ListenConfig.Unmap would do the same for every connection, but by
// wrapping each in a *dualstack.Conn, which echo.Server then serves through
// its Read and Write instead of reading the socket directly; echo unmaps the
// peers it logs itself.)
//
// The first line of standard output is "listening on HOST:PORT"; Ctrl-C or
// SIGTERM shuts down gracefully with exit status 0.
package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/sockopt"
)

func main() { program.Main("dualstack-server", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewServer("dualstack-server", ":9000")
	both := cmd.Bool("both", false, "fail unless both IPv4 and IPv6 clients can be served")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	ln, err := listen(ctx, cmd.Addr, *both)
	if err != nil {
		return err
	}
	program.Listening(stdout, ln.Addr())
	fmt.Fprintf(stdout, "mode %v, sockets %v\n", ln.Mode(), ln.Addrs())

	srv := &echo.Server{Transform: echo.Upper}
	err = cmd.Serve(ctx, func() error { return srv.Serve(&announcer{Listener: ln, w: stdout}) }, srv.Shutdown)
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; connections: %d, bytes in: %d, bytes out: %d\n", st.TotalConns, st.BytesIn, st.BytesOut)
	return err
}

// listen opens the dual-stack listener: one socket for both families where
// the kernel allows it, else what the package overview of dualstack lists;
// with both, nothing short of serving IPv4 and IPv6 clients.
func listen(ctx context.Context, addr string, both bool) (*dualstack.Listener, error) {
	var lc dualstack.ListenConfig
	if both {
		lc.Modes = dualstack.BothFamilies
	}
	// The chapter's setsockopt(SOL_SOCKET, SO_REUSEADDR, 1), where it means
	// "rebind over TIME_WAIT". On Windows SO_REUSEADDR means "steal a bound
	// port" instead, so sockopt does not offer it there.
	var opts []sockopt.Option
	if reuse := sockopt.ReuseAddr(true); sockopt.Supported(reuse) == nil {
		opts = append(opts, reuse)
	}
	return lc.Listen(ctx, "tcp", addr, opts...)
}

// announcer prints every accepted client and the family it connected
// over, and hands on the connection as the listener made it: a
// *net.TCPConn, which echo reads through its socket directly.
type announcer struct {
	net.Listener
	w io.Writer
}

func (a *announcer) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err != nil {
		return c, err
	}
	// An IPv4 client of a dual-stack socket is ::ffff:a.b.c.d; AddrPort
	// unmaps it, so it prints, and is counted, as IPv4.
	peer, _ := dualstack.AddrPort(c.RemoteAddr())
	family := "IPv6"
	if peer.Addr().Is4() {
		family = "IPv4"
	}
	fmt.Fprintf(a.w, "connection from %s over %s\n", peer, family)
	return c, nil
}
