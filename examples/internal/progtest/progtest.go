// Package progtest runs the example programs' run functions in tests, the
// way a shell would run the programs: a server runs until its context is
// cancelled (the in-process SIGINT) and announces itself with
// "listening on HOST:PORT" as its first line of standard output; a client
// runs to completion and its standard output is what the test checks.
//
// It exists because Go forbids importing a main package, so every example's
// test needs the same few lines of plumbing around its own run function.
package progtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/examples/internal/program"
)

// Timeout bounds every wait in this package: a server that never prints its
// first line, a server that ignores cancellation, a client that hangs. It is
// generous because CI runs the race detector on two shared cores.
const Timeout = 30 * time.Second

// ListeningPrefix starts the first line every server example prints.
const ListeningPrefix = program.ListeningPrefix

// RunFunc is the signature every example's run function has.
type RunFunc = program.RunFunc

// ParseListening returns the HOST:PORT of a "listening on HOST:PORT" line,
// checking that it is exactly that: a prefix and an address net.SplitHostPort
// accepts with a non-zero port.
func ParseListening(line string) (string, error) {
	line = strings.TrimRight(line, "\r\n")
	addr, ok := strings.CutPrefix(line, ListeningPrefix)
	if !ok {
		return "", fmt.Errorf("first line %q does not start with %q", line, ListeningPrefix)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("first line %q: %w", line, err)
	}
	if port == "0" || port == "" {
		return "", fmt.Errorf("first line %q names no bound port", line)
	}
	return addr, nil
}

// ReadListening reads the first line of r and parses it with ParseListening.
// It returns the reader positioned after that line, for the rest of the output.
func ReadListening(r io.Reader) (string, *bufio.Reader, error) {
	br := bufio.NewReader(r)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", br, fmt.Errorf("reading the first line (got %q): %w", line, err)
	}
	addr, err := ParseListening(line)
	return addr, br, err
}

// Server is a server example's run function running in a goroutine.
type Server struct {
	// Addr is the bound address from the "listening on" line.
	Addr string

	cancel  context.CancelFunc
	done    chan struct{}
	err     error         // run's result, set before done is closed
	copied  chan struct{} // closed once everything run wrote is in out
	out     syncBuffer
	stop    sync.Once
	stopErr error
}

// StartServer calls run(ctx, args, w) in a goroutine and returns once the
// server printed its "listening on" line. The test fails if the line is
// missing or malformed, if run returns first, or if stopping the server at
// cleanup (cancelling its context, as SIGINT does) returns an error.
func StartServer(t testing.TB, run RunFunc, args ...string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cancel: cancel, done: make(chan struct{}), copied: make(chan struct{})}
	pr, pw := io.Pipe()
	go func() {
		defer close(s.done)
		s.err = run(ctx, args, pw)
		// Closing the pipe with run's result ends the reader below, so
		// a server that exits early is reported instead of awaited.
		pw.CloseWithError(fmt.Errorf("run returned: %w", errOrEOF(s.err)))
	}()

	first := make(chan error, 1)
	go func() {
		defer close(s.copied)
		addr, rest, err := ReadListening(pr)
		s.Addr = addr
		first <- err
		// Keep draining so a server that logs to stdout never blocks on
		// the pipe; the test can read it through Output.
		_, _ = io.Copy(&s.out, rest)
		_ = pr.Close()
	}()

	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server %v: stopping: %v, want nil", args, err)
		}
	})

	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("server %v: %v", args, err)
		}
	case <-time.After(Timeout):
		t.Fatalf("server %v: no %q line within %v", args, ListeningPrefix, Timeout)
	}
	return s
}

// Stop cancels the server's context, as SIGINT does to the program, waits
// until run has returned and everything it wrote is in Output, and returns
// what run returned. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stop.Do(func() {
		s.cancel()
		timeout := time.After(Timeout)
		select {
		case <-s.done:
			s.stopErr = s.err
		case <-timeout:
			s.stopErr = fmt.Errorf("run did not return within %v of cancellation", Timeout)
			return
		}
		// run's last lines may still be on their way through the pipe.
		select {
		case <-s.copied:
		case <-timeout:
			s.stopErr = fmt.Errorf("output still open %v after cancellation", Timeout)
		}
	})
	return s.stopErr
}

// Output returns what the server wrote after its first line so far.
func (s *Server) Output() string { return s.out.String() }

// RunClient runs a client example's run function to completion, bounded by
// Timeout, and returns its standard output and error.
func RunClient(t testing.TB, run RunFunc, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, args, &out)
	return out.String(), err
}

// SilentListener returns a TCP listener on 127.0.0.1 port 0 that nobody
// accepts from. The kernel still completes the three-way handshake and
// queues the connection in the listen backlog (listen(2)), so a client's
// connect succeeds and its read then waits for a reply that never comes:
// the loopback stand-in for the chapter's slow example.com.
func SilentListener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// ClosedAddr returns a loopback TCP address with nothing listening on it, so
// a client's connect is refused at once.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return addr
}

func errOrEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Python runs the chapter's Python script testdata/NAME (under the examples
// directory, found from the calling test's package directory) with args,
// bounded by Timeout, and returns its standard output. It skips the test
// when python3 is not installed, and fails it when the script fails.
func Python(t testing.TB, script string, args ...string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("skipping: the chapter's Python code needs python3: %v", err)
	}
	path, err := findTestdata(script)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{path}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3 %s %v: %v\nstdout:\n%s\nstderr:\n%s", script, args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// findTestdata looks for testdata/name in the working directory (the
// examples directory itself) and its parent (an example's directory).
func findTestdata(name string) (string, error) {
	for _, dir := range []string{"testdata", filepath.Join("..", "testdata")} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("testdata/%s not found from the test's directory", name)
}

// Serve runs handler for every connection to a new TCP listener on
// 127.0.0.1 port 0 and returns its address: a server that misbehaves on
// purpose (never answers, sends a hostile header). At cleanup the listener
// and every connection are closed and every handler is waited for.
func Serve(t testing.TB, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool // set at cleanup; later connections are closed at once
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			mu.Lock()
			conns = append(conns, c)
			if closed {
				_ = c.Close()
			}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handler(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
