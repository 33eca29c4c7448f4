package frame_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// TestNettyExamples restates the seven examples in the documentation of
// Netty's LengthFieldBasedFrameDecoder as Layouts, with their bytes, and
// reads and writes each byte for byte: two frames back to back, then
// io.EOF.
//
// Netty's initialBytesToStrip has no counterpart: a payload never
// includes its header, and Reader.Header returns the header, so the
// examples that differ only in what they strip share a layout. Netty's
// lengthAdjustment is what the field leaves out of everything after it;
// Adjust is what it leaves out of the payload alone, so header bytes after
// the field are After, not an adjustment.
func TestNettyExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layout frame.Layout
		header []byte // of a frame whose payload is "HELLO, WORLD"
	}{
		{"2 bytes length field at offset 0, do not strip header",
			frame.Layout{Length: frame.Uint16BE}, []byte{0x00, 0x0C}},
		{"2 bytes length field at offset 0, strip header",
			frame.Layout{Length: frame.Uint16BE}, []byte{0x00, 0x0C}},
		{"2 bytes length field at offset 0, do not strip header, the length field represents the length of the whole message",
			frame.Layout{Length: frame.Uint16BE, Adjust: -2}, []byte{0x00, 0x0E}},
		{"3 bytes length field at the end of 5 bytes header, do not strip header",
			frame.Layout{Offset: 2, Length: frame.Uint24BE}, []byte{0xCA, 0xFE, 0x00, 0x00, 0x0C}},
		{"3 bytes length field at the beginning of 5 bytes header, do not strip header",
			frame.Layout{Length: frame.Uint24BE, After: 2}, []byte{0x00, 0x00, 0x0C, 0xCA, 0xFE}},
		{"2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field",
			frame.Layout{Offset: 1, Length: frame.Uint16BE, After: 1}, []byte{0xCA, 0x00, 0x0C, 0xFE}},
		{"2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field, the length field represents the length of the whole message",
			frame.Layout{Offset: 1, Length: frame.Uint16BE, After: 1, Adjust: -4}, []byte{0xCA, 0x00, 0x10, 0xFE}},
	}
	const content = "HELLO, WORLD"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			one := append(bytes.Clone(tt.header), content...)
			wire := append(bytes.Clone(one), one...)

			r := frame.NewReader(iotest.HalfReader(bytes.NewReader(wire)), frame.WithLayout(tt.layout))
			for i := range 2 {
				m, err := r.ReadMessage()
				if err != nil || string(m) != content {
					t.Fatalf("frame %d: ReadMessage = %q, %v; want %q", i, m, err, content)
				}
				if diff := cmp.Diff(tt.header, r.Header()); diff != "" {
					t.Errorf("frame %d: Header (-want +got):\n%s", i, diff)
				}
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("after two frames: err = %v, want io.EOF", err)
			}

			var out bytes.Buffer
			w := frame.NewWriter(&out, frame.WithLayout(tt.layout))
			fields := headerOf(tt.layout, tt.header)
			for range 2 {
				if err := w.WriteFrame(fields, []byte(content)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wire, out.Bytes()); diff != "" {
				t.Errorf("WriteFrame wire (-want +got):\n%s", diff)
			}

			hl, n, err := tt.layout.ParseHeader(wire)
			if err != nil || hl != len(tt.header) || n != len(content) {
				t.Errorf("ParseHeader = %d, %d, %v; want %d, %d, nil", hl, n, err, len(tt.header), len(content))
			}
			got, err := tt.layout.AppendHeader(nil, fields, len(content))
			if err != nil || !bytes.Equal(got, tt.header) {
				t.Errorf("AppendHeader = % x, %v; want % x", got, err, tt.header)
			}
		})
	}
}

// TestLayoutValidation: a Layout that cannot be right is refused with
// ErrInvalidOption by every call, naming the option, with nothing read or
// written, and by Layout's own methods.
func TestLayoutValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		l    frame.Layout
		opts []frame.Option // besides WithLayout(l)
		want string         // in the message
	}{
		{"negative Offset", frame.Layout{Offset: -1}, nil, "negative Offset"},
		{"negative After", frame.Layout{After: -1}, nil, "negative After"},
		{"unknown Length", frame.Layout{Length: frame.Header(99)}, nil, "unknown Length"},
		{"header above MaxHeaderLen", frame.Layout{Offset: 30, Length: frame.Uint32BE, After: 31}, nil, "MaxHeaderLen"},
		{"varint header above MaxHeaderLen", frame.Layout{Offset: 55, Length: frame.Uvarint}, nil, "MaxHeaderLen"},
		{"huge Offset", frame.Layout{Offset: math.MaxInt, After: math.MaxInt}, nil, "MaxHeaderLen"},
		{"every payload negative", frame.Layout{Length: frame.Uint8, Adjust: -256}, nil, "negative"},
		{"every payload negative, Uint16", frame.Layout{Length: frame.Uint16LE, Adjust: -65536}, nil, "negative"},
		{"Adjust MinInt", frame.Layout{Length: frame.Uint32BE, Adjust: math.MinInt}, nil, "negative"},
		{"every payload above the maximum", frame.Layout{Adjust: 101}, []frame.Option{frame.WithMaxSize(100)}, "maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]frame.Option{frame.WithLayout(tt.l)}, tt.opts...)
			check := func(call string, err error) {
				t.Helper()
				if !errors.Is(err, frame.ErrInvalidOption) || !strings.Contains(err.Error(), "WithLayout") || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s = %v, want ErrInvalidOption naming WithLayout and %q", call, err, tt.want)
				}
			}
			input := []byte{0, 0, 0, 1, 'x'}
			src := bytes.NewReader(input)
			r := frame.NewReader(src, opts...)
			for i := range 2 {
				_, err := r.ReadMessage()
				check(fmt.Sprintf("ReadMessage %d", i+1), err)
			}
			_, err := r.AppendMessage(nil)
			check("AppendMessage", err)
			check("SetLayout", r.SetLayout(frame.Layout{}))
			if src.Len() != len(input) || r.Header() != nil {
				t.Errorf("Reader consumed %d bytes, Header = %v", len(input)-src.Len(), r.Header())
			}

			var out bytes.Buffer
			w := frame.NewWriter(&out, opts...)
			check("WriteMessage", w.WriteMessage([]byte("x")))
			check("WriteFrame", w.WriteFrame(make([]byte, max(tt.l.Offset+tt.l.After, 0)%100), []byte("x")))
			check("WriteBatch", w.WriteBatch([]byte("x")))
			check("Flush", w.Flush())
			if out.Len() != 0 {
				t.Errorf("Writer wrote %q", out.Bytes())
			}

			c1, c2 := net.Pipe()
			defer c2.Close()
			c := frame.NewConn(c1, opts...)
			defer c.Close()
			// Nobody reads or writes the other end: a call that is
			// not refused times out instead of blocking the test.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			check("Conn.Send", c.Send(ctx, []byte("x")))
			check("Conn.SendFrame", c.SendFrame(ctx, nil, []byte("x")))
			check("Conn.SendBatch", c.SendBatch(ctx, []byte("x")))
			_, err = c.Recv(ctx)
			check("Conn.Recv", err)
			_, _, err = c.RecvFrame(ctx)
			check("Conn.RecvFrame", err)

			if tt.opts != nil {
				return // the layout alone is valid
			}
			for call, err := range map[string]error{
				"ParseHeader": func() error { _, _, err := tt.l.ParseHeader(input); return err }(),
				"AppendHeader": func() error {
					b, err := tt.l.AppendHeader([]byte("x"), nil, 1)
					if string(b) != "x" {
						t.Errorf("AppendHeader appended % x", b[1:])
					}
					return err
				}(),
				"SplitFunc":        func() error { _, _, err := tt.l.SplitFunc(100)(input, true); return err }(),
				"SetLayout":        frame.NewReader(src).SetLayout(tt.l),
				"Writer.SetLayout": frame.NewWriter(&out).SetLayout(tt.l),
			} {
				if !errors.Is(err, frame.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s = %v, want ErrInvalidOption mentioning %q", call, err, tt.want)
				}
			}
		})
	}
}

// TestLayoutLimits: the largest valid header and the Adjust that leaves
// exactly one field value are valid, and carry frames.
func TestLayoutLimits(t *testing.T) {
	t.Parallel()
	for _, l := range []frame.Layout{
		{Offset: frame.MaxHeaderLen - 14, Length: frame.Uvarint, After: 4},
		{Offset: frame.MaxHeaderLen - 4},
		{Length: frame.Uint8, Adjust: -255},
		{Length: frame.Uint64BE, Adjust: math.MinInt},
		{Length: frame.Uvarint, Adjust: 100},
	} {
		t.Run(fmt.Sprintf("%+v", l), func(t *testing.T) {
			t.Parallel()
			n := max(0, l.Adjust)
			f := testFrame{make([]byte, l.Offset+l.After), make([]byte, n)}
			var buf bytes.Buffer
			w := frame.NewWriter(&buf, frame.WithLayout(l))
			if err := w.WriteFrame(f.fields, f.payload); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if diff := cmp.Diff(encodeFrames(l, f), buf.Bytes()); diff != "" && l.Adjust != math.MinInt {
				t.Errorf("wire (-want +got):\n%s", diff)
			}
			r := frame.NewReader(&buf, frame.WithLayout(l))
			if m, err := r.ReadMessage(); err != nil || len(m) != n {
				t.Fatalf("ReadMessage = %d bytes, %v; want %d", len(m), err, n)
			}
		})
	}
}

// TestLayoutEOF: io.EOF only between frames; io.ErrUnexpectedEOF, sticky,
// anywhere inside a header (its Offset bytes, length field, After bytes)
// or payload: the stream is cut after every byte of the second frame, for
// every layout and read API.
func TestLayoutEOF(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		l := lt.layout
		frames := []testFrame{
			{payload(1, l.Offset+l.After), payload(2, max(5, l.Adjust))},
			{payload(3, l.Offset+l.After), payload(4, max(200, l.Adjust))},
		}
		wire := encodeFrames(l, frames...)
		first := len(encodeFrames(l, frames[0]))
		hdr := len(refHeader(l, frames[1]))
		field := hdr - l.Offset - l.After
		part := func(cut int) string {
			switch {
			case cut == 0:
				return "between frames"
			case cut <= l.Offset:
				return "in the Offset bytes"
			case cut < l.Offset+field:
				return "in the length field"
			case cut < hdr:
				return "in the After bytes"
			case cut < len(wire)-first:
				return "in the payload"
			}
			return "after the last frame"
		}
		for _, api := range readAPIs {
			t.Run(lt.name+"/"+api.name, func(t *testing.T) {
				t.Parallel()
				seen := map[string]bool{}
				for cut := range len(wire) - first + 1 {
					where := part(cut)
					seen[where] = true
					want, n := io.ErrUnexpectedEOF, 1
					if cut == 0 || cut == len(wire)-first {
						want, n = io.EOF, 1+min(cut, 1)
					}
					read := api.read(bytes.NewReader(wire[:first+cut]), frame.WithLayout(l))
					got, err := collect(t, read)
					if len(got) != n {
						t.Errorf("cut %s (%d bytes): got %d messages, want %d", where, cut, len(got), n)
					}
					if want == io.EOF && err != io.EOF {
						t.Fatalf("cut %s (%d bytes): err = %v, want io.EOF itself", where, cut, err)
					}
					if !errors.Is(err, want) {
						t.Fatalf("cut %s (%d bytes): err = %v, want %v", where, cut, err, want)
					}
					if want == io.ErrUnexpectedEOF {
						if _, err2 := read(); !errors.Is(err2, io.ErrUnexpectedEOF) {
							t.Errorf("cut %s (%d bytes): second call: err = %v, want the sticky io.ErrUnexpectedEOF", where, cut, err2)
						}
					}
				}
				for part, has := range map[string]bool{
					"in the Offset bytes": l.Offset > 0, "in the length field": field > 1,
					"in the After bytes": l.After > 0, "in the payload": true,
				} {
					if has && !seen[part] {
						t.Errorf("no cut %s", part)
					}
				}
			})
		}
	}
}

// TestNegativePayload: a length field whose value with Adjust gives a
// negative payload is ErrInvalidHeader, sticky, once the field is
// complete, for the Reader, SplitFunc and ParseHeader; the value that
// gives zero is an empty message.
func TestNegativePayload(t *testing.T) {
	t.Parallel()
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"value 3", []byte{'Q', 0, 0, 0, 3, 'x', 'y'}, frame.ErrInvalidHeader},
		{"value 0", []byte{'Q', 0, 0, 0, 0}, frame.ErrInvalidHeader},
		{"value 4", []byte{'Q', 0, 0, 0, 4}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := frame.NewReader(iotest.OneByteReader(bytes.NewReader(tt.input)), frame.WithLayout(pg))
			m, err := r.ReadMessage()
			if tt.want == nil {
				if err != nil || m == nil || len(m) != 0 {
					t.Fatalf("ReadMessage = %#v, %v; want an empty message", m, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadMessage: err = %v, want %v", err, tt.want)
			}
			if _, err2 := r.ReadMessage(); err2 != err {
				t.Errorf("second call: err = %v, want the sticky %v", err2, err)
			}
			if _, _, err := pg.ParseHeader(tt.input[:5]); !errors.Is(err, tt.want) {
				t.Errorf("ParseHeader: err = %v, want %v", err, tt.want)
			}
			if _, _, err := pg.SplitFunc(100)(tt.input[:5], false); !errors.Is(err, tt.want) {
				t.Errorf("SplitFunc: err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("reported before the After bytes", func(t *testing.T) {
		t.Parallel()
		l := frame.Layout{Length: frame.Uint8, After: 4, Adjust: -10}
		r := frame.NewReader(bytes.NewReader([]byte{9}), frame.WithLayout(l))
		if _, err := r.ReadMessage(); !errors.Is(err, frame.ErrInvalidHeader) {
			t.Fatalf("err = %v, want ErrInvalidHeader", err)
		}
	})
}

// TestLayoutMaxExact: the maximum counts the payload only, whatever the
// layout: a payload of exactly the maximum passes both ways, one byte more
// is a *SizeError, read (with the header bytes and the layout, before the
// payload arrives) and written (with nothing written).
func TestLayoutMaxExact(t *testing.T) {
	t.Parallel()
	const limit = 1000
	for _, l := range []frame.Layout{
		{Offset: 1, Length: frame.Uint32BE, Adjust: -4},
		{Offset: 3, Length: frame.Uint32BE, Adjust: 1},
		{Offset: 1, Length: frame.Uint24BE, After: 16, Adjust: -20},
		{Offset: 1, Length: frame.Uvarint},
	} {
		t.Run(fmt.Sprintf("%+v", l), func(t *testing.T) {
			t.Parallel()
			fields := payload(9, l.Offset+l.After)
			at := testFrame{fields, payload(1, limit)}
			above := testFrame{fields, payload(2, limit+1)}
			// Only the header of the oversize frame: the error must
			// come before its payload is needed.
			wire := append(encodeFrames(l, at), refHeader(l, above)...)
			r := frame.NewReader(bytes.NewReader(wire), frame.WithLayout(l), frame.WithMaxSize(limit))
			if m, err := r.ReadMessage(); err != nil || !bytes.Equal(m, at.payload) {
				t.Fatalf("at the maximum: %s, %v", describe(m), err)
			}
			_, err := r.ReadMessage()
			want := &frame.SizeError{Size: limit + 1, Max: limit, Layout: l, HeaderBytes: refHeader(l, above)}
			var se *frame.SizeError
			if !errors.As(err, &se) {
				t.Fatalf("one above: err = %v, want a *SizeError", err)
			}
			if diff := cmp.Diff(want, se); diff != "" {
				t.Errorf("SizeError (-want +got):\n%s", diff)
			}

			var out countingWriter
			w := frame.NewWriter(&out, frame.WithLayout(l), frame.WithMaxSize(limit))
			err = w.WriteFrame(fields, above.payload)
			if !errors.As(err, &se) || se.Size != limit+1 || se.Max != limit || w.Buffered() != 0 {
				t.Fatalf("writing one above: err = %v, %d bytes buffered", err, w.Buffered())
			}
			if err := w.WriteFrame(fields, at.payload); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if diff := cmp.Diff(encodeFrames(l, at), out.Bytes()); diff != "" || out.writes != 1 {
				t.Errorf("%d writes, wire (-want +got):\n%s", out.writes, diff)
			}
		})
	}
}

// TestWriteFrameRefusals: what a layout cannot carry is refused before any
// byte is written, with a matchable error, and the Writer stays usable.
func TestWriteFrameRefusals(t *testing.T) {
	t.Parallel()
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	amqp := frame.Layout{Offset: 3, Length: frame.Uint32BE, Adjust: 1}
	u8 := frame.Layout{Offset: 1, Length: frame.Uint8, Adjust: -2}
	tests := []struct {
		name   string
		layout frame.Layout
		write  func(*frame.Writer) error
		want   error
		say    string // in the message
	}{
		{"fields too short", pg, func(w *frame.Writer) error { return w.WriteFrame(nil, []byte("x")) }, frame.ErrLayoutMismatch, "takes 1"},
		{"fields too long", pg, func(w *frame.Writer) error { return w.WriteFrame([]byte("QQ"), []byte("x")) }, frame.ErrLayoutMismatch, "takes 1"},
		{"fields on the default layout", frame.Layout{}, func(w *frame.Writer) error { return w.WriteFrame([]byte("Q"), []byte("x")) }, frame.ErrLayoutMismatch, "takes 0"},
		{"WriteMessage with fields", pg, func(w *frame.Writer) error { return w.WriteMessage([]byte("x")) }, frame.ErrLayoutMismatch, "use WriteFrame"},
		{"WriteBatch with fields", pg, func(w *frame.Writer) error { return w.WriteBatch([]byte("x")) }, frame.ErrLayoutMismatch, "use WriteFrame"},
		{"payload shorter than Adjust", amqp, func(w *frame.Writer) error { return w.WriteFrame([]byte("abc"), nil) }, frame.ErrLayoutMismatch, "Adjust 1"},
		{"field cannot express it", u8, func(w *frame.Writer) error { return w.WriteFrame([]byte("t"), make([]byte, 254)) }, frame.ErrTooLarge, "cannot express"},
		{"above the maximum", pg, func(w *frame.Writer) error { return w.WriteFrame([]byte("Q"), make([]byte, 1001)) }, frame.ErrTooLarge, "WithMaxSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out countingWriter
			w := frame.NewWriter(&out, frame.WithLayout(tt.layout), frame.WithMaxSize(1000), frame.WithBufferSize(512))
			ok := testFrame{make([]byte, tt.layout.Offset+tt.layout.After), bytes.Repeat([]byte("k"), max(1, tt.layout.Adjust))}
			if err := w.WriteFrame(ok.fields, ok.payload); err != nil {
				t.Fatal(err)
			}
			err := tt.write(w)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.say) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.want, tt.say)
			}
			if out.writes != 0 || w.Buffered() != len(encodeFrames(tt.layout, ok)) {
				t.Fatalf("after the refusal: %d writes, %d bytes buffered", out.writes, w.Buffered())
			}
			if err := w.WriteFrame(ok.fields, ok.payload); err != nil {
				t.Fatalf("after the refusal: %v", err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(encodeFrames(tt.layout, ok, ok), out.Bytes()); diff != "" {
				t.Errorf("wire (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseAppendHeader: ParseHeader and AppendHeader agree with the
// reference encoding for every layout, ParseHeader reports an incomplete
// header at every cut, and a payload length beyond int is a *SizeError.
func TestParseAppendHeader(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			l := lt.layout
			for _, f := range layoutFrames(l, 1<<20) {
				want := refHeader(l, f)
				got, err := l.AppendHeader([]byte("pre"), f.fields, len(f.payload))
				if err != nil || !bytes.Equal(got, append([]byte("pre"), want...)) {
					t.Fatalf("AppendHeader(%d) = % x, %v; want pre + % x", len(f.payload), got, err, want)
				}
				hl, n, err := l.ParseHeader(append(want, 0xEE))
				if err != nil || hl != len(want) || n != len(f.payload) {
					t.Fatalf("ParseHeader = %d, %d, %v; want %d, %d", hl, n, err, len(want), len(f.payload))
				}
				for cut := range len(want) {
					if hl, n, err := l.ParseHeader(want[:cut]); hl != 0 || n != 0 || err != nil {
						t.Fatalf("ParseHeader of %d of %d header bytes = %d, %d, %v; want 0, 0, nil", cut, len(want), hl, n, err)
					}
				}
			}
		})
	}
	t.Run("AppendHeader refusals", func(t *testing.T) {
		t.Parallel()
		amqp := frame.Layout{Offset: 3, Length: frame.Uint32BE, Adjust: 1}
		u8 := frame.Layout{Length: frame.Uint8, Adjust: -2}
		for _, tt := range []struct {
			name   string
			l      frame.Layout
			fields []byte
			n      int
			want   error
		}{
			{"payload shorter than Adjust", amqp, []byte("abc"), 0, frame.ErrLayoutMismatch},
			{"negative payload length", frame.Layout{}, nil, -1, frame.ErrLayoutMismatch},
			{"fields of the wrong size", amqp, []byte("ab"), 5, frame.ErrLayoutMismatch},
			{"beyond the field", u8, nil, 254, frame.ErrTooLarge},
		} {
			b, err := tt.l.AppendHeader([]byte("x"), tt.fields, tt.n)
			if !errors.Is(err, tt.want) || string(b) != "x" {
				t.Errorf("%s: AppendHeader = %q, %v; want \"x\", %v", tt.name, b, err, tt.want)
			}
		}
		if b, err := u8.AppendHeader(nil, nil, 253); err != nil || !bytes.Equal(b, []byte{255}) {
			t.Errorf("the largest payload: AppendHeader = % x, %v; want ff", b, err)
		}
	})
	t.Run("beyond int", func(t *testing.T) {
		t.Parallel()
		l := frame.Layout{Offset: 1, Length: frame.Uint64BE}
		b := append([]byte{7}, refField(frame.Uint64BE, math.MaxUint64)...)
		_, _, err := l.ParseHeader(b)
		var se *frame.SizeError
		if !errors.As(err, &se) || se.Size != math.MaxUint64 || !bytes.Equal(se.HeaderBytes, b) {
			t.Fatalf("err = %v, want a *SizeError for 2^64-1 with the header", err)
		}
	})
}

// TestLayoutSplitFunc: a Scanner with Layout.SplitFunc yields the payloads
// (the token never includes the header) that a Reader returns, through
// adversarial readers, for every layout.
func TestLayoutSplitFunc(t *testing.T) {
	t.Parallel()
	for _, lt := range layouts {
		frames := layoutFrames(lt.layout, 1<<20)
		wire := encodeFrames(lt.layout, frames...)
		for _, rm := range readMakers[:4] { // a Scanner stops at a timeout by design
			t.Run(lt.name+"/"+rm.name, func(t *testing.T) {
				t.Parallel()
				sc := bufio.NewScanner(rm.fn(bytes.NewReader(wire)))
				sc.Buffer(nil, 1<<20+frame.MaxHeaderLen)
				sc.Split(lt.layout.SplitFunc(1 << 20))
				var got [][]byte
				for sc.Scan() {
					got = append(got, bytes.Clone(sc.Bytes()))
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if diff := diffMessages(payloads(frames), got); diff != "" {
					t.Errorf("tokens (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("oversize", func(t *testing.T) {
		t.Parallel()
		l := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
		wire := encodeFrames(l, testFrame{[]byte("Q"), make([]byte, 101)})
		_, _, err := l.SplitFunc(100)(wire, false)
		var se *frame.SizeError
		if !errors.As(err, &se) || se.Size != 101 || !bytes.Equal(se.HeaderBytes, wire[:5]) || se.Layout != l {
			t.Fatalf("err = %#v, want a *SizeError for 101 bytes with the header and layout", err)
		}
	})
}

// TestMQTTLimit: MQTT's remaining length is a varint of at most 4 bytes,
// up to 268,435,455; with that maximum, the largest 4-byte claim is read
// as a payload in progress and the smallest 5-byte one is too large.
func TestMQTTLimit(t *testing.T) {
	t.Parallel()
	mqtt := frame.Layout{Offset: 1, Length: frame.Uvarint}
	const mqttMax = 268435455
	tests := []struct {
		name  string
		claim uint64
		want  error
	}{
		{"largest 4-byte length", mqttMax, io.ErrUnexpectedEOF},
		{"5-byte length", mqttMax + 1, frame.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wire := append([]byte{0x30}, refField(frame.Uvarint, tt.claim)...)
			wire = append(wire, "topic and payload"...)
			r := frame.NewReader(bytes.NewReader(wire), frame.WithLayout(mqtt), frame.WithMaxSize(mqttMax))
			if _, err := r.ReadMessage(); !errors.Is(err, tt.want) {
				t.Fatalf("claim %d: err = %v, want %v", tt.claim, err, tt.want)
			}
		})
	}
}
