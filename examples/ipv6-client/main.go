// Ipv6-client is the chapter's "IPv6 TCP client" (section "IPv6 Socket
// Programming"): the TCP client again, over IPv6 only. Against the
// tcp-server or dualstack-server example (both accept IPv6 on their default
// address):
//
//	go run ./examples/dualstack-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/ipv6-client -addr '[::1]:9000'   # in another
//	connected from [::1]:41234 to [::1]:9000
//	HELLO, IPV6!
//
// The chapter's "minimal change" is socket.AF_INET6; in Go it is the
// network name "tcp6", which restricts the dial to IPv6 addresses. An IPv6
// literal in a host:port string needs brackets, as net.JoinHostPort writes
// it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const maxReply = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "ipv6-client: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ipv6-client", flag.ContinueOnError)
	addr := fs.String("addr", "[::1]:9000", "server `host:port`; a name must resolve to an IPv6 address")
	msg := fs.String("msg", "Hello, IPv6!", "message to send")
	timeout := fs.Duration("timeout", 10*time.Second, "limit on the whole exchange")
	if err := fs.Parse(args); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// "tcp6" is AF_INET6: an IPv4 address, or a name with only A records,
	// fails here instead of silently using IPv4.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp6", *addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s over IPv6: %w", *addr, err)
	}
	defer conn.Close()
	// When ctx ends (timeout or Ctrl-C), a deadline in the past unblocks
	// the pending call; see examples/tcp-client.
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })()
	fmt.Fprintf(stdout, "connected from %s to %s\n", conn.LocalAddr(), conn.RemoteAddr())

	if _, err := conn.Write([]byte(*msg)); err != nil {
		return fmt.Errorf("send to %s: %w", *addr, err)
	}
	// Half-close and read to EOF, as examples/tcp-client explains.
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("half-close to %s: %w", *addr, err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, maxReply))
	if err != nil {
		return fmt.Errorf("receive from %s: %w", *addr, err)
	}
	fmt.Fprintln(stdout, string(reply))
	return nil
}
