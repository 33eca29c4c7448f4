package echo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
)

func TestUpper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		// Expected values are what Python 3 prints for bytes.upper().
		{name: "empty", in: "", want: ""},
		{name: "ascii", in: "hello, World 123!", want: "HELLO, WORLD 123!"},
		{name: "edges", in: "`az{@AZ[", want: "`AZ{@AZ["},
		{name: "utf8 untouched", in: "héllo wörld ß", want: "HéLLO WöRLD ß"},
		{name: "latin1 bytes untouched", in: "\xe9\xff\xe0a", want: "\xe9\xff\xe0A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := []byte(tt.in)
			got := echo.Upper(p)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Upper(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if len(p) > 0 && &got[0] != &p[0] {
				t.Errorf("Upper did not work in place")
			}
		})
	}
}

// TestUpperEveryByte checks all 256 byte values against the definition.
func TestUpperEveryByte(t *testing.T) {
	t.Parallel()
	in := make([]byte, 256)
	for i := range in {
		in[i] = byte(i)
	}
	want := upper(in)
	if diff := cmp.Diff(want, echo.Upper(in)); diff != "" {
		t.Errorf("Upper mismatch (-want +got):\n%s", diff)
	}
}

func TestServerEcho(t *testing.T) {
	t.Parallel()
	reverse := func(p []byte) []byte {
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
		return p
	}
	bracket := func(p []byte) []byte { // a reply longer than the request
		return append(append([]byte("<"), p...), '>')
	}
	tests := []struct {
		name      string
		framed    bool
		transform echo.Transform
		in        []string
		want      []string
	}{
		{name: "raw identity", in: []string{"hello"}, want: []string{"hello"}},
		{name: "raw upper", transform: echo.Upper, in: []string{"hello", " wörld"}, want: []string{"HELLO", " WöRLD"}},
		{name: "framed identity", framed: true, in: []string{"a", "", "bc"}, want: []string{"a", "", "bc"}},
		{name: "framed upper", framed: true, transform: echo.Upper, in: []string{"hello", "x"}, want: []string{"HELLO", "X"}},
		{name: "framed reverse", framed: true, transform: reverse, in: []string{"abc"}, want: []string{"cba"}},
		{name: "framed longer reply", framed: true, transform: bracket, in: []string{"abc", ""}, want: []string{"<abc>", "<>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := echotest.Start(t, &echo.Server{Framed: tt.framed, Transform: tt.transform})
			c := dial(t, "tcp", addr)
			var got []string
			for _, m := range tt.in {
				if !tt.framed {
					if _, err := c.Write([]byte(m)); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, len(m))
					if _, err := io.ReadFull(c, buf); err != nil {
						t.Fatal(err)
					}
					got = append(got, string(buf))
					continue
				}
				if err := writeFrame(c, []byte(m)); err != nil {
					t.Fatal(err)
				}
				reply, err := readFrame(c)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(reply))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("replies mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFramedPipelined sends many messages in one write and expects every
// reply, in order, though the server reads them in one or a few reads.
func TestFramedPipelined(t *testing.T) {
	t.Parallel()
	addr := echotest.Start(t, &echo.Server{Framed: true, Transform: echo.Upper})
	c := dial(t, "tcp", addr)
	var batch bytes.Buffer
	var want []string
	for i := range 1000 {
		m := pattern[i : i+i%50]
		writeFrame(&batch, m)
		want = append(want, string(upper(m)))
	}
	if _, err := c.Write(batch.Bytes()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		m, err := readFrame(c)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replies mismatch (-want +got):\n%s", diff)
	}
}

func TestFramedHeaderOption(t *testing.T) {
	t.Parallel()
	addr := echotest.Start(t, &echo.Server{Framed: true, FrameOptions: []frame.Option{frame.WithHeader(frame.Uvarint)}})
	c := dial(t, "tcp", addr)
	// Uvarint 3, then "abc": the framing of protobuf delimited streams.
	if _, err := c.Write([]byte("\x03abc")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("\x03abc", string(got)); diff != "" {
		t.Errorf("reply mismatch (-want +got):\n%s", diff)
	}
}

func TestLifecycleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stop func(*echo.Server) error
	}{
		{name: "shutdown", stop: func(s *echo.Server) error { return s.Shutdown(context.Background()) }},
		{name: "close", stop: func(s *echo.Server) error { return s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Address: "127.0.0.1:0"}
			l, err := s.Listen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Addr(), l.Addr(); got != want {
				t.Errorf("Addr() = %v, want the listener's %v", got, want)
			}
			if err := tt.stop(s); err != nil {
				t.Fatalf("stop: %v", err)
			}
			// The listener Listen returned was closed, though never served.
			if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after stop: %v, want net.ErrClosed", err)
			}
			if err := s.Serve(l); !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("Serve after stop = %v, want ErrServerClosed", err)
			}
			fresh, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Serve(fresh); !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("Serve(new listener) after stop = %v, want ErrServerClosed", err)
			}
			if _, err := fresh.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve did not close the listener it refused: Accept = %v", err)
			}
			if _, err := s.Listen(context.Background()); !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("Listen after stop = %v, want ErrServerClosed", err)
			}
			if err := s.ListenAndServe(); !errors.Is(err, echo.ErrServerClosed) {
				t.Errorf("ListenAndServe after stop = %v, want ErrServerClosed", err)
			}
		})
	}
}

// TestUpperAlignments runs Upper over every byte value at every offset and
// length around its eight-byte steps.
func TestUpperAlignments(t *testing.T) {
	t.Parallel()
	all := make([]byte, 256+16)
	for i := range all {
		all[i] = byte(i)
	}
	for off := range 16 {
		for n := range 40 {
			for start := off; start+n <= len(all); start += 37 {
				in := append([]byte(nil), all[start:start+n]...)
				if diff := cmp.Diff(string(upper(in)), string(echo.Upper(append([]byte(nil), in...)))); diff != "" {
					t.Fatalf("Upper(% x) mismatch (-want +got):\n%s", in, diff)
				}
			}
		}
	}
}

func FuzzUpper(f *testing.F) {
	f.Add([]byte("hello, world"))
	f.Add([]byte("héllo wörld \x00\x7f\x80\xff azAZ`{@["))
	f.Fuzz(func(t *testing.T, in []byte) {
		want := upper(in)
		got := echo.Upper(append([]byte(nil), in...))
		if !bytes.Equal(want, got) {
			t.Errorf("Upper(%q) = %q, want %q", in, got, want)
		}
	})
}
