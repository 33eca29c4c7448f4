// Sockopts is the chapter's "Socket Options" section: it sets the chapter's
// options (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, TCP_NODELAY, SO_SNDBUF,
// SO_RCVBUF) and SO_LINGER from its table on a loopback listener and on a
// connection to it, then reads every one back from the kernel and prints
// what it holds. It needs no other process:
//
//	go run ./examples/sockopts
//	listener 127.0.0.1:40215 (tcp4)
//	  ReuseAddr(true)            kernel holds true
//	  ReusePort(true)            kernel holds true
//	  ...
//	  ReadBuffer(65536)          kernel holds 131072
//
// Reading back is the point: Linux doubles SO_RCVBUF and SO_SNDBUF for its
// bookkeeping and caps them at net.core.rmem_max and wmem_max (socket(7)),
// so what you asked for and what you got differ, silently in the chapter's
// Python. Options a platform lacks (SO_REUSEPORT on Windows) are reported
// as unsupported rather than skipped or replaced.
//
// Each option takes effect at its own moment, which sockopt.PhaseOf names:
// SO_REUSEADDR and SO_REUSEPORT before bind (so through a Control function,
// as the chapter sets them before s.bind), buffers and SO_LINGER at any
// time and inherited by accepted sockets, TCP_NODELAY and keepalive after
// connect, because Go's net package sets its own on every new connection
// after Control has run; sockopt.Listen and sockopt.Dialer set those again
// on every connection, so what you ask for is what the kernel holds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/sockopt"
)

func main() { program.Main("sockopts", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sockopts", flag.ContinueOnError)
	rcvbuf := fs.Int("rcvbuf", 65536, "SO_RCVBUF to ask for, in bytes (the chapter's 65536)")
	sndbuf := fs.Int("sndbuf", 65536, "SO_SNDBUF to ask for, in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The listener: address reuse before bind, and buffers that the
	// connections it accepts inherit (socket(7)).
	reuse := []setting{
		{sockopt.ReuseAddr(true), func(s sockopt.Settings) any { return s.ReuseAddr }},
		{sockopt.ReusePort(true), func(s sockopt.Settings) any { return s.ReusePort }},
	}
	buffers := []setting{
		{sockopt.ReadBuffer(*rcvbuf), func(s sockopt.Settings) any { return s.ReadBuffer }},
		{sockopt.WriteBuffer(*sndbuf), func(s sockopt.Settings) any { return s.WriteBuffer }},
	}
	// Keepalive, the chapter's "detect dead connections", on every
	// accepted connection: the server notices a client that vanished.
	keepAlive := []setting{
		{sockopt.KeepAlive(net.KeepAliveConfig{Enable: true, Idle: 60 * time.Second, Interval: 20 * time.Second, Count: 3}),
			func(s sockopt.Settings) any { return fmt.Sprintf("%+v", s.KeepAlive) }},
	}
	// The client: Nagle off for latency, and a bounded linger so Close
	// waits up to 5 s for unsent data to leave (socket(7), SO_LINGER).
	client := []setting{
		{sockopt.NoDelay(true), func(s sockopt.Settings) any { return s.NoDelay }},
		{sockopt.Linger(5 * time.Second), func(s sockopt.Settings) any { return s.Linger }},
	}

	listenOpts, err := supported(reuse, buffers, keepAlive)
	if err != nil {
		return err
	}
	dialOpts, err := supported(client, buffers)
	if err != nil {
		return err
	}

	ln, err := sockopt.Listen(ctx, "tcp", "127.0.0.1:0", listenOpts...)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()

	d := sockopt.Dialer{Options: dialOpts}
	dialed, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer dialed.Close()
	accepted, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	defer accepted.Close()

	if err := report(stdout, "listener "+ln.Addr().String(), ln.Listener.(syscall.Conn), concat(reuse, buffers)); err != nil {
		return err
	}
	if err := report(stdout, fmt.Sprintf("dialed %s -> %s", dialed.LocalAddr(), dialed.RemoteAddr()), dialed.(syscall.Conn), concat(client, buffers)); err != nil {
		return err
	}
	// The accepted socket inherited the listener's buffers, and
	// sockopt.Listener set keepalive on it after net had set its default
	// (15 s idle), which would otherwise have won.
	if err := report(stdout, fmt.Sprintf("accepted %s <- %s", accepted.LocalAddr(), accepted.RemoteAddr()), accepted.(syscall.Conn), concat(buffers, keepAlive)); err != nil {
		return err
	}

	// Setting a before-bind option on a socket that is already bound would
	// do nothing on most kernels; sockopt says so instead.
	err = sockopt.Apply(ln.Listener.(syscall.Conn), sockopt.ReuseAddr(true))
	fmt.Fprintf(stdout, "Apply(ReuseAddr(true)) on the bound listener: %v\n", err)
	return nil
}

// setting is one option to set and how to find it in what Get reads back.
type setting struct {
	opt  sockopt.Option
	held func(sockopt.Settings) any
}

// supported returns the options this platform can set, so the program
// runs everywhere and reports the rest, and refuses a value out of range
// (sockopt.ErrRange) before any socket exists.
func supported(lists ...[]setting) ([]sockopt.Option, error) {
	var opts []sockopt.Option
	for _, list := range lists {
		for _, s := range list {
			switch err := sockopt.Supported(s.opt); {
			case err == nil:
				opts = append(opts, s.opt)
			case !errors.Is(err, errors.ErrUnsupported):
				return nil, err
			}
		}
	}
	return opts, nil
}

func concat(lists ...[]setting) []setting {
	var all []setting
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// report prints what the kernel holds for each option set on c.
func report(w io.Writer, title string, c syscall.Conn, set []setting) error {
	got, err := sockopt.Get(c)
	if err != nil {
		return fmt.Errorf("%s: %w", title, err)
	}
	fmt.Fprintf(w, "%s (%s)\n", title, got.Network)
	for _, s := range set {
		if err := sockopt.Supported(s.opt); err != nil {
			fmt.Fprintf(w, "  %-26s %v\n", s.opt, err)
			continue
		}
		fmt.Fprintf(w, "  %-26s kernel holds %v\n", s.opt, s.held(got))
	}
	return nil
}
