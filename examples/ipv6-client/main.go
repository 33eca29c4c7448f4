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
	"fmt"
	"io"
	"net"
	"time"

	"github.com/framesock/framesock/examples/internal/exchange"
	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("ipv6-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	// The chapter's ("::1", 9000, 0, 0) as a host:port string: an IPv6
	// literal goes in brackets, so that its colons are not read as the
	// port's (net.JoinHostPort("::1", "9000") writes it so).
	cmd := program.NewClient("ipv6-client", "[::1]:9000")
	msg := cmd.String("msg", "Hello, IPv6!", "message to send")
	timeout := cmd.Duration("timeout", 10*time.Second, "limit on the whole exchange")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// "tcp6" is AF_INET6: an IPv4 address, or a name with only A records,
	// fails here instead of silently using IPv4.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp6", cmd.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s over IPv6: %w", cmd.Addr, err)
	}
	defer conn.Close()
	// Both ends are IPv6 addresses, printed bracketed with their ports.
	fmt.Fprintf(stdout, "connected from %s to %s\n", conn.LocalAddr(), conn.RemoteAddr())

	// From here on IPv6 changes nothing: the exchange of tcp-client.
	reply, err := exchange.TCP(ctx, conn.(*net.TCPConn), []byte(*msg))
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.Addr, err)
	}
	fmt.Fprintln(stdout, string(reply))
	return nil
}
