package faultnet_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// readAll reads c with bufLen-byte buffers until an error, and returns the
// size of every read, the bytes and the error. It is bounded: a stream
// that never ends fails the test.
func readAll(t testing.TB, c net.Conn, bufLen int) ([]int, []byte, error) {
	t.Helper()
	var sizes []int
	var got bytes.Buffer
	buf := make([]byte, bufLen)
	for range 1 << 20 {
		n, err := c.Read(buf)
		if n > 0 {
			sizes = append(sizes, n)
			got.Write(buf[:n])
		}
		if err != nil {
			return sizes, got.Bytes(), err
		}
	}
	t.Fatal("readAll: the stream did not end")
	return nil, nil, nil
}

// write writes p to c and fails the test on error.
func write(t testing.TB, c net.Conn, p []byte) {
	t.Helper()
	if n, err := c.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
	}
}

// wantOpError checks that err is a *net.OpError of operation op that
// matches target through errors.Is.
func wantOpError(t testing.TB, err error, op string, target error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v (%T), want a *net.OpError", err, err)
	}
	if oe.Op != op || !errors.Is(err, target) {
		t.Fatalf("err = %v, want a %q *net.OpError matching %v", err, op, target)
	}
}

// wantTimeout checks that err is a deadline's, as the net package
// reports it.
func wantTimeout(t testing.TB, err error, op string) {
	t.Helper()
	wantOpError(t, err, op, os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("err = %v: Timeout() is not true", err)
	}
}

// isConnReset reports whether err is a reset of a real TCP connection:
// ECONNRESET, which Windows spells WSAECONNRESET.
func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) ||
		runtime.GOOS == "windows" && errors.Is(err, syscall.Errno(10054))
}

// tcpPair returns the two ends of a TCP connection on loopback, closed
// when the test ends.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// soon returns a deadline that bounds a wait a test expects to end
// early: a failure, not a hang, if it does not.
func soon() time.Time { return time.Now().Add(10 * time.Second) }

// pattern returns n bytes that differ from their neighbours.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}
