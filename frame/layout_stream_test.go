package frame_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// TestLayoutRoundTrip: for every layout, WriteFrame writes exactly the
// reference encoding, and every read API returns the payloads, with
// Header returning each frame's header, through every adversarial reader.
func TestLayoutRoundTrip(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		l := lt.layout
		frames := layoutFrames(l, 1<<20)
		want := encodeFrames(l, frames...)
		var hdrs [][]byte
		for _, f := range frames {
			hdrs = append(hdrs, refHeader(l, f))
		}
		t.Run(lt.name+"/WriteFrame", func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			w := frame.NewWriter(&out, frame.WithLayout(l), frame.WithBufferSize(512))
			for _, f := range frames {
				if err := w.WriteFrame(f.fields, f.payload); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, out.Bytes()) {
				t.Fatalf("wire (%d bytes) differs from the reference encoding (%d bytes)", out.Len(), len(want))
			}
		})
		for _, api := range readerAPIs {
			for _, rm := range readMakers {
				t.Run(fmt.Sprintf("%s/%s/%s", lt.name, api.name, rm.name), func(t *testing.T) {
					t.Parallel()
					r := frame.NewReader(rm.fn(bytes.NewReader(want)), append(api.opts, frame.WithLayout(l))...)
					read := api.on(r)
					var gotHdrs [][]byte
					got, err := collect(t, func() ([]byte, error) {
						m, err := read()
						if err == nil {
							gotHdrs = append(gotHdrs, bytes.Clone(r.Header()))
						}
						return m, err
					})
					if err != io.EOF {
						t.Fatalf("after %d messages: err = %v, want io.EOF", len(got), err)
					}
					if diff := diffMessages(payloads(frames), got); diff != "" {
						t.Errorf("payloads (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(hdrs, gotHdrs); diff != "" {
						t.Errorf("headers (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// readerAPIs are the read APIs of a Reader, for tests that need the
// Reader itself (for its Header): opts to build it with, and its read
// function.
var readerAPIs = []struct {
	name string
	opts []frame.Option
	on   func(r *frame.Reader) func() ([]byte, error)
}{
	{"ReadMessage", nil, func(r *frame.Reader) func() ([]byte, error) { return r.ReadMessage }},
	{"ReadMessage/buffer512", []frame.Option{frame.WithBufferSize(512)}, func(r *frame.Reader) func() ([]byte, error) { return r.ReadMessage }},
	{"AppendMessage", nil, func(r *frame.Reader) func() ([]byte, error) {
		var buf []byte
		return func() ([]byte, error) {
			var err error
			buf, err = r.AppendMessage(buf[:0])
			return buf, err
		}
	}},
	{"Messages", nil, func(r *frame.Reader) func() ([]byte, error) {
		return func() ([]byte, error) {
			// Resuming the iteration after an error is the
			// documented way to retry.
			for m, err := range r.Messages() {
				return m, err
			}
			return nil, io.EOF
		}
	}},
}

// TestLayoutResumeAnywhere: a timeout before every byte, so at every
// position of every header part (Offset bytes, length field, After bytes)
// and payload, loses nothing, for every layout and read API; Header is nil
// after each timeout and the frame's header once it is returned. Payloads
// larger than the buffer take the large-payload paths.
func TestLayoutResumeAnywhere(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		l := lt.layout
		var frames []testFrame
		for i, n := range []int{0, 1, 200, 700, 1500} {
			if n = max(n, l.Adjust); n <= maxPayload(l, n) {
				frames = append(frames, testFrame{payload(uint64(i), l.Offset+l.After), payload(uint64(10+i), n)})
			}
		}
		wire := encodeFrames(l, frames...)
		for _, api := range readerAPIs {
			t.Run(lt.name+"/"+api.name, func(t *testing.T) {
				t.Parallel()
				opts := append([]frame.Option{frame.WithLayout(l), frame.WithBufferSize(512)}, api.opts...)
				r := frame.NewReader(&stutterReader{r: bytes.NewReader(wire)}, opts...)
				got, hdrs, err := readFrames(t, r, api.on(r), 4*len(wire)+10)
				if err != io.EOF {
					t.Fatalf("after %d messages: err = %v, want io.EOF", len(got), err)
				}
				if diff := diffMessages(payloads(frames), got); diff != "" {
					t.Errorf("payloads (-want +got):\n%s", diff)
				}
				for i, f := range frames {
					if i < len(hdrs) && !bytes.Equal(hdrs[i], refHeader(l, f)) {
						t.Errorf("frame %d: Header = % x, want % x", i, hdrs[i], refHeader(l, f))
					}
				}
			})
		}
	}
}

// TestLayoutTimeoutAtEveryOffset: a read deadline that passes when the
// stream has delivered exactly k bytes, for every k through two small
// frames and the header of a large one (every byte of the header fields,
// the length field and the payloads), and inside the large payload, loses
// nothing, for every layout and read API. The messages that end by k come
// back before the timeout, Header is nil after it (but for a body being
// read), and once the stream resumes every message comes back whole with
// its header. Reads take whatever has arrived, so the timeout falls with
// a header or a payload part in the buffer, or inside a payload being
// read straight into its destination.
func TestLayoutTimeoutAtEveryOffset(t *testing.T) {
	t.Parallel()
	apis := append(readerAPIs[:len(readerAPIs):len(readerAPIs)], struct {
		name string
		opts []frame.Option
		on   func(r *frame.Reader) func() ([]byte, error)
	}{"NextReader", nil, resumedBodies})
	for _, lt := range layouts {
		l := lt.layout
		var frames []testFrame
		for i, n := range []int{0, 3, 700} {
			if n = max(n, l.Adjust); n <= maxPayload(l, n) {
				frames = append(frames, testFrame{payload(uint64(i), l.Offset+l.After), payload(uint64(10+i), n)})
			}
		}
		wire := encodeFrames(l, frames...)
		var ends []int // where each frame ends
		for i := range frames {
			ends = append(ends, len(encodeFrames(l, frames[:i+1]...)))
		}
		last := frames[len(frames)-1]
		offsets := make([]int, len(wire)-len(last.payload)+1)
		for k := range offsets {
			offsets[k] = k
		}
		offsets = append(offsets, len(wire)-len(last.payload)/2, len(wire)-1)
		for _, api := range apis {
			t.Run(lt.name+"/"+api.name, func(t *testing.T) {
				t.Parallel()
				inBubble(t, func(t *testing.T) {
					for _, k := range offsets {
						c := stallAt(t, wire, k)
						r := frame.NewReader(c, append(api.opts, frame.WithLayout(l), frame.WithBufferSize(512))...)
						read := api.on(r)
						var got, hdrs [][]byte
						timeouts := 0
						for range 2*len(frames) + 2 {
							m, err := read()
							if errors.Is(err, os.ErrDeadlineExceeded) {
								timeouts++
								before := 0
								for before < len(ends) && ends[before] <= k {
									before++
								}
								if len(got) != before {
									t.Errorf("stall at %d: %d messages before the timeout, want %d", k, len(got), before)
								}
								if h := r.Header(); h != nil && api.name != "NextReader" {
									t.Errorf("stall at %d: Header = % x after the timeout, want nil", k, h)
								}
								c.resume()
								continue
							}
							if err == io.EOF {
								break
							}
							if err != nil {
								t.Fatalf("stall at %d: %v", k, err)
							}
							got = append(got, bytes.Clone(m))
							hdrs = append(hdrs, bytes.Clone(r.Header()))
						}
						if timeouts != 1 {
							t.Errorf("stall at %d: %d timeouts, want 1", k, timeouts)
						}
						if diff := diffMessages(payloads(frames), got); diff != "" {
							t.Fatalf("stall at %d: payloads (-want +got):\n%s", k, diff)
						}
						for i, f := range frames {
							if !bytes.Equal(hdrs[i], refHeader(l, f)) {
								t.Errorf("stall at %d: frame %d: Header = % x, want % x", k, i, hdrs[i], refHeader(l, f))
							}
						}
					}
				})
			})
		}
	}
}

// resumedBodies reads each message with NextReader and its body in reads
// of 100 bytes. An error inside the body is returned with the body kept,
// so that the next call goes on reading it.
func resumedBodies(r *frame.Reader) func() ([]byte, error) {
	var body io.Reader
	var msg []byte
	buf := make([]byte, 100)
	return func() ([]byte, error) {
		if body == nil {
			_, b, err := r.NextReader()
			if err != nil {
				return nil, err
			}
			body, msg = b, []byte{}
		}
		for range 1 << 20 {
			n, err := body.Read(buf)
			msg = append(msg, buf[:n]...)
			if err == io.EOF {
				body = nil
				return msg, nil
			}
			if err != nil {
				return nil, err
			}
		}
		return nil, errors.New("resumedBodies: no end of the body after 2^20 reads")
	}
}

// TestLayoutDiscardOversize: WithDiscardOversize skips exactly the
// oversize payload, whatever the layout, through a reader that times out
// before every byte, and the frames after it read normally.
func TestLayoutDiscardOversize(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		l := lt.layout
		if maxPayload(l, 2000) < 2000 {
			continue // the field cannot express the oversize payload
		}
		fields := payload(5, l.Offset+l.After)
		frames := []testFrame{{fields, []byte("before-the-big-one")}, {fields, payload(6, 1500)}, {fields, []byte("after-the-big-one")}}
		wire := encodeFrames(l, frames...)
		for _, bufSize := range []int{512, 4096} {
			t.Run(fmt.Sprintf("%s/buffer%d", lt.name, bufSize), func(t *testing.T) {
				t.Parallel()
				r := frame.NewReader(&stutterReader{r: bytes.NewReader(wire)},
					frame.WithLayout(l), frame.WithMaxSize(1000), frame.WithDiscardOversize(true), frame.WithBufferSize(bufSize))
				var got []string
				for range 4*len(wire) + 10 {
					m, err := r.ReadMessage()
					if errors.Is(err, os.ErrDeadlineExceeded) {
						continue
					}
					var se *frame.SizeError
					if errors.As(err, &se) {
						if se.Size != 1500 || !bytes.Equal(se.HeaderBytes, refHeader(l, frames[1])) || r.Header() != nil {
							t.Fatalf("SizeError %+v, Header % x; want 1500 bytes, the header as sent, no Header", se, r.Header())
						}
						got = append(got, "<too large>")
						continue
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if i := min(len(got), 2); !bytes.Equal(r.Header(), refHeader(l, frames[i])) {
						t.Errorf("message %d: Header = % x, want % x", i, r.Header(), refHeader(l, frames[i]))
					}
					got = append(got, string(m))
				}
				want := []string{"before-the-big-one", "<too large>", "after-the-big-one"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestLayoutHandoff: Buffered counts what a Reader holds beyond the last
// message and Handoff gives exactly those bytes back, after whole frames
// and in the middle of one, for every layout.
func TestLayoutHandoff(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			l := lt.layout
			f := testFrame{payload(1, l.Offset+l.After), bytes.Repeat([]byte("p"), max(3, l.Adjust))}
			one := encodeFrames(l, f)
			wire := append(bytes.Clone(one), "raw protocol bytes"...)
			r := frame.NewReader(iotest.HalfReader(bytes.NewReader(wire)), frame.WithLayout(l))
			if m, err := r.ReadMessage(); err != nil || !bytes.Equal(m, f.payload) {
				t.Fatalf("ReadMessage = %q, %v", m, err)
			}
			if !bytes.Equal(r.Header(), refHeader(l, f)) {
				t.Errorf("Header = % x, want % x", r.Header(), refHeader(l, f))
			}
			buffered := r.Buffered()
			rest, err := io.ReadAll(r.Handoff())
			if err != nil || string(rest) != "raw protocol bytes" {
				t.Fatalf("Handoff read %q, %v; want \"raw protocol bytes\"", rest, err)
			}
			if buffered > len(rest) {
				t.Errorf("Buffered = %d before Handoff, more than the %d bytes left", buffered, len(rest))
			}

			// In the middle of a frame: the header is consumed, its
			// payload bytes come first.
			src := bytes.NewReader(wire)
			r = frame.NewReader(io.LimitReader(src, int64(len(one)-1)), frame.WithLayout(l))
			if _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut frame: err = %v, want io.ErrUnexpectedEOF", err)
			}
			if got, want := r.Buffered(), len(f.payload)-1; got != want {
				t.Errorf("Buffered = %d in the middle of the payload, want %d", got, want)
			}
		})
	}
}

// TestWriteFrameTimeoutResumes: over a connection whose peer reads
// slowly, so that writes time out having written part of their bytes,
// frames with header fields (small ones gathered in the buffer, large
// ones written around it) arrive whole and in order once Flush is
// retried: the wire is the reference encoding.
func TestWriteFrameTimeoutResumes(t *testing.T) {
	t.Parallel()
	l := frame.Layout{Offset: 1, Length: frame.Uint24BE, After: 2, Adjust: -6}
	var frames []testFrame
	for i, n := range []int{0, 10, 200, 200, 200, 200, 200, 3000, 200, 200, 70000, 200, 200, 5, 20000} {
		frames = append(frames, testFrame{payload(uint64(i), 3), payload(uint64(100+i), n)})
	}
	for _, tw := range []struct {
		name string
		wrap func(net.Conn) io.Writer
	}{
		{"Write", func(c net.Conn) io.Writer { return c }},
		{"WriteBuffers", func(c net.Conn) io.Writer { return &gatherWriter{Conn: c} }},
	} {
		t.Run(tw.name, func(t *testing.T) {
			t.Parallel()
			inBubble(t, func(t *testing.T) {
				peer := newSlowPeer(t, 1000)
				w := frame.NewWriter(tw.wrap(peer.w), frame.WithLayout(l), frame.WithBufferSize(512))
				for _, f := range frames {
					// After a timeout the frame has been taken.
					err := peer.try(func() error { return w.WriteFrame(f.fields, f.payload) })
					if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatal(err)
					}
				}
				peer.flush(t, w)
				if want, got := encodeFrames(l, frames...), peer.received(t); !bytes.Equal(want, got) {
					t.Fatalf("wire (%d bytes) differs from the reference encoding (%d bytes)", len(got), len(want))
				}
			})
		})
	}
}
