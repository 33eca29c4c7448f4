package faultnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/framesock/framesock/faultnet"
)

// TestWrapConformance runs nettest.TestConn on wrapped TCP connections,
// plain and with faults that keep every byte: a wrapped connection is
// still a net.Conn.
func TestWrapConformance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []faultnet.Option
	}{
		{name: "plain"},
		{name: "fragments and short reads", opts: []faultnet.Option{
			faultnet.RandomFragments(500), faultnet.Inbound(faultnet.RandomReads(300), faultnet.Buffer(1000)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return nil, nil, nil, err
				}
				defer l.Close()
				c2, err = net.Dial("tcp", l.Addr().String())
				if err != nil {
					return nil, nil, nil, err
				}
				c, err := l.Accept()
				if err != nil {
					c2.Close()
					return nil, nil, nil, err
				}
				c1 = faultnet.Wrap(c, tt.opts...)
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}

// TestWrapPassesThrough: deadlines reach the real connection, Close
// closes it, CloseWrite half-closes it, NetConn returns it, and the
// addresses are its own.
func TestWrapPassesThrough(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	w := faultnet.Wrap(client)
	if w.LocalAddr().String() != client.LocalAddr().String() || w.RemoteAddr().String() != client.RemoteAddr().String() {
		t.Errorf("addresses %v->%v, want the real %v->%v", w.LocalAddr(), w.RemoteAddr(), client.LocalAddr(), client.RemoteAddr())
	}
	if got := w.(interface{ NetConn() net.Conn }).NetConn(); got != client {
		t.Errorf("NetConn = %v, want the wrapped connection", got)
	}
	w.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := w.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v", err)
	}
	// The deadline is on the real connection too.
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read of the real connection: %v, want its deadline to be set", err)
	}
	w.SetReadDeadline(time.Time{})

	write(t, w, []byte("half"))
	if err := w.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(soon())
	if _, got, err := readAll(t, server, 16); string(got) != "half" || err != io.EOF {
		t.Errorf("peer read %q, %v; want \"half\", io.EOF", got, err)
	}
	write(t, server, []byte("back"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(w, buf); err != nil || string(buf) != "back" {
		t.Errorf("read back %q, %v", buf, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("real connection after Close: %v, want net.ErrClosed", err)
	}
	_, err := w.Read(buf)
	wantOpError(t, err, "read", net.ErrClosed)
	wantOpError(t, w.Close(), "close", net.ErrClosed)
}

// TestWrapHalfCloseUnsupported: CloseWrite and CloseRead on a wrapped
// connection that lacks them say so.
func TestWrapHalfCloseUnsupported(t *testing.T) {
	t.Parallel()
	x, y := net.Pipe()
	defer y.Close()
	w := faultnet.Wrap(x)
	defer w.Close()
	wantOpError(t, w.(interface{ CloseWrite() error }).CloseWrite(), "close", errors.ErrUnsupported)
	wantOpError(t, w.(interface{ CloseRead() error }).CloseRead(), "close", errors.ErrUnsupported)
}

// TestWrapResetTCP: a reset on a wrapped TCP connection is a real one:
// the peer's kernel gets an RST, so the peer reads what was sent before,
// then ECONNRESET; locally the next Write and the Reads fail the same way.
func TestWrapResetTCP(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	w := faultnet.Wrap(client, faultnet.Outbound(faultnet.ResetAfter(5)))
	if n, err := w.Write([]byte("hello world")); n != 11 || err != nil {
		t.Fatalf("Write = %d, %v; want 11, nil", n, err)
	}
	server.SetReadDeadline(soon())
	_, got, err := readAll(t, server, 64)
	if !bytes.HasPrefix([]byte("hello"), got) || !isConnReset(err) {
		t.Errorf("peer read %q, %v; want a prefix of \"hello\", then ECONNRESET", got, err)
	}
	_, err = w.Write([]byte("x"))
	wantOpError(t, err, "write", syscall.ECONNRESET)
	_, err = w.Read(make([]byte, 1))
	wantOpError(t, err, "read", syscall.ECONNRESET)
	if err := w.Close(); err != nil {
		t.Errorf("Close after the reset: %v", err)
	}
}

// TestWrapInboundResetTCP: a reset on the inbound side also resets the
// real connection, after the Read has returned the bytes before it.
func TestWrapInboundResetTCP(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	w := faultnet.Wrap(server, faultnet.Inbound(faultnet.ResetAfter(3)))
	write(t, client, []byte("abcdef"))
	w.SetReadDeadline(soon())
	_, got, err := readAll(t, w, 64)
	if string(got) != "abc" {
		t.Errorf("read %q before the reset, want \"abc\"", got)
	}
	wantOpError(t, err, "read", syscall.ECONNRESET)
	client.SetReadDeadline(soon())
	if _, err := client.Read(make([]byte, 1)); !isConnReset(err) {
		t.Errorf("peer's Read: %v, want ECONNRESET", err)
	}
}

// TestWrapTruncateTCP: an outbound truncation shuts the real connection's
// writing side, so the peer reads EOF after n bytes and can still reply.
func TestWrapTruncateTCP(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	w := faultnet.Wrap(client, faultnet.Outbound(faultnet.TruncateAfter(5)))
	write(t, w, []byte("hello world"))
	write(t, w, []byte("dropped"))
	server.SetReadDeadline(soon())
	if _, got, err := readAll(t, server, 64); string(got) != "hello" || err != io.EOF {
		t.Errorf("peer read %q, %v; want \"hello\", io.EOF", got, err)
	}
	write(t, server, []byte("reply"))
	buf := make([]byte, 5)
	w.SetReadDeadline(soon())
	if _, err := io.ReadFull(w, buf); err != nil || string(buf) != "reply" {
		t.Errorf("reply %q, %v", buf, err)
	}
}

// TestWrapInbound: inbound faults act on what Read takes from the real
// connection: short reads, corruption and truncation.
func TestWrapInbound(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	w := faultnet.Wrap(server, faultnet.Inbound(faultnet.MaxRead(2), faultnet.Corrupt(1), faultnet.TruncateAfter(5)))
	write(t, client, []byte("abcdefgh"))
	w.SetReadDeadline(soon())
	sizes, got, err := readAll(t, w, 64)
	if want := string([]byte{'a', 'b' ^ 0xff, 'c', 'd', 'e'}); string(got) != want || err != io.EOF {
		t.Errorf("read %q, %v; want %q, io.EOF", got, err, want)
	}
	for _, n := range sizes {
		if n > 2 {
			t.Errorf("a Read of %d bytes under MaxRead(2)", n)
		}
	}
}

// TestWrapOutbound: outbound faults act on what Write sends: fragments
// become separate writes on the real connection, a corrupted byte goes out
// inverted, and the caller's buffer is left alone.
func TestWrapOutbound(t *testing.T) {
	t.Parallel()
	// The real connection: a Pipe whose fragments keep its writes apart.
	x, y := faultnet.Pipe(faultnet.Fragment(1 << 20))
	defer y.Close()
	w := faultnet.Wrap(x, faultnet.Outbound(faultnet.Fragment(3), faultnet.Corrupt(4)))
	msg := []byte("abcdefg")
	write(t, w, msg)
	w.Close()
	sizes, got, err := readAll(t, y, 64)
	if want := string([]byte{'a', 'b', 'c', 'd', 'e' ^ 0xff, 'f', 'g'}); string(got) != want || err != io.EOF {
		t.Errorf("peer read %q, %v; want %q, io.EOF", got, err, want)
	}
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Errorf("peer read sizes %v, want [3 3 1]", sizes)
	}
	if string(msg) != "abcdefg" {
		t.Errorf("Write changed its argument to %q", msg)
	}
}

// TestWrapStall: an outbound stall holds Write back after n bytes until
// its deadline, and the release lets the rest go.
func TestWrapStall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	x, y := faultnet.Pipe()
	defer y.Close()
	w := faultnet.Wrap(x, faultnet.Outbound(faultnet.Stall(3, release)))
	defer w.Close()
	w.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	n, err := w.Write([]byte("abcdef"))
	if n != 3 {
		t.Errorf("Write = %d bytes before the deadline, want 3", n)
	}
	wantTimeout(t, err, "write")
	close(release)
	w.SetWriteDeadline(soon())
	write(t, w, []byte("def"))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(y, buf); err != nil || string(buf) != "abcdef" {
		t.Errorf("peer read %q, %v", buf, err)
	}
}

// TestWrapListener: every accepted connection gets the faults, each with
// its own state; the n-th gets the seed s+n, so Wrap with that seed
// replays it.
func TestWrapListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const seed, within = 1000, 64
	opts := []faultnet.Option{faultnet.Inbound(faultnet.RandomCorrupt(within), faultnet.TruncateAfter(within))}
	l := faultnet.WrapListener(inner, append(opts, faultnet.Seed(seed))...)
	defer l.Close()
	if l.Addr() != inner.Addr() {
		t.Errorf("Addr = %v, want the wrapped listener's %v", l.Addr(), inner.Addr())
	}
	// corrupted returns which byte of 100 zero bytes c saw inverted.
	corrupted := func(c net.Conn) int {
		t.Helper()
		c.SetReadDeadline(soon())
		_, got, err := readAll(t, c, 256)
		if len(got) != within || err != io.EOF {
			t.Fatalf("read %d bytes, %v; want %d, then io.EOF", len(got), err, within)
		}
		return bytes.IndexByte(got, 0xff)
	}
	for n := range 5 {
		client, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer server.Close()
		write(t, client, make([]byte, 100))
		got := corrupted(server)

		a, b := faultnet.Pipe(append(opts, faultnet.Seed(seed+uint64(n)))...)
		write(t, b, make([]byte, 100))
		b.Close()
		if want := corrupted(a); got != want {
			t.Errorf("connection %d: byte %d corrupted, but %d with Seed(%d)", n, got, want, seed+n)
		}
		a.Close()
	}
}

// TestWrapTruncateWithoutCloseWrite: on a connection without CloseWrite,
// an outbound truncation closes it, so the peer still reads EOF after n
// bytes; Close then reports nothing.
func TestWrapTruncateWithoutCloseWrite(t *testing.T) {
	t.Parallel()
	x, y := net.Pipe()
	defer y.Close()
	w := faultnet.Wrap(x, faultnet.Outbound(faultnet.TruncateAfter(3)))
	got := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(y)
		got <- fmt.Sprintf("%q %v", b, err)
	}()
	write(t, w, []byte("abcdef"))
	if g := <-got; g != `"abc" <nil>` {
		t.Errorf("peer read %s, want \"abc\" and EOF", g)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
