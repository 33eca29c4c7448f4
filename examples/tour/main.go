// Tour runs the whole chapter in one process on loopback, with no flags and
// no other process, and prints what happened at each step: the first thing
// to run after cloning framesock.
//
//	go run ./examples/tour
//
// Each step mirrors a section of the chapter (named in its heading) and
// uses the framesock package that implements it:
//
//  1. TCP echo with the chapter's upper-casing: echo.Server and a net.Dialer.
//  2. UDP echo: echo.PacketServer and a connected UDP socket.
//  3. Framed messages: frame.Conn sends three messages in one write (one
//     empty, one of 1 MiB) and gets three replies back whole; frame refuses
//     an HTTP request read as a 1.2 GB length header before allocating.
//  4. Dual stack: one dualstack listener reached over 127.0.0.1 and ::1,
//     with the mode it achieved.
//  5. Socket options: set through sockopt and read back from the kernel.
//  6. A timeout: a server that never answers, a deadline, and a context.
//
// Every step checks its result; the tour exits with status 1 if any step
// failed. The step programs under examples/ show each piece on its own.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
)

func main() { program.Main("tour", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tour", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 200*time.Millisecond, "deadline used by the timeout step")
	stepLimit := fs.Duration("step-limit", 30*time.Second, "time limit for each step")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	steps := []step{
		{"TCP echo, upper-cased", "TCP Sockets: TCP Server, TCP Client", tcpEcho},
		{"UDP echo", "UDP Sockets: UDP Server, UDP Client", udpEcho},
		{"Framed messages", "Handling Partial Data", framed},
		{"Dual-stack listener", "IPv6 Socket Programming: Dual-Stack Sockets", dualStack},
		{"Socket options, set and read back", "Socket Options", socketOptions},
		{"A timeout", "Blocking vs Non-Blocking Sockets: Setting Timeouts", func(ctx context.Context, say func(string, ...any)) error {
			return timeoutStep(ctx, say, *timeout)
		}},
	}

	fmt.Fprintf(stdout, "framesock tour: the socket chapter, end to end on loopback\n")
	start := time.Now()
	var failed []string
	for i, s := range steps {
		fmt.Fprintf(stdout, "\n%d. %s  (chapter: %s)\n", i+1, s.title, s.section)
		say := func(format string, args ...any) {
			fmt.Fprintf(stdout, "   "+format+"\n", args...)
		}
		sctx, cancel := context.WithTimeout(ctx, *stepLimit)
		err := s.run(sctx, say)
		cancel()
		if err != nil {
			say("FAILED: %v", err)
			failed = append(failed, s.title)
			if ctx.Err() != nil {
				break // interrupted: do not start the next step
			}
			continue
		}
		say("ok")
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "\n%d of %d steps failed in %v\n", len(failed), len(steps), elapsed)
		return fmt.Errorf("%d of %d steps failed: %q", len(failed), len(steps), failed)
	}
	fmt.Fprintf(stdout, "\nall %d steps passed in %v\n", len(steps), elapsed)
	return nil
}

// A step is one part of the tour. It reports through say and returns an
// error if what it saw is not what the chapter promises.
type step struct {
	title   string // what it shows
	section string // the chapter section it mirrors
	run     func(ctx context.Context, say func(format string, args ...any)) error
}
