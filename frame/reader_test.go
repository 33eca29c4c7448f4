package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// readAPIs are the ways to read a stream of messages, each given a fresh
// reader of the stream.
var readAPIs = []struct {
	name string
	read func(r io.Reader, opts ...frame.Option) func() ([]byte, error)
}{
	{"Reader.ReadMessage", func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
		return frame.NewReader(r, opts...).ReadMessage
	}},
	{"Reader.ReadMessage/buffer512", func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
		return frame.NewReader(r, append(opts, frame.WithBufferSize(512))...).ReadMessage
	}},
	{"Reader.AppendMessage", func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
		fr := frame.NewReader(r, opts...)
		var buf []byte
		return func() ([]byte, error) {
			var err error
			buf, err = fr.AppendMessage(buf[:0])
			return buf, err
		}
	}},
	{"Reader.Messages", func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
		fr := frame.NewReader(r, opts...)
		return func() ([]byte, error) {
			// Resuming the iteration after an error is the
			// documented way to retry.
			for m, err := range fr.Messages() {
				return m, err
			}
			return nil, io.EOF
		}
	}},
	{"Reader.NextReader/Read", nextReaderAPI(64 << 10)},
	{"Reader.NextReader/WriteTo", nextReaderAPI(0)},
}

// nextReaderAPI reads each message with NextReader and then its body
// through reads of n bytes, or through WriteTo if n is 0, as a caller that
// streams messages does. A timeout inside the body is retried there, the
// way a caller retries after a deadline; one before the body is returned,
// so that collect retries NextReader.
func nextReaderAPI(n int) func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
	return func(r io.Reader, opts ...frame.Option) func() ([]byte, error) {
		fr := frame.NewReader(r, opts...)
		return func() ([]byte, error) {
			size, body, err := fr.NextReader()
			if err != nil {
				return nil, err
			}
			m, err := readBody(body, n)
			if err == nil && int64(len(m)) != size {
				err = fmt.Errorf("NextReader said %d bytes, the body had %d", size, len(m))
			}
			return m, err
		}
	}
}

// readBody reads body to its end through reads of n bytes, or through its
// WriteTo if n is 0, retrying timeouts (a bounded number of times). It
// returns the payload, empty and non-nil if there is none.
func readBody(body io.Reader, n int) ([]byte, error) {
	msg := []byte{}
	buf := make([]byte, n)
	for range 1 << 20 {
		var err error
		if n == 0 {
			var b bytes.Buffer
			_, err = body.(io.WriterTo).WriteTo(&b)
			msg = append(msg, b.Bytes()...)
			if err == nil {
				return msg, nil
			}
		} else {
			var k int
			k, err = body.Read(buf)
			msg = append(msg, buf[:k]...)
			if err == io.EOF {
				return msg, nil
			}
		}
		if err != nil && !isTimeout(err) {
			return msg, err
		}
	}
	return msg, errors.New("readBody: no end after 2^20 reads")
}

// isTimeout reports the timeouts of iotest.TimeoutReader and of deadlines.
func isTimeout(err error) bool {
	return errors.Is(err, iotest.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded)
}

// TestReadPartialData checks that every read API returns whole messages
// through every adversarial reader, for every header format.
func TestReadPartialData(t *testing.T) {
	t.Parallel()
	for _, h := range headers {
		msgs := testMessages(int(min(h.MaxLength(), 1<<20)))
		stream := encode(t, h, msgs...)
		for _, api := range readAPIs {
			for _, rm := range readMakers {
				t.Run(fmt.Sprintf("%v/%s/%s", h, api.name, rm.name), func(t *testing.T) {
					t.Parallel()
					read := api.read(rm.fn(bytes.NewReader(stream)), frame.WithHeader(h))
					got, err := collect(t, read)
					if err != io.EOF {
						t.Fatalf("after %d messages: err = %v, want io.EOF", len(got), err)
					}
					if diff := diffMessages(msgs, got); diff != "" {
						t.Errorf("messages (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// TestRecvMessagePartialData is TestReadPartialData for the unbuffered
// RecvMessage. It cannot resume after a timeout in the middle of a frame
// (it keeps no state), so through TimeoutReader it must report the timeout
// and never return part of a message as if it were whole.
func TestRecvMessagePartialData(t *testing.T) {
	t.Parallel()
	msgs := testMessages(1 << 20)
	stream := encode(t, frame.Uint32BE, msgs...)
	for _, rm := range readMakers {
		t.Run(rm.name, func(t *testing.T) {
			t.Parallel()
			r := rm.fn(bytes.NewReader(stream))
			var got [][]byte
			var err error
			for range len(msgs) + 1 {
				var m []byte
				if m, err = frame.RecvMessage(r); err != nil {
					break
				}
				got = append(got, m)
			}
			if rm.name == "timeout" {
				if !errors.Is(err, iotest.ErrTimeout) {
					t.Fatalf("err = %v, want iotest.ErrTimeout", err)
				}
				if diff := diffMessages(msgs[:len(got)], got); diff != "" {
					t.Errorf("messages before the timeout (-want +got):\n%s", diff)
				}
				return
			}
			if err != io.EOF {
				t.Fatalf("after %d messages: err = %v, want io.EOF", len(got), err)
			}
			if diff := diffMessages(msgs, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecvMessageDoesNotOverRead checks that the unbuffered functions
// leave the bytes after the frame in the stream.
func TestRecvMessageDoesNotOverRead(t *testing.T) {
	t.Parallel()
	stream := append(encode(t, frame.Uint32BE, []byte("first")), "trailer"...)
	r := bytes.NewReader(stream)
	if m, err := frame.RecvMessage(r); err != nil || string(m) != "first" {
		t.Fatalf("RecvMessage = %q, %v; want \"first\", nil", m, err)
	}
	rest, err := frame.RecvExactly(r, 7)
	if err != nil || string(rest) != "trailer" {
		t.Fatalf("RecvExactly = %q, %v; want \"trailer\", nil", rest, err)
	}
}

// TestReadNetPipe reads what a Writer sends, flushed at odd points, over
// connections: net.Pipe, whose every Read returns what one Write gave,
// and faultnet pipes that deliver each write in pieces of random size, so
// that headers arrive split across reads. The subtests are named by seed,
// to replay one with -run.
func TestReadNetPipe(t *testing.T) {
	t.Parallel()
	pipes := []struct {
		name string
		pipe func() (net.Conn, net.Conn)
	}{
		{"net.Pipe", net.Pipe},
	}
	for seed := range uint64(4) {
		pipes = append(pipes, struct {
			name string
			pipe func() (net.Conn, net.Conn)
		}{fmt.Sprintf("faultnet/seed=%d", seed), func() (net.Conn, net.Conn) {
			return faultnet.Pipe(faultnet.Seed(seed), faultnet.RandomFragments(fragmentMax))
		}})
	}
	for _, h := range headers {
		msgs := testMessages(int(min(h.MaxLength(), 1<<20)))
		for _, p := range pipes {
			t.Run(h.String()+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				c1, c2 := p.pipe()
				defer c2.Close()
				done := make(chan error, 1)
				go func() {
					w := frame.NewWriter(c1, frame.WithHeader(h))
					for i, m := range msgs {
						if err := w.WriteMessage(m); err != nil {
							done <- err
							return
						}
						// Flush at odd points to vary the chunking.
						if i%3 == 0 {
							if err := w.Flush(); err != nil {
								done <- err
								return
							}
						}
					}
					err := w.Flush()
					c1.Close()
					done <- err
				}()
				r := frame.NewReader(c2, frame.WithHeader(h))
				got, err := collect(t, r.ReadMessage)
				if err != io.EOF {
					t.Errorf("err = %v, want io.EOF", err)
				}
				if err := <-done; err != nil {
					t.Fatalf("writer: %v", err)
				}
				if diff := diffMessages(msgs, got); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

const fragmentMax = 16

// streamEnds are the ways a connection's stream ends at an offset: closed
// by the peer, so that the reader sees the end of the stream, or reset.
var streamEnds = []struct {
	name string
	at   func(n int64) faultnet.Option
}{
	{"closed", faultnet.TruncateAfter},
	{"reset", faultnet.ResetAfter},
}

// endErr is the error a read API reports for a stream that ends (as
// streamEnds[how] makes it end) where a clean close gives closed.
func endErr(how string, closed error) error {
	if how == "reset" {
		return syscall.ECONNRESET
	}
	return closed
}

// TestEOFContract checks how every read API reports the end of a
// connection's stream, for every header: closed between messages, io.EOF;
// closed inside a header or payload, io.ErrUnexpectedEOF, on every later
// call too; reset anywhere, an error matching syscall.ECONNRESET, on
// every later call too, never taken for an end of stream.
func TestEOFContract(t *testing.T) {
	t.Parallel()
	for _, h := range headers {
		whole := encode(t, h, []byte("hello"), make([]byte, 200))
		hdrLen := h.Len(200)
		tests := []struct {
			name   string
			at     int   // where the stream ends
			n      int   // whole messages before the error
			closed error // the error if it is closed there
		}{
			{"empty stream", 0, 0, io.EOF},
			{"between messages", len(whole), 2, io.EOF},
			{"inside first header", 1, 0, io.ErrUnexpectedEOF},
			{"inside payload", len(whole) - 1, 1, io.ErrUnexpectedEOF},
			{"inside second header", h.Len(5) + 5 + hdrLen - 1, 1, io.ErrUnexpectedEOF},
			{"after second header", h.Len(5) + 5 + hdrLen, 1, io.ErrUnexpectedEOF},
		}
		for _, tt := range tests {
			if tt.name == "inside second header" && hdrLen == 1 {
				continue // a 1-byte header has no inside
			}
			for _, end := range streamEnds {
				want := endErr(end.name, tt.closed)
				for _, api := range netReadAPIs() {
					t.Run(fmt.Sprintf("%v/%s/%s/%s", h, tt.name, end.name, api.name), func(t *testing.T) {
						t.Parallel()
						read := api.read(t, cutOff(t, whole, end.at(int64(tt.at))), frame.WithHeader(h))
						got, err := collect(t, read)
						if len(got) != tt.n {
							t.Errorf("got %d messages, want %d", len(got), tt.n)
						}
						if want == io.EOF && err != io.EOF {
							t.Fatalf("err = %v, want io.EOF itself", err)
						}
						if !errors.Is(err, want) {
							t.Fatalf("err = %v, want %v", err, want)
						}
						if want != io.EOF {
							if _, err2 := read(); !errors.Is(err2, want) {
								t.Errorf("second call: err = %v, want %v again", err2, want)
							}
						}
					})
				}
			}
		}
	}
}

func TestRecvMessageEOFContract(t *testing.T) {
	t.Parallel()
	whole := encode(t, frame.Uint32BE, []byte("hello"))
	tests := []struct {
		name   string
		at     int
		closed error
	}{
		{"empty stream", 0, io.EOF},
		{"inside header", 3, io.ErrUnexpectedEOF},
		{"after header", 4, io.ErrUnexpectedEOF},
		{"inside payload", 6, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, end := range streamEnds {
			t.Run(tt.name+"/"+end.name, func(t *testing.T) {
				t.Parallel()
				want := endErr(end.name, tt.closed)
				_, err := frame.RecvMessage(cutOff(t, whole, end.at(int64(tt.at))))
				if want == io.EOF && err != io.EOF {
					t.Fatalf("err = %v, want io.EOF itself", err)
				}
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			})
		}
	}
	t.Run("RecvExactly", func(t *testing.T) {
		t.Parallel()
		if _, err := frame.RecvExactly(bytes.NewReader(nil), 3); err != io.EOF {
			t.Errorf("empty: err = %v, want io.EOF", err)
		}
		b, err := frame.RecvExactly(bytes.NewReader([]byte("ab")), 3)
		if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "ab" {
			t.Errorf("short: %q, %v; want \"ab\", io.ErrUnexpectedEOF", b, err)
		}
		b, err = frame.RecvExactly(cutOff(t, []byte("abc"), faultnet.ResetAfter(2)), 3)
		if !errors.Is(err, syscall.ECONNRESET) || string(b) != "ab" {
			t.Errorf("reset: %q, %v; want \"ab\", ECONNRESET", b, err)
		}
		if _, err := frame.RecvExactly(bytes.NewReader(nil), -1); err == nil {
			t.Error("negative count: err = nil")
		}
	})
}

// TestZeroLength checks that empty messages come back empty and non-nil
// from every API, as Python's b"" does.
func TestZeroLength(t *testing.T) {
	t.Parallel()
	for _, h := range headers {
		stream := encode(t, h, nil, nil, []byte("x"), nil)
		for _, api := range readAPIs {
			t.Run(fmt.Sprintf("%v/%s", h, api.name), func(t *testing.T) {
				t.Parallel()
				read := api.read(bytes.NewReader(stream), frame.WithHeader(h))
				for i, want := range []string{"", "", "x", ""} {
					m, err := read()
					if err != nil || m == nil || string(m) != want {
						t.Fatalf("message %d = %#v, %v; want non-nil %q", i, m, err, want)
					}
				}
			})
		}
	}
	t.Run("RecvMessage", func(t *testing.T) {
		t.Parallel()
		m, err := frame.RecvMessage(bytes.NewReader([]byte{0, 0, 0, 0}))
		if err != nil || m == nil || len(m) != 0 {
			t.Fatalf("RecvMessage = %#v, %v; want empty non-nil", m, err)
		}
		m, err = frame.RecvExactly(bytes.NewReader(nil), 0)
		if err != nil || m == nil {
			t.Fatalf("RecvExactly(0) = %#v, %v; want empty non-nil", m, err)
		}
	})
}

// TestOversize checks the oversize policy: the typed error with its
// details, sticky by default, and skipped in discard mode.
func TestOversize(t *testing.T) {
	t.Parallel()
	big := payload(1, 3000)
	stream := encode(t, frame.Uint32BE, []byte("ok"), big, []byte("after"))
	for _, bufSize := range []int{512, 4096} {
		t.Run(fmt.Sprintf("sticky/buffer%d", bufSize), func(t *testing.T) {
			t.Parallel()
			r := frame.NewReader(iotest.HalfReader(bytes.NewReader(stream)), frame.WithMaxSize(2000), frame.WithBufferSize(bufSize))
			if m, err := r.ReadMessage(); err != nil || string(m) != "ok" {
				t.Fatalf("first = %q, %v", m, err)
			}
			for range 2 {
				_, err := r.ReadMessage()
				var se *frame.SizeError
				if !errors.As(err, &se) || !errors.Is(err, frame.ErrTooLarge) {
					t.Fatalf("err = %v, want a *SizeError matching ErrTooLarge", err)
				}
				want := &frame.SizeError{Size: 3000, Max: 2000, HeaderBytes: []byte{0, 0, 0x0b, 0xb8}}
				if diff := cmp.Diff(want, se); diff != "" {
					t.Errorf("SizeError (-want +got):\n%s", diff)
				}
			}
		})
		t.Run(fmt.Sprintf("discard/buffer%d", bufSize), func(t *testing.T) {
			t.Parallel()
			r := frame.NewReader(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(stream))),
				frame.WithMaxSize(2000), frame.WithDiscardOversize(true), frame.WithBufferSize(bufSize))
			got, err := collect(t, func() ([]byte, error) {
				m, err := r.ReadMessage()
				if errors.Is(err, frame.ErrTooLarge) {
					return []byte("<too large>"), nil
				}
				return m, err
			})
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			want := [][]byte{[]byte("ok"), []byte("<too large>"), []byte("after")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("discard/truncated", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(stream[:len(stream)-1000]), frame.WithMaxSize(2000), frame.WithDiscardOversize(true))
		r.ReadMessage()
		if _, err := r.ReadMessage(); !errors.Is(err, frame.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want io.ErrUnexpectedEOF inside the skipped payload", err)
		}
	})
	t.Run("Messages/discard", func(t *testing.T) {
		t.Parallel()
		r := frame.NewReader(bytes.NewReader(stream), frame.WithMaxSize(2000), frame.WithDiscardOversize(true))
		var got []string
		for m, err := range r.Messages() {
			if err != nil {
				got = append(got, "error")
				continue
			}
			got = append(got, string(m))
		}
		if diff := cmp.Diff([]string{"ok", "error", "after"}, got); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
}

// TestMisframingHint checks that an absurd length that is really the
// start of another protocol says so.
func TestMisframingHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, want string
	}{
		{"HTTP", "GET / HTTP/1.1\r\n", "HTTP/1.x"},
		{"TLS", "\x16\x03\x01\x02\x00", "TLS"},
		{"text", "rtbu", "looks like text"},
		{"binary", "\xff\xff\xff\xff", "WithMaxSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := frame.NewReader(strings.NewReader(tt.input)).ReadMessage()
			if !errors.Is(err, frame.ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrTooLarge mentioning %q", err, tt.want)
			}
		})
	}
}

// TestResumeAfterError checks that a read error in the middle of a frame
// loses nothing: the next call resumes the frame.
func TestResumeAfterError(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{payload(1, 10), payload(2, 70000), payload(3, 3)}
	stream := encode(t, frame.Uint32BE, msgs...)
	errFlaky := errors.New("flaky")
	// Fail before every read, then deliver at most 7 bytes.
	src := bytes.NewReader(stream)
	fail := true
	flaky := readerFunc(func(p []byte) (int, error) {
		fail = !fail
		if !fail {
			return 0, errFlaky
		}
		return src.Read(p[:min(len(p), 7)])
	})
	r := frame.NewReader(flaky)
	var got [][]byte
	for range 100000 {
		m, err := r.ReadMessage()
		if errors.Is(err, errFlaky) {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(m))
	}
	if diff := diffMessages(msgs, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestReaderNoProgress checks that a reader returning (0, nil) forever
// gives io.ErrNoProgress instead of a hang.
func TestReaderNoProgress(t *testing.T) {
	t.Parallel()
	r := frame.NewReader(readerFunc(func([]byte) (int, error) { return 0, nil }))
	if _, err := r.ReadMessage(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

// TestReaderRelease checks the memory contract the echo server relies on:
// no buffer before the first read, none kept after a burst of large
// messages, none while idle after Release, and none dropped while bytes
// are pending.
func TestReaderRelease(t *testing.T) {
	t.Parallel()
	stream := encode(t, frame.Uint32BE, payload(1, 1<<20), []byte("a"), []byte("b"), payload(2, 100000))
	pr, pw := io.Pipe()
	go func() {
		pw.Write(stream[:len(stream)-50000])
		pw.Close()
	}()
	r := frame.NewReader(pr)
	if n := r.HeldBytes(); n != 0 {
		t.Fatalf("before the first read: holding %d bytes, want 0", n)
	}
	if m, err := r.ReadMessage(); err != nil || len(m) != 1<<20 {
		t.Fatalf("first: %d bytes, %v", len(m), err)
	}
	if m, err := r.ReadMessage(); err != nil || string(m) != "a" {
		t.Fatalf("second: %q, %v", m, err)
	}
	if n := r.HeldBytes(); n > 64<<10 {
		t.Errorf("after the burst: holding %d bytes, want at most the 64 KiB buffer", n)
	}
	// "b" is buffered: Release must keep it.
	r.Release()
	if m, err := r.ReadMessage(); err != nil || string(m) != "b" {
		t.Fatalf("third after Release: %q, %v", m, err)
	}
	r.Release()
	if n, b := r.HeldBytes(), r.Buffered(); n != 0 && b == 0 {
		t.Errorf("after Release with nothing buffered: holding %d bytes, want 0", n)
	}
	// The last message is cut short: the partial payload must survive
	// Release and end in io.ErrUnexpectedEOF, not a shorter message.
	_, err := r.ReadMessage()
	r.Release()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("fourth: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestReleaseMidFrame checks that Release in the middle of a frame keeps
// the frame: partial payload bytes are kept and the buffer is re-taken.
func TestReleaseMidFrame(t *testing.T) {
	t.Parallel()
	for _, n := range []int{100, 3000, 50000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			msg := payload(7, n)
			r := frame.NewReader(iotest.TimeoutReader(iotest.HalfReader(bytes.NewReader(encode(t, frame.Uint32BE, msg)))))
			var got []byte
			for i := range 10000 {
				m, err := r.ReadMessage()
				if errors.Is(err, iotest.ErrTimeout) || (i == 0 && err == nil) {
					r.Release()
				}
				if err == nil {
					got = bytes.Clone(m)
					break
				}
				if !errors.Is(err, iotest.ErrTimeout) {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("got %d bytes, want the %d-byte message", len(got), n)
			}
		})
	}
}

func TestHandoff(t *testing.T) {
	t.Parallel()
	stream := append(encode(t, frame.Uint32BE, []byte("hello")), "raw protocol bytes"...)
	r := frame.NewReader(iotest.HalfReader(bytes.NewReader(stream)))
	if m, err := r.ReadMessage(); err != nil || string(m) != "hello" {
		t.Fatalf("ReadMessage = %q, %v", m, err)
	}
	rest, err := io.ReadAll(r.Handoff())
	if err != nil || string(rest) != "raw protocol bytes" {
		t.Fatalf("Handoff read %q, %v; want \"raw protocol bytes\"", rest, err)
	}
}

// TestReset checks that Reset clears a sticky error and reads anew.
func TestReset(t *testing.T) {
	t.Parallel()
	r := frame.NewReader(bytes.NewReader([]byte{0, 0}))
	if _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	r.Reset(bytes.NewReader(encode(t, frame.Uint32BE, []byte("new"))))
	if m, err := r.ReadMessage(); err != nil || string(m) != "new" {
		t.Fatalf("after Reset: %q, %v", m, err)
	}
}

// allocLayouts are the layouts the allocation tests run with: the
// default, and ones with header fields before and after a fixed-width or
// varint length field.
var allocLayouts = []frame.Layout{
	{},
	{Offset: 1, Length: frame.Uint32BE, After: 2, Adjust: -4},
	{Length: frame.Uint24BE, After: 6},
	{Offset: 1, Length: frame.Uvarint},
}

// TestReadAllocs checks that ReadMessage allocates nothing in steady
// state, for small messages read from the buffer and for large ones read
// into pooled buffers, whatever the layout, and Header neither.
func TestReadAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: under -race, sync.Pool drops items at random")
	}
	for _, l := range allocLayouts {
		for _, n := range []int{16, 1024, 100000} {
			t.Run(fmt.Sprintf("%+v/%d", l, n), func(t *testing.T) {
				f := testFrame{make([]byte, l.Offset+l.After), payload(1, n)}
				stream := bytes.Repeat(encodeFrames(l, f), 4)
				src := bytes.NewReader(stream)
				r := frame.NewReader(src, frame.WithLayout(l))
				read := func() {
					if _, err := r.ReadMessage(); err == io.EOF {
						src.Reset(stream)
						r.ReadMessage()
					}
					if len(r.Header()) == 0 {
						t.Fatal("no Header")
					}
				}
				if allocs := testing.AllocsPerRun(200, read); allocs != 0 {
					t.Errorf("ReadMessage of %d bytes: %v allocs/op, want 0", n, allocs)
				}
				// An idle connection releases its buffers between
				// messages and takes them back from the pools.
				allocs := testing.AllocsPerRun(200, func() {
					read()
					r.Release()
				})
				if allocs != 0 {
					t.Errorf("ReadMessage+Release of %d bytes: %v allocs/op, want 0", n, allocs)
				}
			})
		}
	}
}

// TestAppendMessageReadsIntoDst: a large payload goes straight into the
// caller's buffer: the Reader takes no payload buffer of its own, and a
// buffer with room is used in place.
func TestAppendMessageReadsIntoDst(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{payload(1, 1<<20), payload(2, 300000), []byte("small")}
	r := frame.NewReader(iotest.HalfReader(bytes.NewReader(encode(t, frame.Uint32BE, msgs...))))
	buf := make([]byte, 0, 2<<20)
	for i, want := range msgs {
		got, err := r.AppendMessage(buf[:0])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %s, %v; want %s", i, describe(got), err, describe(want))
		}
		if &got[:1][0] != &buf[:1][0] {
			t.Errorf("message %d: not read into the caller's buffer", i)
		}
		if n := r.HeldBytes(); n > 64<<10 {
			t.Errorf("message %d: the Reader holds %d bytes, want only its read buffer", i, n)
		}
	}
}

// brokenReader delivers prefix, then returns count(len(p)) and no error
// on every call: a reader that makes no progress or breaks the io.Reader
// contract.
type brokenReader struct {
	prefix []byte
	count  func(n int) int
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	return b.count(len(p)), nil
}

// TestReaderBrokenSource checks every path that reads from the underlying
// reader (the buffer, a large payload, a large payload into the caller's
// memory): a reader stuck at (0, nil) gives io.ErrNoProgress, and one that
// returns an impossible count breaks the stream with a sticky error, never
// a panic.
func TestReaderBrokenSource(t *testing.T) {
	t.Parallel()
	small := encode(t, frame.Uint32BE, make([]byte, 100))[:14]
	large := encode(t, frame.Uint32BE, make([]byte, 100000))[:14]
	paths := []struct {
		name   string
		prefix []byte
		read   func(*frame.Reader) error
	}{
		{"header", nil, func(r *frame.Reader) error { _, err := r.ReadMessage(); return err }},
		{"buffered payload", small, func(r *frame.Reader) error { _, err := r.ReadMessage(); return err }},
		{"large payload", large, func(r *frame.Reader) error { _, err := r.ReadMessage(); return err }},
		{"large payload into dst", large, func(r *frame.Reader) error { _, err := r.AppendMessage(nil); return err }},
	}
	counts := []struct {
		name  string
		count func(int) int
	}{
		{"no progress", func(int) int { return 0 }},
		{"negative count", func(int) int { return -1 }},
		{"count too large", func(n int) int { return n + 1 }},
	}
	for _, p := range paths {
		for _, c := range counts {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				r := frame.NewReader(&brokenReader{prefix: bytes.Clone(p.prefix), count: c.count})
				err := p.read(r)
				if c.name == "no progress" {
					if !errors.Is(err, io.ErrNoProgress) {
						t.Fatalf("err = %v, want io.ErrNoProgress", err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), "invalid count") {
					t.Fatalf("err = %v, want an invalid count error", err)
				}
				if err2 := p.read(r); err2 != err {
					t.Errorf("second call: err = %v, want the sticky %v", err2, err)
				}
			})
		}
	}
}
