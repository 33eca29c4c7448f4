// Package exchange holds the one request-and-reply exchange over TCP that
// several example programs make once they are connected: the exchange that
// the tcp-client example spells out step by step, for the programs whose
// point lies elsewhere (ipv6-client's dial, nonblocking-client's
// concurrency, the tour).
package exchange

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// MaxReply bounds what TCP keeps of a reply, so that a server that never
// stops sending cannot exhaust memory.
const MaxReply = 1 << 20

// TCP writes msg to conn, half-closes it (shutdown(SHUT_WR)) so that the
// server sees the end of the request, and reads the reply until the server
// closes: the whole reply, however TCP split it, up to MaxReply bytes.
//
// ctx governs the exchange: when it ends, a deadline in the past unblocks
// the pending call at once, and the error is ctx's cause wrapping the
// timeout it produced.
func TCP(ctx context.Context, conn *net.TCPConn, msg []byte) ([]byte, error) {
	defer context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })()
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send: %w", cause(ctx, err))
	}
	if err := conn.CloseWrite(); err != nil {
		return nil, fmt.Errorf("half-close: %w", err)
	}
	reply, err := io.ReadAll(io.LimitReader(conn, MaxReply))
	if err != nil {
		return nil, fmt.Errorf("receive: %w", cause(ctx, err))
	}
	return reply, nil
}

// cause prefers ctx's error once ctx has ended, so that the message reads
// "context deadline exceeded" or "context canceled" rather than the
// "i/o timeout" of the deadline that AfterFunc set; err stays wrapped.
func cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	return err
}
