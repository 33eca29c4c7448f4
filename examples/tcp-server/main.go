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
// exits with status 0. A second Ctrl-C exits at once. That plumbing, shared
// by every example, is in examples/internal/program.
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
	"fmt"
	"io"
	"net"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("tcp-server", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewServer("tcp-server", ":9000")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	srv := &echo.Server{
		Address:   cmd.Addr,
		Transform: echo.Upper, // the chapter's conn.sendall(data.upper())
	}
	// socket() + bind() + listen(): Listen is separate from Serve so the
	// bound address can be printed before any client is served.
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	program.Listening(stdout, ln.Addr())

	// The chapter's print(f"Connection from {addr}") for every accept().
	err = cmd.Serve(ctx, func() error { return srv.Serve(&announcer{Listener: ln, w: stdout}) }, srv.Shutdown)
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; connections: %d, bytes in: %d, bytes out: %d\n", st.TotalConns, st.BytesIn, st.BytesOut)
	return err
}

// announcer prints the peer of every accepted connection. It hands on the
// connection Accept made, a *net.TCPConn, so echo still reads its socket
// directly.
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
