package frame_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/frame"
)

// TestHeaderEncoding pins the bytes of each format against
// encoding/binary, which is how Python's struct and protobuf write them.
func TestHeaderEncoding(t *testing.T) {
	t.Parallel()
	lengths := []uint64{0, 1, 127, 128, 255, 256, 16383, 16384, 65535, 65536, 1<<24 - 1, 1 << 24, 0x123456, math.MaxUint32, math.MaxUint32 + 1, 0x0102030405060708, math.MaxUint64}
	for _, h := range headers {
		for _, n := range lengths {
			want := refField(h, n)
			t.Run(fmt.Sprintf("%v/%d", h, n), func(t *testing.T) {
				t.Parallel()
				got, err := h.AppendLength(nil, n)
				if n > h.MaxLength() {
					if !errors.Is(err, frame.ErrTooLarge) {
						t.Fatalf("AppendLength = %x, %v; want ErrTooLarge", got, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("AppendLength (-want +got):\n%s", diff)
				}
				if l := h.Len(n); l != len(want) {
					t.Errorf("Len = %d, want %d", l, len(want))
				}
				gotN, hl, err := h.ParseLength(append(got, 0xAA))
				if err != nil || gotN != n || hl != len(want) {
					t.Errorf("ParseLength = %d, %d, %v; want %d, %d, nil", gotN, hl, err, n, len(want))
				}
				if _, hl, err := h.ParseLength(got[:len(got)-1]); hl != 0 || err != nil {
					t.Errorf("ParseLength of a truncated header = _, %d, %v; want 0, nil", hl, err)
				}
			})
		}
	}
}

// TestUvarintIsProtobufDelimited checks that Uvarint frames are
// byte-identical to protobuf's delimited format, AppendUvarint(len) +
// payload, on the write side and on the read side.
func TestUvarintIsProtobufDelimited(t *testing.T) {
	t.Parallel()
	var want []byte
	msgs := testMessages(1 << 20)
	for _, m := range msgs {
		want = binary.AppendUvarint(want, uint64(len(m)))
		want = append(want, m...)
	}
	var buf bytes.Buffer
	w := frame.NewWriter(&buf, frame.WithHeader(frame.Uvarint))
	for _, m := range msgs {
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Fatal("Uvarint frames differ from binary.AppendUvarint(len) + payload")
	}
	got, err := collect(t, frame.NewReader(bytes.NewReader(want), frame.WithHeader(frame.Uvarint)).ReadMessage)
	if err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	if diff := diffMessages(msgs, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// TestMalformedUvarint checks that a varint that is too long, overflows,
// or is not in its shortest form is ErrInvalidHeader, sticky, and that a
// varint cut short by EOF is io.ErrUnexpectedEOF.
func TestMalformedUvarint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"eleven bytes", bytes.Repeat([]byte{0x80}, 11), frame.ErrInvalidHeader},
		{"overflow in the tenth byte", append(bytes.Repeat([]byte{0xff}, 9), 0x02), frame.ErrInvalidHeader},
		{"padded zero", []byte{0x80, 0x00}, frame.ErrInvalidHeader},
		{"padded one", []byte{0x81, 0x80, 0x00, 'x'}, frame.ErrInvalidHeader},
		{"cut short", []byte{0x80, 0x80}, io.ErrUnexpectedEOF},
		{"above the maximum", binary.AppendUvarint(nil, math.MaxUint64), frame.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := frame.NewReader(bytes.NewReader(tt.input), frame.WithHeader(frame.Uvarint))
			for i := range 2 {
				if _, err := r.ReadMessage(); !errors.Is(err, tt.want) {
					t.Fatalf("call %d: err = %v, want %v", i+1, err, tt.want)
				}
			}
		})
	}
	t.Run("max uint64 is valid", func(t *testing.T) {
		t.Parallel()
		n, hl, err := frame.Uvarint.ParseLength(binary.AppendUvarint(nil, math.MaxUint64))
		if err != nil || n != math.MaxUint64 || hl != 10 {
			t.Fatalf("ParseLength = %d, %d, %v", n, hl, err)
		}
	})
}

func TestHeaderString(t *testing.T) {
	t.Parallel()
	var got []string
	for _, h := range append(headers, frame.Header(200)) {
		got = append(got, h.String())
	}
	want := []string{
		"Uint32BE", "Uint16BE", "Uint64BE", "Uint32LE", "Uvarint",
		"Uint8", "Uint16LE", "Uint24BE", "Uint24LE", "Uint64LE", "Header(200)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	if _, err := frame.Header(200).AppendLength(nil, 1); !errors.Is(err, frame.ErrInvalidHeader) {
		t.Errorf("unknown format: err = %v, want ErrInvalidHeader", err)
	}
}

// An invalid option is a caller's mistake, reported by every call rather
// than as a panic, and nothing is read or written.
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]frame.Option{
		"WithMaxSize(-1)":        frame.WithMaxSize(-1),
		"WithBufferSize(-1)":     frame.WithBufferSize(-1),
		"WithHeader(Header(99))": frame.WithHeader(frame.Header(99)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			check := func(call string, err error) {
				t.Helper()
				if !errors.Is(err, frame.ErrInvalidOption) || !strings.Contains(err.Error(), name) {
					t.Errorf("%s = %v, want ErrInvalidOption naming %s", call, err, name)
				}
			}
			src := bytes.NewReader([]byte{0, 0, 0, 1, 'x'})
			r := frame.NewReader(src, frame.WithMaxSize(10), opt)
			_, err := r.ReadMessage()
			check("ReadMessage", err)
			r.Reset(src)
			_, err = r.ReadMessage()
			check("ReadMessage after Reset", err)
			if src.Len() != 5 {
				t.Errorf("Reader consumed %d bytes of its source", 5-src.Len())
			}

			var out bytes.Buffer
			w := frame.NewWriter(&out, opt)
			check("WriteMessage", w.WriteMessage([]byte("x")))
			check("Flush", w.Flush())
			check("WriteBatch", w.WriteBatch([]byte("x")))
			if out.Len() != 0 {
				t.Errorf("Writer wrote %q", out.Bytes())
			}

			c1, c2 := net.Pipe()
			defer c2.Close()
			c := frame.NewConn(c1, opt)
			defer c.Close()
			check("Conn.Send", c.Send(context.Background(), []byte("x")))
			_, err = c.Recv(context.Background())
			check("Conn.Recv", err)
		})
	}
	_, _, err := frame.Uint32BE.SplitFunc(-1)([]byte{0, 0, 0, 0}, false)
	if !errors.Is(err, frame.ErrInvalidOption) {
		t.Errorf("SplitFunc(-1) = %v, want ErrInvalidOption", err)
	}
}

// TestSplitFunc: a bufio.Scanner with Header.SplitFunc yields the same
// messages as a Reader, through adversarial readers, and stops with the
// documented errors.
func TestSplitFunc(t *testing.T) {
	t.Parallel()
	for _, h := range headers {
		msgs := testMessages(int(min(h.MaxLength(), 1<<20)))
		stream := encode(t, h, msgs...)
		for _, rm := range readMakers {
			if rm.name == "timeout" {
				continue // a Scanner stops at the first error by design
			}
			t.Run(fmt.Sprintf("%v/%s", h, rm.name), func(t *testing.T) {
				t.Parallel()
				sc := bufio.NewScanner(rm.fn(bytes.NewReader(stream)))
				sc.Buffer(nil, 1<<20+10)
				sc.Split(h.SplitFunc(1 << 20))
				var got [][]byte
				for sc.Scan() {
					got = append(got, bytes.Clone(sc.Bytes()))
				}
				if err := sc.Err(); err != nil {
					t.Fatal(err)
				}
				if diff := diffMessages(msgs, got); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
			})
		}
	}
	for _, tt := range []struct {
		name  string
		input []byte
		want  error
	}{
		{"cut in a header", []byte{0, 0, 1}, io.ErrUnexpectedEOF},
		{"cut in a payload", []byte{0, 0, 0, 5, 'a'}, io.ErrUnexpectedEOF},
		{"oversize", []byte{0, 0, 1, 0, 'a'}, frame.ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := bufio.NewScanner(iotest.OneByteReader(bytes.NewReader(tt.input)))
			sc.Split(frame.Uint32BE.SplitFunc(100))
			for sc.Scan() {
				t.Errorf("token %q from a broken stream", sc.Bytes())
			}
			if err := sc.Err(); !errors.Is(err, tt.want) {
				t.Fatalf("Err = %v, want %v", err, tt.want)
			}
		})
	}
}
