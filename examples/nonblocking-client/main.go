// Nonblocking-client is the chapter's "Non-Blocking Mode" (section
// "Blocking vs Non-Blocking Sockets") done the Go way: several connections
// in flight at once, handled in whatever order they become ready, with one
// overall time limit. Against the tcp-server example:
//
//	go run ./examples/tcp-server            # in one terminal; Ctrl-C stops it
//	go run ./examples/nonblocking-client -addr localhost:9000 -conns 3   # in another
//	conn 2: connected 127.0.0.1:52814 -> 127.0.0.1:9000
//	conn 0: connected 127.0.0.1:52800 -> 127.0.0.1:9000
//	conn 2: HELLO FROM CONN 2
//	...
//	3 of 3 replies in 1.2ms
//
// (the order changes from run to run: that is the point). Point it at a
// server that never answers, such as "go run ./examples/timeout-client
// -silent", or see the tests, and it gives up after -timeout.
//
// # From setblocking(False) and select.select to goroutines and select
//
// In Go every socket already is non-blocking: the runtime puts it in
// O_NONBLOCK mode and parks the calling goroutine on the netpoller (epoll on
// Linux, kqueue on the BSDs and macOS, IOCP on Windows) until it is ready.
// Code is written blocking, one goroutine per connection, and the runtime
// does the chapter's select loop for all of them. So:
//
//   - s.setblocking(False); s.connect(...) raising BlockingIOError becomes
//     starting a goroutine that calls net.Dialer.DialContext: the call
//     returns in the goroutine once connected, and the rest of the program
//     carries on meanwhile.
//   - select.select([], [s], [], 5.0) waiting for "writable" (connected) and
//     select.select([s], [], [], 5.0) waiting for "readable" become a Go
//     select statement over a channel on which those goroutines report
//     events ("connected", "reply"), plus a timer case for the 5.0 and a
//     ctx.Done() case for Ctrl-C.
//   - Giving up is cancelling a context. Each goroutine ties its socket to
//     the context (context.AfterFunc sets a deadline in the past), so its
//     blocked call returns at once, and the program waits for every
//     goroutine before returning: nothing leaks, which a bare select loop
//     over raw sockets makes easy to get wrong.
//
// Chapter 9's event loops are what the netpoller already runs beneath this.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/framesock/framesock/examples/internal/exchange"
	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("nonblocking-client", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := program.NewClient("nonblocking-client", "localhost:9000")
	conns := cmd.Int("conns", 3, "connections to run at once")
	timeout := cmd.Duration("timeout", 5*time.Second, "overall limit, the chapter's select.select(..., 5.0)")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	if *conns < 1 || *conns > 1000 {
		return fmt.Errorf("-conns %d: want 1 to 1000", *conns)
	}

	// Cancelling ctx is how the loop below stops every goroutine.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Buffered for every event any goroutine can send (at most two each),
	// so no goroutine ever blocks on a loop that has stopped listening.
	events := make(chan event, 2**conns)
	var wg sync.WaitGroup
	// Whatever way run returns, stop the goroutines first and wait for them.
	defer wg.Wait()
	defer cancel()

	start := time.Now()
	for id := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			connection(ctx, id, cmd.Addr, fmt.Sprintf("hello from conn %d", id), events)
		}()
	}

	timer := time.NewTimer(*timeout)
	defer timer.Stop()
	var replies int
	var errs []error
	for finished := 0; finished < *conns; {
		select {
		case ev := <-events:
			switch {
			case ev.connected != "":
				fmt.Fprintf(stdout, "conn %d: connected %s\n", ev.id, ev.connected)
			case ev.err != nil:
				errs = append(errs, fmt.Errorf("conn %d: %w", ev.id, ev.err))
			default:
				replies++
				fmt.Fprintf(stdout, "conn %d: %s\n", ev.id, ev.reply)
			}
			if ev.done {
				finished++
			}
		case <-timer.C:
			return fmt.Errorf("timed out after %v: %d of %d replies from %s", *timeout, replies, *conns, cmd.Addr)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d replies from %s: %w", replies, *conns, cmd.Addr, context.Cause(ctx))
		}
	}
	if len(errs) > 0 {
		// One line however many failed, so a client that cannot connect
		// says so in one line; the first failure is the usual story.
		return fmt.Errorf("%d of %d connections failed, first: %w", len(errs), *conns, errs[0])
	}
	fmt.Fprintf(stdout, "%d of %d replies in %v\n", replies, *conns, time.Since(start).Round(100*time.Microsecond))
	return nil
}

// event is what a connection's goroutine reports: that it connected, its
// reply, or why it failed. It plays the role of select.select's ready lists.
type event struct {
	id        int
	connected string // "local -> remote" once connect completes
	reply     []byte
	err       error
	done      bool // the goroutine's last event
}

// connection is one connection's whole life, written as plain blocking
// code: connect, then the exchange of tcp-client (send, half-close, read the
// reply). It reports on events.
func connection(ctx context.Context, id int, addr, msg string, events chan<- event) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		events <- event{id: id, err: fmt.Errorf("cannot connect to %s: %w", addr, err), done: true}
		return
	}
	defer conn.Close()
	events <- event{id: id, connected: fmt.Sprintf("%s -> %s", conn.LocalAddr(), conn.RemoteAddr())}

	// Cancelling ctx unblocks the exchange at once (see exchange.TCP).
	reply, err := exchange.TCP(ctx, conn.(*net.TCPConn), []byte(msg))
	events <- event{id: id, reply: reply, err: err, done: true}
}
