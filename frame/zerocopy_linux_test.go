package frame_test

// The tests in this file read the I/O counters of the whole process, so
// they are not parallel: Go runs them before any parallel test resumes.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// procIO returns the process's rchar and syscr from /proc/self/io
// (proc(5)): the bytes returned by the read family of system calls and the
// number of those calls. read(2) and readv(2) count in both, and so does
// sendfile(2), as a read of its source; splice(2) counts in neither. A
// copy through user space reads every byte from a socket or file with
// read(2), so it shows in rchar; and in syscr, one call per buffer.
func procIO(t *testing.T) (rchar, syscr int64) {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skipf("skipping: no I/O accounting: %v", err)
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v int64
		name, value, _ := strings.Cut(sc.Text(), ": ")
		if _, err := fmt.Sscan(value, &v); err != nil {
			continue
		}
		switch name {
		case "rchar":
			rchar, found = v, found+1
		case "syscr":
			syscr, found = v, found+1
		}
	}
	if found != 2 {
		t.Skip("skipping: /proc/self/io has no rchar and syscr")
	}
	return rchar, syscr
}

// fileHash returns the hash of f's first n bytes.
func fileHash(t *testing.T, f *os.File, n int64, seed maphash.Seed) uint64 {
	t.Helper()
	var h maphash.Hash
	h.SetSeed(seed)
	if got, err := io.Copy(&h, io.NewSectionReader(f, 0, n)); err != nil || got != n {
		t.Fatalf("reading back %s: %d bytes, %v", f.Name(), got, err)
	}
	return h.Sum64()
}

// patternHash returns the hash of n bytes of pattern.
func patternHash(n int64, seed maphash.Seed) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	io.Copy(&h, &pattern{n: uint64(n)})
	return h.Sum64()
}

// zeroCopySize is what the zero-copy tests move: enough that any copy
// through user space shows far above the noise of the counters (16 MiB
// under the race detector, which slows the generator and the hashes).
var zeroCopySize int64 = 64 << 20

func init() {
	if raceEnabled {
		zeroCopySize = 16 << 20
	}
}

// TestBodySplicesToFile checks that io.Copy from a body into a regular
// file, on a *net.TCPConn, moves the payload with splice(2): of the 64
// MiB, only the bytes that arrived with the header (at most the 4 KiB of
// the Reader's first read) go through read(2), which any copy through the
// Reader's buffer or through a loop in user space would use for every
// byte. The same transfer through wrappers that hide the types, which
// forces such a copy, shows the meter counts it.
func TestBodySplicesToFile(t *testing.T) {
	seed := maphash.MakeSeed()
	want := patternHash(zeroCopySize, seed)
	for _, tt := range []struct {
		name     string
		copyBody func(dst *os.File, body io.Reader) (int64, error)
		direct   bool
	}{
		{"io.Copy", func(dst *os.File, body io.Reader) (int64, error) { return io.Copy(dst, body) }, true},
		{"io.Copy through wrappers", func(dst *os.File, body io.Reader) (int64, error) {
			return io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{body})
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			// The sender writes from memory: write(2) counts in wchar,
			// not in what is measured here.
			errc := make(chan error, 1)
			go func() {
				w := frame.NewWriter(client, frame.WithMaxStreamSize(zeroCopySize))
				err := w.WriteMessageFrom(&pattern{n: uint64(zeroCopySize)}, zeroCopySize)
				if err == nil {
					err = w.Flush()
				}
				errc <- err
			}()
			dst := scratchFile(t, "body")
			rchar0, _ := procIO(t)
			r := frame.NewReader(server, frame.WithMaxStreamSize(zeroCopySize))
			_, body, err := r.NextReader()
			if err != nil {
				t.Fatal(err)
			}
			n, err := tt.copyBody(dst, body)
			rchar1, _ := procIO(t)
			if err != nil || n != zeroCopySize {
				t.Fatalf("copy = %d, %v", n, err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got := fileHash(t, dst, zeroCopySize, seed); got != want {
				t.Fatalf("the file's hash %x, the payload's %x", got, want)
			}
			read := rchar1 - rchar0
			t.Logf("%d of %d bytes went through the read family of system calls", read, zeroCopySize)
			switch {
			case tt.direct && read > 64<<10:
				t.Errorf("%d bytes were read into user space, want only those that came with the header", read)
			case !tt.direct && read < zeroCopySize:
				t.Errorf("a copy through user space counted %d bytes: the meter does not see it", read)
			}
		})
	}
}

// TestWriteMessageFromSendfile checks that WriteMessageFrom from a
// regular *os.File to a *net.TCPConn sends the payload with sendfile(2):
// the process makes at most one read-family call per 512 KiB of payload,
// where a copy through user space makes one per buffer, at least 256 with
// the Writer's 256 KiB buffer (2048 with io.Copy's 32 KiB). sendfile(2)
// counts as a read of the whole payload in rchar, so the count of calls
// is the evidence. The same transfer from a wrapper that hides the file
// shows the copy the meter would see. The peer receives with NextReader
// into a file by splice(2), which counts in neither.
func TestWriteMessageFromSendfile(t *testing.T) {
	seed := maphash.MakeSeed()
	src := scratchFile(t, "src")
	if _, err := io.Copy(src, &pattern{n: uint64(zeroCopySize)}); err != nil {
		t.Fatal(err)
	}
	want := patternHash(zeroCopySize, seed)
	for _, tt := range []struct {
		name   string
		src    func(f *os.File) io.Reader
		direct bool
	}{
		{"*os.File", func(f *os.File) io.Reader { return f }, true},
		{"wrapper", func(f *os.File) io.Reader { return struct{ io.Reader }{f} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			if _, err := src.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			dst := scratchFile(t, "dst")
			received := make(chan error, 1)
			go func() {
				r := frame.NewReader(server, frame.WithMaxStreamSize(zeroCopySize))
				if m, err := r.ReadMessage(); err != nil || string(m) != "before" {
					received <- fmt.Errorf("first message %q, %v", m, err)
					server.Close()
					return
				}
				_, body, err := r.NextReader()
				if err == nil {
					_, err = io.Copy(dst, body)
				}
				received <- err
			}()
			w := frame.NewWriter(client, frame.WithMaxStreamSize(zeroCopySize))
			if err := w.WriteMessage([]byte("before")); err != nil {
				t.Fatal(err)
			}
			_, syscr0 := procIO(t)
			err := w.WriteMessageFrom(tt.src(src), zeroCopySize)
			_, syscr1 := procIO(t)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := <-received; err != nil {
				t.Fatalf("the peer: %v", err)
			}
			if got := fileHash(t, dst, zeroCopySize, seed); got != want {
				t.Fatalf("the peer's hash %x, the file's %x", got, want)
			}
			calls := syscr1 - syscr0
			t.Logf("%d read-family system calls for %d bytes", calls, zeroCopySize)
			switch {
			case tt.direct && calls > zeroCopySize/(512<<10):
				t.Errorf("%d read-family calls: the payload went through user space", calls)
			case !tt.direct && calls < zeroCopySize/(256<<10):
				t.Errorf("a copy through user space made %d read-family calls: the meter does not see it", calls)
			}
		})
	}
}

// TestWriteMessageFromSendfileTimeouts checks the timeouts of the
// sendfile path: before the header leaves, the message is not begun (the
// file is not read, and the Writer goes on); once it has, the timeout
// cuts the message and breaks the Writer.
func TestWriteMessageFromSendfileTimeouts(t *testing.T) {
	t.Parallel()
	src := scratchFile(t, "src")
	if _, err := io.Copy(src, &pattern{n: uint64(zeroCopySize)}); err != nil {
		t.Fatal(err)
	}
	client, server := tcpPair(t)
	w := frame.NewWriter(client, frame.WithMaxStreamSize(zeroCopySize))
	if err := w.WriteMessage([]byte("before")); err != nil {
		t.Fatal(err)
	}
	src.Seek(0, io.SeekStart)
	client.SetWriteDeadline(time.Now().Add(-time.Second))
	if err := w.WriteMessageFrom(src, zeroCopySize); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteMessageFrom past the deadline: %v, want the timeout", err)
	}
	if off, _ := src.Seek(0, io.SeekCurrent); off != 0 {
		t.Fatalf("the file was read up to %d before the message began", off)
	}
	// Nobody reads: the rest of the message cannot go out before the
	// deadline.
	client.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	err := w.WriteMessageFrom(src, zeroCopySize)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteMessageFrom into a full socket: %v, want the timeout", err)
	}
	if err2 := w.WriteMessage([]byte("x")); !errors.Is(err2, os.ErrDeadlineExceeded) || err2 == err {
		t.Fatalf("after the cut message: %v, want a sticky error wrapping the timeout", err2)
	}
	client.Close()
	server.SetReadDeadline(time.Now().Add(time.Minute))
	r := frame.NewReader(server, frame.WithMaxStreamSize(zeroCopySize))
	if m, err := r.ReadMessage(); err != nil || string(m) != "before" {
		t.Fatalf("first message: %q, %v", m, err)
	}
	_, body, err := r.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	got, err := readBody(body, 1<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.HasPrefix(got, mustRead(t, &pattern{n: uint64(len(got))})) {
		t.Fatalf("the cut message: %d bytes, %v; want a prefix of the file, then io.ErrUnexpectedEOF", len(got), err)
	}
}

// mustRead reads r to its end.
func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConnSendFromFile checks Conn's streaming on the zero-copy paths: a
// file sent with SendFrom arrives whole through RecvReader into a file,
// under a context.
func TestConnSendFromFile(t *testing.T) {
	t.Parallel()
	seed := maphash.MakeSeed()
	src := scratchFile(t, "src")
	if _, err := io.Copy(src, &pattern{n: uint64(zeroCopySize)}); err != nil {
		t.Fatal(err)
	}
	src.Seek(0, io.SeekStart)
	client, server := tcpPair(t)
	cc := frame.NewConn(client, frame.WithMaxStreamSize(zeroCopySize))
	sc := frame.NewConn(server, frame.WithMaxStreamSize(zeroCopySize))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- cc.SendFrom(ctx, src, zeroCopySize) }()
	_, body, err := sc.RecvReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst := scratchFile(t, "dst")
	if n, err := io.Copy(dst, body); err != nil || n != zeroCopySize {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got, want := fileHash(t, dst, zeroCopySize, seed), patternHash(zeroCopySize, seed); got != want {
		t.Fatalf("hash %x, want %x", got, want)
	}
}
