package interop_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// http2Frame is the layout of an HTTP/2 frame (RFC 9113 section 4.1): a
// 24-bit length, then type, flags and stream id.
var http2Frame = frame.Layout{Length: frame.Uint24BE, After: 6}

// SETTINGS_MAX_FRAME_SIZE: its initial value, and the larger value that
// the test's SETTINGS frame advertises, so that a DATA frame can be longer
// than 65535 bytes and need every byte of the length field.
const (
	http2InitialMaxFrame = 16384
	http2MaxFrame        = 1 << 17
)

// h2Frame is what http2.Framer reads from one frame.
type h2Frame struct {
	Type     http2.FrameType
	Flags    http2.Flags
	StreamID uint32
	Settings []http2.Setting     // SETTINGS
	Fields   []hpack.HeaderField // HEADERS, decoded
	Data     []byte              // DATA's data, PING's opaque data, GOAWAY's debug data
	LastID   uint32              // GOAWAY
	Code     http2.ErrCode       // GOAWAY
}

// TestHTTP2Frames reads the frames an http2.Framer writes with the HTTP/2
// layout, writes them back with WriteFrame, and has a second Framer parse
// the result to the same frames.
func TestHTTP2Frames(t *testing.T) {
	t.Parallel()
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "framesock.test"},
		{Name: ":path", Value: "/upload"},
		{Name: "content-type", Value: "application/octet-stream"},
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	settings := []http2.Setting{
		{ID: http2.SettingMaxFrameSize, Val: http2MaxFrame},
		{ID: http2.SettingInitialWindowSize, Val: 1 << 20},
		{ID: http2.SettingEnablePush, Val: 0},
	}
	full := bytes.Repeat([]byte("0123456789abcdef"), http2InitialMaxFrame/16)
	long := bytes.Repeat([]byte("fedcba9876543210"), 70000/16)
	ping := [8]byte{'f', 'r', 'a', 'm', 'e', 's', 'o', 'k'}

	var stream bytes.Buffer
	fr := http2.NewFramer(&stream, nil)
	for i, write := range []func() error{
		func() error { return fr.WriteSettings(settings...) },
		fr.WriteSettingsAck,
		func() error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true})
		},
		func() error { return fr.WriteData(1, false, nil) },
		func() error { return fr.WriteData(1, false, []byte{'x'}) },
		func() error { return fr.WriteData(1, false, full) },
		func() error { return fr.WriteData(1, true, long) },
		func() error { return fr.WritePing(false, ping) },
		func() error { return fr.WritePing(true, ping) },
		func() error { return fr.WriteGoAway(1, http2.ErrCodeEnhanceYourCalm, []byte("slow down")) },
	} {
		if err := write(); err != nil {
			t.Fatalf("http2.Framer write %d: %v", i, err)
		}
	}
	want := []h2Frame{
		{Type: http2.FrameSettings, Settings: settings},
		{Type: http2.FrameSettings, Flags: http2.FlagSettingsAck},
		{Type: http2.FrameHeaders, Flags: http2.FlagHeadersEndHeaders, StreamID: 1, Fields: fields},
		{Type: http2.FrameData, StreamID: 1, Data: []byte{}},
		{Type: http2.FrameData, StreamID: 1, Data: []byte{'x'}},
		{Type: http2.FrameData, StreamID: 1, Data: full},
		{Type: http2.FrameData, Flags: http2.FlagDataEndStream, StreamID: 1, Data: long},
		{Type: http2.FramePing, Data: ping[:]},
		{Type: http2.FramePing, Flags: http2.FlagPingAck, Data: ping[:]},
		{Type: http2.FrameGoAway, Data: []byte("slow down"), LastID: 1, Code: http2.ErrCodeEnhanceYourCalm},
	}
	// The expectation is the Framer's own reading of what it wrote.
	if diff := cmp.Diff(want, parseHTTP2(t, stream.Bytes()), sameSlices); diff != "" {
		t.Fatalf("http2.Framer reading its own frames (-want +got):\n%s", diff)
	}

	recs, out := reframe(t, http2Frame, stream.Bytes(), frame.WithMaxSize(http2MaxFrame))
	if len(recs) != len(want) {
		t.Fatalf("read %d frames, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		h := rec.header
		got := h2Frame{
			Type:     http2.FrameType(h[3]),
			Flags:    http2.Flags(h[4]),
			StreamID: binary.BigEndian.Uint32(h[5:9]) &^ (1 << 31),
		}
		w := h2Frame{Type: want[i].Type, Flags: want[i].Flags, StreamID: want[i].StreamID}
		if diff := cmp.Diff(w, got, sameSlices); diff != "" {
			t.Errorf("frame %d header %x (-want +got):\n%s", i, h, diff)
		}
		if n := int(h[0])<<16 | int(h[1])<<8 | int(h[2]); len(h) != 9 || n != len(rec.payload) {
			t.Errorf("frame %d: %d header bytes with length %d and a %d-byte payload, want 9 and equal lengths", i, len(h), n, len(rec.payload))
		}
		if want[i].Type == http2.FrameData && !bytes.Equal(rec.payload, want[i].Data) {
			t.Errorf("DATA frame %d: payload of %d bytes differs from the %d written", i, len(rec.payload), len(want[i].Data))
		}
	}
	sameBytes(t, "frames written back", stream.Bytes(), out)
	if diff := cmp.Diff(want, parseHTTP2(t, out), sameSlices); diff != "" {
		t.Errorf("http2.Framer reading the frames written back (-want +got):\n%s", diff)
	}
}

// parseHTTP2 reads every frame of b with a new http2.Framer.
func parseHTTP2(t *testing.T, b []byte) []h2Frame {
	t.Helper()
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var frames []h2Frame
	for range maxFrames {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatalf("http2.Framer.ReadFrame after %d frames: %v", len(frames), err)
		}
		h := f.Header()
		got := h2Frame{Type: h.Type, Flags: h.Flags, StreamID: h.StreamID}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if err := f.ForeachSetting(func(s http2.Setting) error {
				got.Settings = append(got.Settings, s)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		case *http2.MetaHeadersFrame:
			got.Fields = f.Fields
		case *http2.DataFrame:
			got.Data = bytes.Clone(f.Data())
		case *http2.PingFrame:
			got.Data = bytes.Clone(f.Data[:])
		case *http2.GoAwayFrame:
			got.Data = bytes.Clone(f.DebugData())
			got.LastID, got.Code = f.LastStreamID, f.ErrCode
		default:
			t.Fatalf("unexpected %T", f)
		}
		frames = append(frames, got)
	}
	t.Fatalf("more than %d frames", maxFrames)
	return nil
}
