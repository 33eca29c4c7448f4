package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/examples/internal/exchange"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/frame"
	"github.com/framesock/framesock/sockopt"
)

// logger keeps the servers' own logs (connection errors) out of the report
// unless they are warnings or worse.
var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// serve runs srv on ln in a goroutine and returns the function that shuts
// it down gracefully and reports whether Serve ended as it should.
func serve(srv *echo.Server, ln net.Listener) (shutdown func(context.Context) error) {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serveErr := <-errc; !errors.Is(serveErr, echo.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}
}

// request sends msg on a new TCP connection over network to addr and
// returns the whole reply: the exchange of tcp-client, bounded by ctx (the
// step's time limit, or Ctrl-C).
func request(ctx context.Context, network, addr, msg string) (reply string, local net.Addr, err error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	b, err := exchange.TCP(ctx, c.(*net.TCPConn), []byte(msg))
	return string(b), c.LocalAddr(), err
}

// want is the check every step ends with: the chapter's promise, or an
// error saying how it was broken.
func want(got, want string) error {
	if got != want {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// tcpEcho: the chapter's TCP server (conn.sendall(data.upper())) and client.
func tcpEcho(ctx context.Context, say func(string, ...any)) error {
	srv := &echo.Server{Address: "127.0.0.1:0", Transform: echo.Upper, Logger: logger}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	// Listen before Serve, as with net/http.Server: the address is known,
	// and the kernel queues connections, before the server runs.
	shutdown := serve(srv, ln)
	say("echo.Server listening on %s, Transform echo.Upper", ln.Addr())

	msg := "Hello, TCP! GET / HTTP/1.1"
	reply, _, err := request(ctx, "tcp", ln.Addr().String(), msg)
	if err != nil {
		return errors.Join(err, shutdown(ctx))
	}
	say("sent     %q", msg)
	say("received %q", reply)
	// The exchange is over, so a graceful Shutdown has nothing to wait
	// for; the counters then cover the whole life of the server.
	if err := shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	st := srv.Stats()
	say("graceful Shutdown: %d connection served, %d bytes in, %d bytes out", st.TotalConns, st.BytesIn, st.BytesOut)
	return want(reply, strings.ToUpper(msg))
}

// udpEcho: the chapter's UDP server (s.sendto(data.upper(), addr)) and client.
func udpEcho(ctx context.Context, say func(string, ...any)) error {
	srv := &echo.PacketServer{Address: "127.0.0.1:0", Transform: echo.Upper, Logger: logger}
	pc, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(pc) }()
	defer func() {
		_ = srv.Shutdown(context.WithoutCancel(ctx))
		<-errc
	}()
	say("echo.PacketServer listening on %s", pc.LocalAddr())

	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", pc.LocalAddr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	// Loopback does not lose datagrams, so one try will do (udp-client
	// shows resending); the step's context still bounds the wait.
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })()
	msg := "Hello, UDP!"
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, 64<<10) // any datagram fits: none is cut short
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	say("sent     %q (one datagram)", msg)
	say("received %q from %s (one datagram)", buf[:n], c.RemoteAddr())
	return want(string(buf[:n]), "HELLO, UDP!")
}

// framed: the chapter's send_message and recv_message, over frame.Conn.
func framed(ctx context.Context, say func(string, ...any)) error {
	srv := &echo.Server{Address: "127.0.0.1:0", Framed: true, Transform: echo.Upper, Logger: logger}
	ln, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	shutdown := serve(srv, ln)
	defer func() { _ = shutdown(context.WithoutCancel(ctx)) }()
	say("echo.Server{Framed: true} listening on %s", ln.Addr())

	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	conn := frame.NewConn(nc)
	defer conn.Close()

	// Three messages in one write: TCP will merge and split them as it
	// pleases, and framing still gives back three.
	msgs := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte("x"), 1<<20)}
	sent := make(chan error, 1)
	go func() { sent <- conn.SendBatch(ctx, msgs...) }()
	say("sent 3 messages in one write: 5, 0 and %d bytes, each behind a 4-byte length", 1<<20)
	var got []string
	for range msgs {
		reply, err := conn.Recv(ctx)
		if err != nil {
			return errors.Join(err, <-sent)
		}
		got = append(got, fmt.Sprintf("%.8q (%d bytes)", reply, len(reply)))
		if !bytes.Equal(reply, bytes.ToUpper(msgs[len(got)-1])) {
			return errors.Join(fmt.Errorf("reply %d differs from the message upper-cased", len(got)), <-sent)
		}
	}
	if err := <-sent; err != nil {
		return err
	}
	say("received %s", strings.Join(got, ", "))

	// A peer speaking another protocol: "GET " read as a length header
	// claims 1,195,725,856 bytes. The reader refuses before allocating.
	_, err = frame.RecvMessage(strings.NewReader("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	if !errors.Is(err, frame.ErrTooLarge) {
		return fmt.Errorf("an HTTP request read as a frame: got %v, want frame.ErrTooLarge", err)
	}
	say("an HTTP request read as a frame: %v", err)
	return nil
}

// dualStack: one listener, both families, and the mode it achieved.
func dualStack(ctx context.Context, say func(string, ...any)) error {
	// A listener for both families needs the wildcard address: loopback is
	// per family (127.0.0.1, ::1).
	ln, err := dualstack.Listen(ctx, "tcp", ":0")
	if err != nil {
		return err
	}
	peers := &recorder{Listener: ln, peers: make(chan netip.AddrPort, 2)}
	srv := &echo.Server{Transform: echo.Upper, Logger: logger}
	shutdown := serve(srv, peers)
	defer func() { _ = shutdown(context.WithoutCancel(ctx)) }()
	say("dualstack.Listen(\"tcp\", \":0\"): mode %v, sockets %v", ln.Mode(), ln.Addrs())
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	clients := []struct{ network, family, host, msg string }{
		{"tcp4", "IPv4", "127.0.0.1", "hello over ipv4"},
		{"tcp6", "IPv6", "::1", "hello over ipv6"},
	}
	for _, c := range clients {
		if c.network == "tcp6" && ln.Mode() == dualstack.IPv4Only {
			say("%s: skipped, this host has no IPv6 (mode IPv4Only)", c.family)
			continue
		}
		// A kernel with IPv6 sockets but IPv6 disabled on its interfaces
		// (disable_ipv6=1) still gives SingleSocket, yet ::1 is unusable.
		if c.network == "tcp6" {
			if err := program.IPv6Loopback(); err != nil {
				say("%s: skipped, ::1 is unusable on this host: %v", c.family, err)
				continue
			}
		}
		addr := net.JoinHostPort(c.host, port)
		reply, local, err := request(ctx, c.network, addr, c.msg)
		if err != nil {
			return err
		}
		var seen netip.AddrPort
		select {
		case seen = <-peers.peers:
		case <-ctx.Done():
			return ctx.Err()
		}
		say("%s: %v -> %s replied %q; server saw %v", c.family, local, addr, reply, seen)
		if seen.Addr().Is4() != (c.family == "IPv4") {
			return fmt.Errorf("the server saw the %s client as %v", c.family, seen)
		}
		if err := want(reply, strings.ToUpper(c.msg)); err != nil {
			return err
		}
	}
	say("(dualstack.AddrPort: an IPv4 peer reads 127.0.0.1, not ::ffff:127.0.0.1)")
	return nil
}

// recorder passes on the peer of each accepted connection, unmapped (one
// dual-stack socket sees an IPv4 peer as ::ffff:a.b.c.d), and hands the
// connection on as the listener made it: a *net.TCPConn, which echo reads
// through its socket directly.
type recorder struct {
	net.Listener
	peers chan netip.AddrPort
}

func (r *recorder) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err == nil {
		peer, _ := dualstack.AddrPort(c.RemoteAddr())
		select {
		case r.peers <- peer:
		default:
		}
	}
	return c, err
}

// socketOptions: the chapter's setsockopt calls, read back with sockopt.Get.
func socketOptions(ctx context.Context, say func(string, ...any)) error {
	type check struct {
		opt  sockopt.Option
		held func(sockopt.Settings) any // what Get read back
		ok   func(sockopt.Settings) bool
	}
	listener := []check{
		{sockopt.ReuseAddr(true), func(s sockopt.Settings) any { return s.ReuseAddr }, func(s sockopt.Settings) bool { return s.ReuseAddr }},
		{sockopt.ReusePort(true), func(s sockopt.Settings) any { return s.ReusePort }, func(s sockopt.Settings) bool { return s.ReusePort }},
	}
	keepAlive := net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 5}
	dialed := []check{
		{sockopt.NoDelay(true), func(s sockopt.Settings) any { return s.NoDelay }, func(s sockopt.Settings) bool { return s.NoDelay }},
		{sockopt.KeepAlive(keepAlive), func(s sockopt.Settings) any { return fmt.Sprintf("%+v", s.KeepAlive) }, func(s sockopt.Settings) bool { return s.KeepAlive == keepAlive }},
		// Linux doubles buffer sizes for its bookkeeping (socket(7)).
		{sockopt.ReadBuffer(65536), func(s sockopt.Settings) any { return s.ReadBuffer }, func(s sockopt.Settings) bool { return s.ReadBuffer >= 65536 }},
		{sockopt.WriteBuffer(65536), func(s sockopt.Settings) any { return s.WriteBuffer }, func(s sockopt.Settings) bool { return s.WriteBuffer >= 65536 }},
		{sockopt.Linger(5 * time.Second), func(s sockopt.Settings) any { return s.Linger }, func(s sockopt.Settings) bool { return s.Linger == 5*time.Second }},
	}
	// Keep what this platform supports (no SO_REUSEPORT on Windows), and
	// say what it does not.
	keep := func(checks []check) (opts []sockopt.Option, kept []check) {
		for _, c := range checks {
			if err := sockopt.Supported(c.opt); err != nil {
				say("  %v", err)
				continue
			}
			opts, kept = append(opts, c.opt), append(kept, c)
		}
		return opts, kept
	}
	listenOpts, listener := keep(listener)
	dialOpts, dialed := keep(dialed)

	ln, err := sockopt.Listen(ctx, "tcp", "127.0.0.1:0", listenOpts...)
	if err != nil {
		return err
	}
	defer ln.Close()
	d := sockopt.Dialer{Options: dialOpts}
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()

	var bad []string
	for _, sock := range []struct {
		title  string
		conn   syscall.Conn
		checks []check
	}{
		{"listener " + ln.Addr().String(), ln.Listener.(syscall.Conn), listener},
		{fmt.Sprintf("dialed %s -> %s", c.LocalAddr(), c.RemoteAddr()), c.(syscall.Conn), dialed},
	} {
		got, err := sockopt.Get(sock.conn)
		if err != nil {
			return err
		}
		say("%s", sock.title)
		for _, ch := range sock.checks {
			say("  %-24s kernel holds %v", ch.opt, ch.held(got))
			if !ch.ok(got) {
				bad = append(bad, ch.opt.String())
			}
		}
	}
	if bad != nil {
		return fmt.Errorf("the kernel does not hold %v", bad)
	}
	return nil
}

// timeoutStep: the chapter's settimeout, as a deadline and as a context,
// against a server that accepts and never answers.
func timeoutStep(ctx context.Context, say func(string, ...any), timeout time.Duration) error {
	// Connections wait in the listen backlog, handshake done (listen(2)):
	// connect succeeds, and the reply never comes.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer silent.Close()
	say("a server on %s that accepts and never answers", silent.Addr())

	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", silent.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()

	// settimeout(t) before recv: a deadline t from now.
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(timeout))
	_, err = c.Read(make([]byte, 1))
	elapsed := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("read with a deadline: got %v, want os.ErrDeadlineExceeded", err)
	}
	say("Read with SetReadDeadline(now+%v): %v after %v", timeout, err, elapsed.Round(time.Millisecond))

	// The same with a context, through frame.Conn: the connection survives
	// the timeout and its deadlines are restored.
	_ = c.SetReadDeadline(time.Time{})
	conn := frame.NewConn(c)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start = time.Now()
	_, err = conn.Recv(rctx)
	elapsed = time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("frame.Conn.Recv with a context: got %v, want context.DeadlineExceeded", err)
	}
	say("frame.Conn.Recv with a %v context: %v after %v", timeout, err, elapsed.Round(time.Millisecond))
	return nil
}
