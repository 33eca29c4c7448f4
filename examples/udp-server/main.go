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
	"fmt"
	"io"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("udp-server", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewServer("udp-server", ":9000")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	srv := &echo.PacketServer{
		Network:   "udp",
		Address:   cmd.Addr,
		Transform: echo.Upper, // the chapter's s.sendto(data.upper(), addr)
	}
	// socket(AF_INET6, SOCK_DGRAM) + bind(): no listen, no accept.
	pc, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	program.Listening(stdout, pc.LocalAddr())

	err = cmd.Serve(ctx, func() error { return srv.Serve(pc) }, srv.Shutdown)
	st := srv.Stats()
	fmt.Fprintf(stdout, "shut down; datagrams echoed: %d, dropped: %d\n", st.MessagesOut, st.Dropped)
	return err
}
