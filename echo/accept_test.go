package echo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
)

// flakyListener fails its first n Accept calls with err, recording when
// each call was made, and then accepts for real.
type flakyListener struct {
	net.Listener
	err error

	mu    sync.Mutex
	n     int
	calls []time.Time
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	fail := len(l.calls) <= l.n
	l.mu.Unlock()
	if fail {
		return nil, l.err
	}
	return l.Listener.Accept()
}

func (l *flakyListener) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.calls...)
}

// emfile is the error a real listener returns when the process is out of
// file descriptors.
var emfile = &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}

// TestAcceptBackoff: Accept fails with EMFILE six times; each failure is
// logged and counted, the pauses between tries at least double from 5 ms,
// and once Accept works again a client is served.
func TestAcceptBackoff(t *testing.T) {
	t.Parallel()
	const failures = 6
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: inner, err: emfile, n: failures}
	logger, logs := newLogger()
	s := &echo.Server{Logger: logger}
	served := make(chan error, 1)
	go func() { served <- s.Serve(fl) }()
	defer func() {
		shutdown(t, s)
		if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	}()

	// The dial completes in the kernel's backlog; the server accepts it
	// once the failures are over, and the echo proves it recovered.
	c := dial(t, "tcp", inner.Addr())
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("after the errors: got %q, %v", buf, err)
	}

	calls := fl.times()
	if len(calls) < failures+1 {
		t.Fatalf("%d Accept calls, want at least %d", len(calls), failures+1)
	}
	// The pause after failure i is at least 5 ms << i. Only lower bounds
	// are checked: a timer never fires early, but a busy machine may
	// fire it late.
	for i := range failures {
		want := 5 * time.Millisecond << i
		if gap := calls[i+1].Sub(calls[i]); gap < want {
			t.Errorf("pause after failure %d: %v, want at least %v", i+1, gap, want)
		}
	}
	if got := s.Stats().AcceptErrors; got != failures {
		t.Errorf("Stats().AcceptErrors = %d, want %d", got, failures)
	}
	if got := len(logs.lines("level=ERROR", "accept failed", "too many open files")); got != failures {
		t.Errorf("%d accept-error log lines, want %d; log:\n%s", got, failures, logs)
	}
}

// TestAcceptBackoffShutdown: Shutdown ends a pause between Accept retries
// at once instead of waiting out up to a second.
func TestAcceptBackoffShutdown(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: inner, err: emfile, n: 1 << 30}
	logger, _ := newLogger()
	s := &echo.Server{Logger: logger}
	served := make(chan error, 1)
	go func() { served <- s.Serve(fl) }()
	// After 8 failures the pause is 5 ms << 8 = 1.28 s, capped at 1 s.
	waitFor(t, "8 accept errors", func() bool { return s.Stats().AcceptErrors >= 8 })
	start := time.Now()
	shutdown(t, s)
	if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	// Without the early wake-up Serve would sleep out most of a 1 s pause.
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("Serve returned %v after Shutdown: it slept through its backoff", took)
	}
}

// TestAcceptPermanentError: an error that is not worth retrying (here, a
// listener closed behind the server's back) ends Serve with that error.
func TestAcceptPermanentError(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("listener broke")
	fl := &flakyListener{Listener: inner, err: broken, n: 1}
	s := &echo.Server{}
	if err := s.Serve(fl); !errors.Is(err, broken) {
		t.Errorf("Serve = %v, want %v", err, broken)
	}
	if _, err := inner.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve did not close its listener: Accept = %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of a server whose Serve failed: %v", err)
	}
}
