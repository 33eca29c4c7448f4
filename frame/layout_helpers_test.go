package frame_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"testing"

	"github.com/framesock/framesock/frame"
)

// refField encodes v as h the reference way, with encoding/binary, which
// is how Python's struct, protobuf and the protocols' own code write them.
func refField(h frame.Header, v uint64) []byte {
	switch h {
	case frame.Uint8:
		return []byte{byte(v)}
	case frame.Uint16BE:
		return binary.BigEndian.AppendUint16(nil, uint16(v))
	case frame.Uint16LE:
		return binary.LittleEndian.AppendUint16(nil, uint16(v))
	case frame.Uint24BE:
		return binary.BigEndian.AppendUint32(nil, uint32(v))[1:]
	case frame.Uint24LE:
		return binary.LittleEndian.AppendUint32(nil, uint32(v))[:3]
	case frame.Uint32BE:
		return binary.BigEndian.AppendUint32(nil, uint32(v))
	case frame.Uint32LE:
		return binary.LittleEndian.AppendUint32(nil, uint32(v))
	case frame.Uint64BE:
		return binary.BigEndian.AppendUint64(nil, v)
	case frame.Uint64LE:
		return binary.LittleEndian.AppendUint64(nil, v)
	case frame.Uvarint:
		return binary.AppendUvarint(nil, v)
	}
	panic(fmt.Sprintf("refField: unknown header %v", h))
}

// testFrame is a frame's header fields (the Offset bytes, then the After
// bytes) and its payload.
type testFrame struct {
	fields, payload []byte
}

// refHeader builds the header of f in layout l the reference way, field
// by field; the length field holds len(payload) - Adjust.
func refHeader(l frame.Layout, f testFrame) []byte {
	h := bytes.Clone(f.fields[:l.Offset])
	h = append(h, refField(l.Length, uint64(len(f.payload)-l.Adjust))...)
	return append(h, f.fields[l.Offset:]...)
}

// encodeFrames is the reference encoding of frames in layout l.
func encodeFrames(l frame.Layout, frames ...testFrame) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, refHeader(l, f)...)
		b = append(b, f.payload...)
	}
	return b
}

// layouts are the layouts the tests run every guarantee with: the
// protocols of the package documentation, Netty's documented decoder
// examples, every length format, and the longest header allowed.
var layouts = []struct {
	name   string
	layout frame.Layout
}{
	{"default", frame.Layout{}},
	{"PostgreSQL", frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}},
	{"PostgreSQL startup", frame.Layout{Length: frame.Uint32BE, Adjust: -4}},
	{"MySQL", frame.Layout{Length: frame.Uint24LE, After: 1}},
	{"DNS over TCP", frame.Layout{Length: frame.Uint16BE}},
	{"TLS record", frame.Layout{Offset: 3, Length: frame.Uint16BE}},
	{"HTTP/2", frame.Layout{Length: frame.Uint24BE, After: 6}},
	{"gRPC", frame.Layout{Offset: 1, Length: frame.Uint32BE}},
	{"Cassandra v4", frame.Layout{Offset: 5, Length: frame.Uint32BE}},
	{"MQTT", frame.Layout{Offset: 1, Length: frame.Uvarint}},
	{"protobuf delimited", frame.Layout{Length: frame.Uvarint}},
	{"Diameter", frame.Layout{Offset: 1, Length: frame.Uint24BE, After: 16, Adjust: -20}},
	{"AMQP", frame.Layout{Offset: 3, Length: frame.Uint32BE, Adjust: 1}},
	{"MongoDB", frame.Layout{Length: frame.Uint32LE, After: 12, Adjust: -16}},
	{"Netty whole message", frame.Layout{Length: frame.Uint16BE, Adjust: -2}},
	{"Netty offset 2", frame.Layout{Offset: 2, Length: frame.Uint24BE}},
	{"Netty after 2", frame.Layout{Length: frame.Uint24BE, After: 2}},
	{"Netty offset 1 after 1", frame.Layout{Offset: 1, Length: frame.Uint16BE, After: 1}},
	{"Netty offset 1 after 1 whole", frame.Layout{Offset: 1, Length: frame.Uint16BE, After: 1, Adjust: -4}},
	{"Uint8", frame.Layout{Offset: 2, Length: frame.Uint8, After: 1}},
	{"Uint16LE whole", frame.Layout{Length: frame.Uint16LE, Adjust: -2}},
	{"Uint64BE after", frame.Layout{Length: frame.Uint64BE, After: 3}},
	{"Uint64LE whole", frame.Layout{Offset: 1, Length: frame.Uint64LE, After: 2, Adjust: -11}},
	{"Uvarint adjust", frame.Layout{Offset: 2, Length: frame.Uvarint, After: 1, Adjust: -1}},
	{"MaxHeaderLen", frame.Layout{Offset: 50, Length: frame.Uvarint, After: 4}},
}

// maxPayload returns the largest payload l can express, at most limit.
func maxPayload(l frame.Layout, limit int) int {
	m := l.Length.MaxLength()
	if l.Adjust < 0 {
		m -= uint64(-l.Adjust)
	} else if m < math.MaxUint64-uint64(l.Adjust) {
		m += uint64(l.Adjust)
	}
	return int(min(m, uint64(limit)))
}

// layoutFrames returns frames for l: testMessages's payloads that l can
// carry (at least Adjust bytes, at most what it can express), each with
// header fields of its own.
func layoutFrames(l frame.Layout, limit int) []testFrame {
	var frames []testFrame
	for i, m := range testMessages(maxPayload(l, limit)) {
		if len(m) < l.Adjust {
			continue
		}
		frames = append(frames, testFrame{payload(uint64(1000+i), l.Offset+l.After), m})
	}
	return frames
}

// payloads returns the payloads of frames.
func payloads(frames []testFrame) [][]byte {
	var ps [][]byte
	for _, f := range frames {
		ps = append(ps, f.payload)
	}
	return ps
}

// headerOf returns the header fields of a header of layout l, in the form
// WriteFrame takes: its Offset bytes, then its After bytes.
func headerOf(l frame.Layout, hdr []byte) []byte {
	return append(bytes.Clone(hdr[:l.Offset]), hdr[len(hdr)-l.After:]...)
}

// stutterReader returns a timeout before every byte, so that a read is
// interrupted at every position of every header part and payload.
type stutterReader struct {
	r       io.Reader
	stalled bool
}

func (s *stutterReader) Read(p []byte) (int, error) {
	s.stalled = !s.stalled
	if s.stalled {
		return 0, os.ErrDeadlineExceeded
	}
	return s.r.Read(p[:min(len(p), 1)])
}

// readFrames reads r until an error other than a timeout (each retried,
// up to limit times) and returns copies of each message and its header.
func readFrames(t testing.TB, r *frame.Reader, read func() ([]byte, error), limit int) ([][]byte, [][]byte, error) {
	t.Helper()
	var msgs, hdrs [][]byte
	for tries := 0; tries < limit; tries++ {
		m, err := read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if h := r.Header(); h != nil {
				t.Fatalf("Header = % x after a timeout, want nil", h)
			}
			continue
		}
		if err != nil {
			return msgs, hdrs, err
		}
		msgs = append(msgs, bytes.Clone(m))
		hdrs = append(hdrs, bytes.Clone(r.Header()))
	}
	t.Fatalf("no end after %d reads", limit)
	return nil, nil, nil
}
