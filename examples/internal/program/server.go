package program

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/framesock/framesock/echo"
)

// Server is the command line every server example shares: the flags -addr
// and -grace, and Serve, which serves until the first signal and then shuts
// down gracefully.
type Server struct {
	// The flag set holds -addr and -grace; a program adds its own flags
	// to it before calling Parse.
	*flag.FlagSet
	// Addr is -addr: the host:port to listen on.
	Addr string
	// Grace is -grace: how long a graceful shutdown waits for what is in
	// flight before cutting it.
	Grace time.Duration
}

// NewServer returns the command line of the named server example, whose
// -addr defaults to addr, the chapter's port 9000 on every interface. Its
// flag set returns errors instead of exiting, so that run returns them
// (flag.ErrHelp for -h) and Main decides the exit status.
func NewServer(name, addr string) *Server {
	s := &Server{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	s.StringVar(&s.Addr, "addr", addr, "`host:port` to listen on; port 0 picks a free one")
	s.DurationVar(&s.Grace, "grace", 10*time.Second, "how long shutdown waits for what is in flight")
	return s
}

// Serve runs serve, a server's Serve bound to its listener, until ctx ends
// (in Main, the first SIGINT or SIGTERM). Then it calls shutdown, the
// server's Shutdown, with up to Grace for what is in flight to finish.
//
// It returns nil after a clean shutdown, as net/http.Server users write it;
// the error serve returned if it stopped by itself (a Serve returns only
// when its listener fails); or shutdown's error when Grace ran out and what
// was still in flight was cut.
func (s *Server) Serve(ctx context.Context, serve func() error, shutdown func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// ctx is already cancelled; the grace period needs a clock of its own.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Grace)
	defer cancel()
	shutdownErr := shutdown(sctx)
	if err := <-errc; !errors.Is(err, echo.ErrServerClosed) {
		return errors.Join(err, shutdownErr)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: cut short after %v: %w", s.Grace, shutdownErr)
	}
	return nil
}
