package echo

import (
	"errors"
	"time"
)

// ErrServerClosed is returned by the Serve and ListenAndServe methods of
// [Server] and [PacketServer] after a call to Shutdown or Close, and by
// Listen on a server that has been shut down.
var ErrServerClosed = errors.New("echo: server closed")

// Defaults applied when the corresponding [Server] or [PacketServer] field is
// zero. A negative timeout disables the limit instead.
const (
	// DefaultIdleTimeout is the [Server.IdleTimeout] used when it is zero.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultWriteTimeout is the [Server.WriteTimeout] used when it is zero.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultParkAfter is the [Server.ParkAfter] used when it is zero.
	DefaultParkAfter = 10 * time.Millisecond
	// DefaultMaxDatagramSize is the [PacketServer.MaxDatagramSize] used when
	// it is not positive: more than any UDP payload can be (65,507 bytes
	// over IPv4, 65,527 over IPv6 without jumbograms), so by default no
	// datagram is too large.
	DefaultMaxDatagramSize = 65535
)
