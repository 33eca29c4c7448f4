package echotest

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/internal/frameopts"
	"github.com/framesock/framesock/sockopt"
)

// TB is the part of [testing.TB] that [Start] and [StartPacket] use.
// *testing.T, *testing.B and *testing.F satisfy it. Taking this small
// interface, as go.uber.org/goleak's TestingT does, keeps package testing
// and its command-line flags out of programs that import echotest.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// cleanupGrace is how long the Cleanup that Start and StartPacket register
// lets live connections finish before it closes them and reports the
// test for leaving them open.
const cleanupGrace = 10 * time.Second

// Start serves s on an ephemeral loopback port ("127.0.0.1:0"; "[::1]:0"
// when s.Network is "tcp6" or IPv4 loopback is missing) in a new goroutine
// and returns the bound address, ready for dialing: the listener exists
// before Start returns. s.Network and s.Options apply; s.Address and
// s.DualStack are not used. tb.Cleanup shuts the server down and waits
// for Serve to return, reporting through tb.Errorf a connection the test
// left open past a 10 s grace; call s.Shutdown or s.Close to stop it
// sooner. Start calls tb.Fatalf if it cannot listen, or if Serve would
// refuse s: a framed server whose FrameOptions and MaxMessageSize cannot
// be right (see [echo.Server.Serve]).
//
// The listener is Start's own, so [echo.Server.Addr] reports it only once
// the new goroutine has called Serve; use the address Start returns.
func Start(tb TB, s *echo.Server) net.Addr {
	tb.Helper()
	if err := frameopts.Check(s.Framed, s.FrameOptions, s.MaxMessageSize); err != nil {
		tb.Fatalf("echotest: Start: %v", err)
		return nil
	}
	l, ok := start(tb, "Start", s, s.Network, "tcp", func(network, address string) (net.Listener, error) {
		return sockopt.Listen(context.Background(), network, address, s.Options...)
	})
	if !ok {
		return nil
	}
	return l.Addr()
}

// StartPacket is [Start] for an [echo.PacketServer]. The socket is a
// *net.UDPConn, so the server batches on it where the platform can, as on
// the sockets of its own Listen.
func StartPacket(tb TB, s *echo.PacketServer) net.Addr {
	tb.Helper()
	pc, ok := start(tb, "StartPacket", s, s.Network, "udp", func(network, address string) (net.PacketConn, error) {
		lc := net.ListenConfig{Control: sockopt.Control(s.Options...)}
		return lc.ListenPacket(context.Background(), network, address)
	})
	if !ok {
		return nil
	}
	return pc.LocalAddr()
}

// server is what start needs of an [echo.Server] (S is net.Listener) or
// an [echo.PacketServer] (S is net.PacketConn).
type server[S any] interface {
	Serve(S) error
	Shutdown(context.Context) error
}

// start listens on loopback for network ("" means base, "tcp" or "udp"),
// serves srv on the socket in a new goroutine, and registers the Cleanup
// that shuts srv down and waits for Serve to return. It reports false
// after tb.Fatalf if it cannot listen.
func start[S any](tb TB, fn string, srv server[S], network, base string, listen func(network, address string) (S, error)) (S, bool) {
	tb.Helper()
	if network == "" {
		network = base
	}
	var sock S
	err := forLoopback(network, base, func(address string) (err error) {
		sock, err = listen(network, address)
		return err
	})
	if err != nil {
		tb.Fatalf("echotest: %s: %v", fn, err)
		return sock, false
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sock) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("echotest: shutting down the test server: %v (did the test leave a connection open?)", err)
		}
		if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
			tb.Errorf("echotest: test server stopped: %v", err)
		}
	})
	return sock, true
}

// forLoopback calls listen with an ephemeral loopback address for network
// ("tcp", "tcp4", "tcp6" or the udp forms; base is "tcp" or "udp"): IPv4
// loopback first, as net/http/httptest does, then IPv6 for a host without
// it.
func forLoopback(network, base string, listen func(address string) error) error {
	if network == base+"6" {
		return listen("[::1]:0")
	}
	err := listen("127.0.0.1:0")
	if err != nil && network == base {
		if err6 := listen("[::1]:0"); err6 == nil {
			return nil
		}
	}
	return err
}
