package faultnet_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/faultnet"
)

// TestPipeBuffered: one goroutine writes a whole request and only then
// reads, which deadlocks on net.Pipe.
func TestPipeBuffered(t *testing.T) {
	t.Parallel()
	client, server := faultnet.Pipe()
	defer client.Close()
	defer server.Close()
	request := pattern(faultnet.DefaultBuffer)
	write(t, client, request)
	write(t, server, []byte("reply"))
	server.SetReadDeadline(soon())
	got := make([]byte, len(request))
	if _, err := io.ReadFull(server, got); err != nil || !bytes.Equal(got, request) {
		t.Fatalf("request: %d bytes, %v", len(got), err)
	}
	reply := make([]byte, 5)
	if _, err := io.ReadFull(client, reply); err != nil || string(reply) != "reply" {
		t.Fatalf("reply: %q, %v", reply, err)
	}
}

// TestPipeBufferFull: a Write into a full direction waits; its deadline
// ends the wait with the count written, and a reader lets it finish.
func TestPipeBufferFull(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Buffer(10))
	defer a.Close()
	defer b.Close()
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := a.Write(pattern(25))
	if n != 10 {
		t.Errorf("Write into a 10-byte buffer wrote %d bytes before the deadline", n)
	}
	wantTimeout(t, err, "write")

	a.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := a.Write(pattern(25)[10:])
		a.(interface{ CloseWrite() error }).CloseWrite()
		done <- err
	}()
	b.SetReadDeadline(soon())
	sizes, got, err := readAll(t, b, 100)
	if err != io.EOF || !bytes.Equal(got, pattern(25)) {
		t.Fatalf("read %q, %v; want the 25 bytes, io.EOF", got, err)
	}
	for _, n := range sizes {
		if n > 10 {
			t.Errorf("a read returned %d bytes from a 10-byte buffer", n)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("blocked Write: %v", err)
	}
}

// TestPipeClose checks Close as nettest and net do: the closed end fails
// with net.ErrClosed, the other end reads what was written, then io.EOF,
// and its Writes fail with EPIPE.
func TestPipeClose(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe()
	defer b.Close()
	write(t, a, []byte("last words"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Read(make([]byte, 1))
	wantOpError(t, err, "read", net.ErrClosed)
	_, err = a.Write([]byte("x"))
	wantOpError(t, err, "write", net.ErrClosed)
	wantOpError(t, a.Close(), "close", net.ErrClosed)
	wantOpError(t, a.SetDeadline(time.Now()), "set", net.ErrClosed)
	wantOpError(t, a.(interface{ CloseWrite() error }).CloseWrite(), "close", net.ErrClosed)

	_, got, err := readAll(t, b, 4)
	if string(got) != "last words" || err != io.EOF {
		t.Errorf("peer read %q, %v; want \"last words\", io.EOF", got, err)
	}
	_, err = b.Write([]byte("anyone?"))
	wantOpError(t, err, "write", syscall.EPIPE)
}

// TestPipeCloseWrite: after CloseWrite the peer reads EOF and can still
// write back; Writes on the half-closed end fail with EPIPE.
func TestPipeCloseWrite(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe()
	defer a.Close()
	defer b.Close()
	write(t, a, []byte("request"))
	if err := a.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Write([]byte("more"))
	wantOpError(t, err, "write", syscall.EPIPE)
	b.SetReadDeadline(soon())
	_, got, err := readAll(t, b, 64)
	if string(got) != "request" || err != io.EOF {
		t.Fatalf("peer read %q, %v; want \"request\", io.EOF", got, err)
	}
	write(t, b, []byte("response"))
	b.Close()
	a.SetReadDeadline(soon())
	if _, got, err := readAll(t, a, 64); string(got) != "response" || err != io.EOF {
		t.Fatalf("half-closed end read %q, %v; want \"response\", io.EOF", got, err)
	}
}

// TestPipeCloseRead: after CloseRead, Reads return io.EOF and what the
// peer writes is dropped without an error.
func TestPipeCloseRead(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Inbound(faultnet.Buffer(4)))
	defer a.Close()
	defer b.Close()
	write(t, b, []byte("drop"))
	if err := a.(interface{ CloseRead() error }).CloseRead(); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after CloseRead = %d, %v; want 0, io.EOF", n, err)
	}
	// More than the buffer holds: the writer must not block.
	b.SetWriteDeadline(soon())
	write(t, b, pattern(100))
	write(t, a, []byte("still writes"))
	if buf := make([]byte, 12); func() error { _, err := io.ReadFull(b, buf); return err }() != nil || string(buf) != "still writes" {
		t.Fatalf("the other direction broke after CloseRead: %q", buf)
	}
}

// TestPipeDeadline: a deadline ends a Read and a Write with the error net
// gives, even with data waiting, and moving it wakes a blocked call.
func TestPipeDeadline(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe(faultnet.Buffer(1))
	defer a.Close()
	defer b.Close()
	a.SetDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := a.Read(make([]byte, 1))
	wantTimeout(t, err, "read")
	a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	n, err := a.Write([]byte("xy"))
	if n != 1 {
		t.Errorf("Write = %d bytes before the deadline, want 1", n)
	}
	wantTimeout(t, err, "write")

	// A passed deadline wins over data that is there, as in net.
	write(t, b, []byte("z"))
	a.SetReadDeadline(time.Unix(1, 0))
	n, err = a.Read(make([]byte, 1))
	if n != 0 {
		t.Errorf("Read past the deadline returned %d bytes", n)
	}
	wantTimeout(t, err, "read")
	a.SetReadDeadline(time.Time{})
	if buf := make([]byte, 1); func() error { _, err := a.Read(buf); return err }() != nil || buf[0] != 'z' {
		t.Fatalf("the byte waiting behind the deadline was lost: %q", buf)
	}

	// A deadline moved into the past ends a Read already waiting.
	done := make(chan error, 1)
	go func() { _, err := a.Read(make([]byte, 1)); done <- err }()
	a.SetReadDeadline(time.Now())
	wantTimeout(t, <-done, "read")
}

// TestPipeAddrs: the ends have *net.TCPAddr addresses, each end's local
// address is the other's remote one, and two pipes differ.
func TestPipeAddrs(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe()
	c, d := faultnet.Pipe()
	for _, x := range []net.Conn{a, b, c, d} {
		defer x.Close()
		if _, ok := x.LocalAddr().(*net.TCPAddr); !ok {
			t.Fatalf("LocalAddr is a %T, want *net.TCPAddr", x.LocalAddr())
		}
		if ip := x.LocalAddr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("LocalAddr %v is not on loopback", ip)
		}
	}
	if a.LocalAddr().String() != b.RemoteAddr().String() || b.LocalAddr().String() != a.RemoteAddr().String() {
		t.Errorf("a: %v->%v, b: %v->%v; want mirrored", a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr())
	}
	seen := map[string]bool{}
	for _, x := range []net.Conn{a, b, c, d} {
		s := x.LocalAddr().String()
		if seen[s] {
			t.Errorf("address %s used twice", s)
		}
		seen[s] = true
	}
}

// TestPipeSetLinger: SetLinger(0) makes Close reset the connection, as on
// TCP: the peer reads what was sent, then ECONNRESET.
func TestPipeSetLinger(t *testing.T) {
	t.Parallel()
	a, b := faultnet.Pipe()
	defer b.Close()
	if err := a.(interface{ SetLinger(int) error }).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	write(t, a, []byte("bye"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	_, got, err := readAll(t, b, 16)
	if string(got) != "bye" {
		t.Errorf("peer read %q, want \"bye\"", got)
	}
	wantOpError(t, err, "read", syscall.ECONNRESET)
	_, err = b.Write([]byte("x"))
	wantOpError(t, err, "write", syscall.ECONNRESET)
}

// TestPipeNoGoroutines: a Pipe starts no goroutine, whatever its faults,
// and leaves none behind; the only ones here are the test's.
//
// Not parallel: it counts the process's goroutines.
func TestPipeNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	var conns []net.Conn
	for i := range 100 {
		a, b := faultnet.Pipe(faultnet.Seed(uint64(i)), faultnet.RandomFragments(3), faultnet.Latency(time.Microsecond),
			faultnet.Stall(1000, nil), faultnet.RandomReads(2))
		write(t, a, []byte("hello"))
		a.SetReadDeadline(time.Now().Add(time.Millisecond))
		a.Read(make([]byte, 1)) // waits, then times out
		b.SetReadDeadline(soon())
		if _, err := io.ReadFull(b, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, a, b)
	}
	// A goroutine per pipe would add 100; the runtime may add one of its
	// own (js/wasm's event loop does while a timer waits).
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines with 100 pipes open, %d before", n, before)
	}
	for _, c := range conns {
		c.Close()
	}
}
