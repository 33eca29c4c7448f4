package echo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/faultnet"
)

// testTimeout bounds every blocking step of a test, so a hang fails the
// test instead of stalling the run.
const testTimeout = 30 * time.Second

// logBuffer collects a server's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// newLogger returns a logger writing text lines, debug level included, to
// the returned buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := new(logBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// recorder is a slog.Handler that keeps every record, so that a test can
// look at the values a server logs, not only at how a handler prints them.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

// attrs returns the value of key in every record whose message contains
// msg, resolved as a handler would resolve it.
func (r *recorder) attrs(msg, key string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for _, rec := range r.records {
		if !strings.Contains(rec.Message, msg) {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.Resolve().Any())
			}
			return true
		})
	}
	return out
}

// messages returns the messages of the records at level.
func (r *recorder) messages(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		if rec.Level == level {
			out = append(out, rec.Message)
		}
	}
	return out
}

// dial connects to addr with a deadline on every later I/O, and closes the
// connection when the test ends.
func dial(t testing.TB, network string, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr.String(), testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c
}

// pattern is random bytes that clients send slices of, so that every reply
// byte can be checked against what was sent without generating data per
// message.
var pattern = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// upper is the reference for echo.Upper: Python's bytes.upper() maps
// exactly the 26 ASCII lower-case letters and leaves every other byte.
func upper(p []byte) []byte {
	out := make([]byte, len(p))
	for i, c := range p {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// writeFrame writes one message with the default 4-byte big-endian header.
func writeFrame(w io.Writer, p []byte) error {
	buf := make([]byte, 4+len(p))
	binary.BigEndian.PutUint32(buf, uint32(len(p)))
	copy(buf[4:], p)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one message with the default header, allocating it.
func readFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(h[:]))
	_, err := io.ReadFull(r, p)
	return p, err
}

// waitFor polls cond, which reads server state that has no channel to
// wait on (counters), until it holds or the test times out. Each poll
// waits on a ticker, not a sleep, and the loop is bounded.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// serveFaulty serves s on a loopback listener that gives every connection
// it accepts the faults of opts, and returns its address; the server is
// shut down when the test ends, after the clients dial closed. The
// server serves faultnet's connections through net.Conn: they are not
// the net package's own.
func serveFaulty(t *testing.T, s *echo.Server, opts ...faultnet.Option) net.Addr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(faultnet.WrapListener(l, opts...)) }()
	t.Cleanup(func() {
		shutdown(t, s)
		if err := <-served; !errors.Is(err, echo.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return l.Addr()
}

// shutdown shuts s down and reports an error.
func shutdown(t testing.TB, s interface{ Shutdown(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// group runs goroutines and keeps the first error, like errgroup.Group
// (golang.org/x/sync is not a dependency of this module).
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// isReset reports whether err is a reset connection's: ECONNRESET, or
// WSAECONNRESET on Windows.
var isReset = echo.IsReset

// loopbacksOrSkip returns the IPv4 and IPv6 loopback hosts, after checking
// that both take a socket of network ("tcp" or "udp"), or skips the test
// naming the one that does not.
func loopbacksOrSkip(t *testing.T, network string) []string {
	t.Helper()
	hosts := []string{"127.0.0.1", "::1"}
	for _, host := range hosts {
		addr := net.JoinHostPort(host, "0")
		var err error
		if network == "udp" {
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", addr); err == nil {
				pc.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp", addr); err == nil {
				l.Close()
			}
		}
		if err != nil {
			t.Skipf("skipping, needs IPv4 and IPv6 loopback; %s: %v", host, err)
		}
	}
	return hosts
}
