package program

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is the signature of every example's run function: it parses
// args, writes its report to stdout, and stops early when ctx ends.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer) error

// Main runs an example program: run gets the command-line arguments,
// standard output and a context that the first SIGINT (Ctrl-C) or SIGTERM
// cancels. The first signal also restores the default handling, so a second
// one ends a program whose shutdown takes too long at once. Main exits with
// status 0 when run returns nil or -h asked for the usage, and otherwise
// prints "name: error" on standard error and exits with status 1.
func Main(name string, run RunFunc) {
	os.Exit(exitStatus(name, run, os.Args[1:], os.Stdout, os.Stderr))
}

// exitStatus is Main without the process: it runs run and reports its
// error on stderr, returning the status Main exits with.
func exitStatus(name string, run RunFunc, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	err := run(ctx, args, stdout)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}
