// Udp-client is the chapter's "UDP Client" (section "UDP Sockets —
// Connectionless"): it sends a datagram and prints the reply and who sent
// it. Against the udp-server example, which replies upper-cased:
//
//	go run ./examples/udp-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/udp-client -addr localhost:9000   # in another
//	received from 127.0.0.1:9000: HELLO, UDP!
//
// UDP may lose the request or the reply, so the client sends again after a
// quiet -wait, up to -tries datagrams; a late reply to an earlier try is as
// good as any, since every try carries the same message.
//
// The chapter's UDP examples use port 9001; this one defaults to 9000 like
// every example here (TCP and UDP ports are separate, so tcp-server and
// udp-server can both hold 9000). Use -addr localhost:9001 for the chapter's.
//
// Unlike the chapter's sendto/recvfrom on an unconnected socket, the client
// connects its UDP socket (net.Dial "udp", connect(2) on a datagram socket).
// That sends no packet, but it fixes the peer: the kernel drops datagrams
// from anyone else, and an ICMP "port unreachable" answer surfaces as
// "connection refused" on the next read (udp(7)), so a client with no server
// to talk to says so at once instead of waiting through every try.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("udp-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewClient("udp-client", "localhost:9000")
	msg := cmd.String("msg", "Hello, UDP!", "datagram to send")
	tries := cmd.Int("tries", 3, "datagrams to send before giving up: UDP may lose any of them")
	wait := cmd.Duration("wait", time.Second, "how long to wait for a reply to each")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	if *tries < 1 || *tries > 100 {
		return fmt.Errorf("-tries %d: want 1 to 100", *tries)
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", cmd.Addr)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", cmd.Addr, err)
	}
	defer conn.Close()
	// Ctrl-C cancels ctx; a deadline in the past then unblocks the pending
	// call (see examples/tcp-client).
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })()

	// The buffer holds the largest UDP payload (65507 bytes over IPv4), so
	// no reply is cut short; the chapter's recvfrom(1024) would silently
	// truncate a longer one.
	buf := make([]byte, 64<<10)
	for try := 1; ; try++ {
		// sendto(): one Write is one datagram, delivered whole or not at
		// all, and maybe not at all: UDP has no retransmission, so the
		// client resends after a quiet -wait, as DNS resolvers do.
		if _, err := conn.Write([]byte(*msg)); err != nil {
			return fmt.Errorf("send to %s: %w", cmd.Addr, err)
		}
		// recvfrom(): one Read returns one datagram. A new deadline would
		// overwrite the one in the past that AfterFunc sets when ctx
		// ends, so look at ctx after setting it: if ctx ended just before,
		// stop here; if it ends later, AfterFunc still unblocks the Read.
		_ = conn.SetReadDeadline(time.Now().Add(*wait))
		if ctx.Err() != nil {
			return fmt.Errorf("no reply from %s: %w", cmd.Addr, context.Cause(ctx))
		}
		n, err := conn.Read(buf)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "received from %s: %s\n", conn.RemoteAddr(), buf[:n])
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("no reply from %s: %w (%w)", cmd.Addr, context.Cause(ctx), err)
		case errors.Is(err, os.ErrDeadlineExceeded) && try < *tries:
			fmt.Fprintf(stdout, "no reply within %v, sending again (try %d of %d)\n", *wait, try+1, *tries)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("no reply from %s after %d tries %v apart: %w", cmd.Addr, *tries, *wait, err)
		default:
			// Such as ECONNREFUSED: nothing listens there, and resending
			// will not change that.
			return fmt.Errorf("no reply from %s: %w", cmd.Addr, err)
		}
	}
}
