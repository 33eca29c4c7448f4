package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// testLayouts are the layouts a framed Server is tested with: the
// default and those of protocols whose headers hold more than a length.
var testLayouts = []struct {
	name   string
	layout frame.Layout
}{
	{name: "default", layout: frame.Layout{}},
	{name: "PostgreSQL", layout: frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}},
	{name: "HTTP2", layout: frame.Layout{Length: frame.Uint24BE, After: 6}},
	{name: "gRPC", layout: frame.Layout{Offset: 1, Length: frame.Uint32BE}},
	{name: "MQTT", layout: frame.Layout{Offset: 1, Length: frame.Uvarint}},
	// Diameter's length counts the whole 20-byte header.
	{name: "whole length", layout: frame.Layout{Offset: 1, Length: frame.Uint24BE, After: 16, Adjust: -20}},
}

// layoutFrame returns the frame of payload in layout l, its header
// fields as given.
func layoutFrame(t testing.TB, l frame.Layout, fields, payload []byte) []byte {
	t.Helper()
	b, err := l.AppendHeader(nil, fields, len(payload))
	if err != nil {
		t.Fatalf("AppendHeader(%+v, % x, %d): %v", l, fields, len(payload), err)
	}
	return append(b, payload...)
}

// headerFields returns l's Offset+After header fields for message i:
// lower-case letters, which a transform that saw them would change, and
// different for each message.
func headerFields(l frame.Layout, i int) []byte {
	f := make([]byte, l.Offset+l.After)
	for j := range f {
		f[j] = 'a' + byte(i*7+j)%26
	}
	return f
}

// TestFramedLayouts: under each layout, a framed Server answers each
// message with the transform of its payload, in a frame whose header
// fields are the request's and whose length field is computed for the
// reply: byte for byte what Layout.AppendHeader makes. The messages are
// pipelined in one stream, from empty to larger than the server's
// buffers, and transforms keep, grow and shrink the payload (across the
// 128 bytes where a varint length takes a second byte).
func TestFramedLayouts(t *testing.T) {
	t.Parallel()
	bracket := func(p []byte) []byte { return append(append([]byte("<"), p...), '>') }
	half := func(p []byte) []byte { return p[:len(p)/2] }
	transforms := []struct {
		name string
		fn   echo.Transform
		ref  func([]byte) []byte // the reply expected for a payload
	}{
		{name: "Upper", fn: echo.Upper, ref: upper},
		{name: "longer", fn: bracket, ref: bracket},
		{name: "shorter", fn: half, ref: half},
	}
	sizes := []int{0, 1, 126, 127, 200, 100 << 10}
	for _, lt := range testLayouts {
		for _, tr := range transforms {
			t.Run(lt.name+"/"+tr.name, func(t *testing.T) {
				t.Parallel()
				s := &echo.Server{Framed: true, Transform: tr.fn, FrameOptions: []frame.Option{frame.WithLayout(lt.layout)}}
				checkLayoutEcho(t, dial(t, "tcp", echotest.Start(t, s)), lt.layout, sizes, tr.ref)
			})
		}
	}
}

// TestFramedLayoutsFragmented is TestFramedLayouts with Upper through
// connections that faultnet cuts into pieces of 1 to 3 bytes on the way
// in, and of 7 bytes on the way out: headers arrive split at every
// point, and replies leave in many writes.
func TestFramedLayoutsFragmented(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, 127, 200, 5000}
	for _, lt := range testLayouts {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Framed: true, Transform: echo.Upper, FrameOptions: []frame.Option{frame.WithLayout(lt.layout)}}
			addr := serveFaulty(t, s, faultnet.Inbound(faultnet.RandomFragments(3)), faultnet.Outbound(faultnet.Fragment(7)))
			checkLayoutEcho(t, dial(t, "tcp", addr), lt.layout, sizes, upper)
		})
	}
}

// checkLayoutEcho sends c, pipelined in one write, a message in layout l
// for each payload size, with its own header fields, and checks the
// replies byte for byte: each the frame of ref(payload) with the same
// fields.
func checkLayoutEcho(t *testing.T, c net.Conn, l frame.Layout, sizes []int, ref func([]byte) []byte) {
	t.Helper()
	var req, want []byte
	for i, n := range sizes {
		fields, payload := headerFields(l, i), pattern[i:i+n]
		req = append(req, layoutFrame(t, l, fields, payload)...)
		want = append(want, layoutFrame(t, l, fields, ref(payload))...)
	}
	var sender group
	sender.Go(func() error { _, err := c.Write(req); return err })
	got := make([]byte, len(want))
	_, err := io.ReadFull(c, got)
	if serr := sender.Wait(); serr != nil {
		t.Fatalf("sending: %v", serr)
	}
	if err != nil {
		t.Fatalf("reading %d reply bytes: %v", len(want), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("replies differ from the expected frames:\n%s", firstDiff(want, got))
	}
}

// firstDiff describes where got first differs from want.
func firstDiff(want, got []byte) string {
	i := 0
	for i < min(len(want), len(got)) && want[i] == got[i] {
		i++
	}
	end := func(b []byte) []byte { return b[i:min(len(b), i+16)] }
	return fmt.Sprintf("at byte %d of %d: want % x..., got % x...", i, len(want), end(want), end(got))
}

// TestFramedLayoutProtocolErrors: under each layout, a header that claims
// more than MaxMessageSize (which counts the payload only: a payload of
// exactly MaxMessageSize bytes is served) or that the layout finds
// malformed closes that connection with a warning whose error matches
// frame.ErrTooLarge or frame.ErrInvalidHeader, and other clients are
// served on.
func TestFramedLayoutProtocolErrors(t *testing.T) {
	t.Parallel()
	const maxSize = 1000
	type badCase struct {
		name   string
		header []byte
		want   error
	}
	malformed := map[string][]badCase{
		// A length field that counts itself (4 bytes), but says 3.
		"PostgreSQL": {{name: "length below its own width", header: []byte{'Q', 0, 0, 0, 3}, want: frame.ErrInvalidHeader}},
		// A varint padded with a zero byte: not the shortest form.
		"MQTT":         {{name: "padded varint", header: []byte{0x30, 0x80, 0x00}, want: frame.ErrInvalidHeader}},
		"whole length": {{name: "length below the header", header: append([]byte{1, 0, 0, 19}, make([]byte, 16)...), want: frame.ErrInvalidHeader}},
	}
	for _, lt := range testLayouts {
		oversize, err := lt.layout.AppendHeader(nil, headerFields(lt.layout, 0), maxSize+1)
		if err != nil {
			t.Fatal(err)
		}
		cases := append([]badCase{{name: "oversize", header: oversize, want: frame.ErrTooLarge}}, malformed[lt.name]...)
		for _, bc := range cases {
			t.Run(lt.name+"/"+bc.name, func(t *testing.T) {
				t.Parallel()
				rec := new(recorder)
				s := &echo.Server{
					Framed:         true,
					FrameOptions:   []frame.Option{frame.WithLayout(lt.layout)},
					MaxMessageSize: maxSize,
					Logger:         slog.New(rec),
				}
				addr := echotest.Start(t, s)
				good := dial(t, "tcp", addr)
				full := layoutFrame(t, lt.layout, headerFields(lt.layout, 1), pattern[:maxSize])
				roundTrip := func() {
					t.Helper()
					if _, err := good.Write(full); err != nil {
						t.Fatal(err)
					}
					got := make([]byte, len(full))
					if _, err := io.ReadFull(good, got); err != nil || !bytes.Equal(got, full) {
						t.Fatalf("a payload of exactly MaxMessageSize: %v; reply differs: %v", err, !bytes.Equal(got, full))
					}
				}
				roundTrip()

				bad := dial(t, "tcp", addr)
				if _, err := bad.Write(append(bytes.Clone(bc.header), "payload"...)); err != nil {
					t.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, bad); n != 0 || err != nil && !isReset(err) {
					t.Errorf("bad client read %d bytes, %v; want the connection closed", n, err)
				}
				waitFor(t, "the protocol error logged", func() bool { return len(rec.attrs("protocol error", "err")) > 0 })
				errs := rec.attrs("protocol error", "err")
				if err, _ := errs[0].(error); len(errs) != 1 || !errors.Is(err, bc.want) {
					t.Errorf("logged protocol errors %v, want one matching %v", errs, bc.want)
				}
				roundTrip()
			})
		}
	}
}

// TestFramedLayoutParked: a framed connection that parks and is woken
// keeps reading and writing its layout.
func TestFramedLayoutParked(t *testing.T) {
	t.Parallel()
	skipUnlessParking(t)
	for _, lt := range testLayouts {
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Framed: true, Transform: echo.Upper, ParkAfter: parkAfter, IdleTimeout: testTimeout,
				FrameOptions: []frame.Option{frame.WithLayout(lt.layout)}}
			c := dial(t, "tcp", echotest.Start(t, s))
			for i := range 3 {
				if i > 0 {
					waitParked(t, s, c)
				}
				fields, payload := headerFields(lt.layout, i), pattern[i:i+100]
				if _, err := c.Write(layoutFrame(t, lt.layout, fields, payload)); err != nil {
					t.Fatal(err)
				}
				want := layoutFrame(t, lt.layout, fields, upper(payload))
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: reply differs:\n%s", i, firstDiff(want, got))
				}
			}
			if st := s.Stats(); st.Parks < 2 {
				t.Errorf("%d parks, want at least 2", st.Parks)
			}
		})
	}
}

// TestFramedInvalidOptions: frame options that cannot be right make
// Listen and Serve fail at once with an error matching
// frame.ErrInvalidOption, rather than every connection.
func TestFramedInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		framed  bool
		opts    []frame.Option
		maxSize int
		invalid bool
	}{
		{name: "negative Offset", framed: true, opts: []frame.Option{frame.WithLayout(frame.Layout{Offset: -1})}, invalid: true},
		{name: "negative WithMaxSize", framed: true, opts: []frame.Option{frame.WithMaxSize(-1)}, invalid: true},
		{name: "negative MaxMessageSize", framed: true, maxSize: -1, invalid: true},
		// Every payload would be at least 10 bytes, above the maximum.
		{name: "Adjust above MaxMessageSize", framed: true, opts: []frame.Option{frame.WithLayout(frame.Layout{Length: frame.Uint8, Adjust: 10})}, maxSize: 5, invalid: true},
		{name: "Adjust within MaxMessageSize", framed: true, opts: []frame.Option{frame.WithLayout(frame.Layout{Length: frame.Uint8, Adjust: 10})}, maxSize: 10},
		// A raw server has no use for frame options.
		{name: "not framed", opts: []frame.Option{frame.WithMaxSize(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Address: "127.0.0.1:0", Framed: tt.framed, FrameOptions: tt.opts, MaxMessageSize: tt.maxSize}
			defer s.Close()
			l, err := s.Listen(context.Background())
			if got := errors.Is(err, frame.ErrInvalidOption); got != tt.invalid {
				t.Fatalf("Listen: %v; matches ErrInvalidOption: %v, want %v", err, got, tt.invalid)
			}
			if tt.invalid && (l != nil || echo.TrackedSockets(s) != 0) {
				t.Errorf("Listen failed but bound %v (%d sockets tracked)", l, echo.TrackedSockets(s))
			}
			if !tt.invalid {
				l.Close()
				return
			}
			if err := s.ListenAndServe(); !errors.Is(err, frame.ErrInvalidOption) {
				t.Errorf("ListenAndServe: %v, want an error matching ErrInvalidOption", err)
			}
			mine, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Serve(mine); !errors.Is(err, frame.ErrInvalidOption) {
				t.Errorf("Serve: %v, want an error matching ErrInvalidOption", err)
			}
			if _, err := mine.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve did not close the listener: Accept = %v", err)
			}
		})
	}
}

// TestFramedMaxMessageSize: MaxMessageSize overrides a WithMaxSize of
// FrameOptions, and zero leaves it in force; the header never counts.
func TestFramedMaxMessageSize(t *testing.T) {
	t.Parallel()
	const n = 100 // the payload sent, in a PostgreSQL-style frame of n+5 bytes
	layout := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	tests := []struct {
		name      string
		frameMax  int // WithMaxSize in FrameOptions; 0: none
		maxSize   int // MaxMessageSize
		wantReply bool
	}{
		{name: "MaxMessageSize is the payload", maxSize: n, wantReply: true},
		{name: "MaxMessageSize below", maxSize: n - 1},
		{name: "WithMaxSize in force", frameMax: n - 1},
		{name: "MaxMessageSize overrides WithMaxSize", frameMax: n - 1, maxSize: n, wantReply: true},
		{name: "MaxMessageSize overrides WithMaxSize downwards", frameMax: 2 * n, maxSize: n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []frame.Option{frame.WithLayout(layout)}
			if tt.frameMax != 0 {
				opts = append(opts, frame.WithMaxSize(tt.frameMax))
			}
			logger, _ := newLogger()
			s := &echo.Server{Framed: true, FrameOptions: opts, MaxMessageSize: tt.maxSize, Logger: logger}
			c := dial(t, "tcp", echotest.Start(t, s))
			req := layoutFrame(t, layout, []byte{'Q'}, pattern[:n])
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c) // until the server closes: after the reply, or at once
			if err != nil && !isReset(err) {
				t.Fatal(err)
			}
			var want []byte
			if tt.wantReply {
				want = req
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("reply mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFramedBadReply: a reply the layout cannot carry (larger than
// MaxMessageSize; shorter than a positive Adjust) closes that connection
// with a warning that blames the reply, not the client.
func TestFramedBadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layout frame.Layout
		fn     echo.Transform
		want   error
	}{
		{name: "too large", fn: func(p []byte) []byte { return make([]byte, 11) }, want: frame.ErrTooLarge},
		// AMQP-style: a trailer byte counted in the payload.
		{name: "shorter than Adjust", layout: frame.Layout{Offset: 3, Length: frame.Uint32BE, Adjust: 1},
			fn: func([]byte) []byte { return nil }, want: frame.ErrLayoutMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := new(recorder)
			s := &echo.Server{Framed: true, FrameOptions: []frame.Option{frame.WithLayout(tt.layout)},
				MaxMessageSize: 10, Transform: tt.fn, Logger: slog.New(rec)}
			c := dial(t, "tcp", echotest.Start(t, s))
			if _, err := c.Write(layoutFrame(t, tt.layout, headerFields(tt.layout, 0), []byte("ping"))); err != nil {
				t.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, c); n != 0 || err != nil && !isReset(err) {
				t.Errorf("read %d bytes, %v; want the connection closed", n, err)
			}
			waitFor(t, "the reply's error logged", func() bool { return len(rec.attrs("reply cannot be framed", "err")) > 0 })
			errs := rec.attrs("reply cannot be framed", "err")
			if err, _ := errs[0].(error); len(errs) != 1 || !errors.Is(err, tt.want) {
				t.Errorf("logged %v, want one error matching %v", errs, tt.want)
			}
			if errs := rec.attrs("protocol error", "err"); len(errs) != 0 {
				t.Errorf("the client was blamed: %v", errs)
			}
		})
	}
}

// TestFramedLayoutAllocs: serving framed messages allocates nothing per
// message under any layout: collecting the header fields of a request
// takes no memory. The client allocates nothing either, so
// testing.AllocsPerRun, which counts the whole process, counts the
// server's allocations; each run echoes 16 pipelined messages, so one
// allocation per message would count 16. Not parallel: other tests'
// allocations would count too.
func TestFramedLayoutAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: under the race detector sync.Pool drops buffers at random, and taking new ones allocates")
	}
	const window = 16
	for _, lt := range testLayouts {
		t.Run(lt.name, func(t *testing.T) {
			// Connections never park: a park and a wake start goroutines.
			s := &echo.Server{Framed: true, Transform: echo.Upper, ParkAfter: -1,
				FrameOptions: []frame.Option{frame.WithLayout(lt.layout)}}
			c := dial(t, "tcp", echotest.Start(t, s))
			var req, want []byte
			for i := range window {
				fields, payload := headerFields(lt.layout, i), pattern[i:i+64]
				req = append(req, layoutFrame(t, lt.layout, fields, payload)...)
				want = append(want, layoutFrame(t, lt.layout, fields, upper(payload))...)
			}
			got := make([]byte, len(want))
			roundTrip := func() {
				if _, err := c.Write(req); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatal("replies differ")
				}
			}
			roundTrip() // the server's buffers are allocated on first use
			if allocs := testing.AllocsPerRun(100, roundTrip); allocs != 0 {
				t.Errorf("%v allocations per %d messages echoed, want 0", allocs, window)
			}
		})
	}
}
