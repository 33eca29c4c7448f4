package interop_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/dns/dnsmessage"
)

// dnsTCP is the layout of DNS over TCP (RFC 1035 section 4.2.2, RFC 7766):
// each message is preceded by its length in two bytes.
var dnsTCP = frame.Layout{Length: frame.Uint16BE}

// TestDNSOverTCP frames a query and a response packed by dnsmessage with
// the DNS-over-TCP layout, checks the bytes against RFC 1035's definition,
// and unframes them to messages that dnsmessage parses back identically,
// whether the stream arrives at once or one byte at a time.
func TestDNSOverTCP(t *testing.T) {
	t.Parallel()
	name := dnsmessage.MustNewName("framesock.example.")
	question := dnsmessage.Question{Name: name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}
	answer := func(typ dnsmessage.Type, body dnsmessage.ResourceBody) dnsmessage.Resource {
		return dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: name, Type: typ, Class: dnsmessage.ClassINET, TTL: 300},
			Body:   body,
		}
	}
	// A TXT record of four 255-byte strings takes the response past the
	// 512 bytes that DNS over UDP carries without EDNS: the case for TCP.
	txt := make([]string, 4)
	for i := range txt {
		txt[i] = strings.Repeat(string(rune('a'+i)), 255)
	}
	query := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0xf5a3, RecursionDesired: true},
		Questions: []dnsmessage.Question{question},
	}
	response := dnsmessage.Message{
		Header: dnsmessage.Header{
			ID: 0xf5a3, Response: true, Authoritative: true,
			RecursionDesired: true, RecursionAvailable: true, RCode: dnsmessage.RCodeSuccess,
		},
		Questions: []dnsmessage.Question{question},
		Answers: []dnsmessage.Resource{
			answer(dnsmessage.TypeTXT, &dnsmessage.TXTResource{TXT: txt}),
			answer(dnsmessage.TypeA, &dnsmessage.AResource{A: netip.MustParseAddr("192.0.2.1").As4()}),
			answer(dnsmessage.TypeA, &dnsmessage.AResource{A: netip.MustParseAddr("192.0.2.2").As4()}),
			answer(dnsmessage.TypeAAAA, &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2001:db8::1").As16()}),
		},
	}
	msgs := []dnsmessage.Message{query, response}

	// RFC 1035's definition of the stream: each message after its length
	// as a 16-bit big-endian integer.
	var want []byte
	var out bytes.Buffer
	w := frame.NewWriter(&out, frame.WithLayout(dnsTCP))
	for i := range msgs {
		packed, err := msgs[i].Pack() // also fills in the records' Length
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && len(packed) <= 512 {
			t.Fatalf("the response is %d bytes long, want more than 512", len(packed))
		}
		want = binary.BigEndian.AppendUint16(want, uint16(len(packed)))
		want = append(want, packed...)
		if err := w.WriteMessage(packed); err != nil {
			t.Fatalf("WriteMessage of a %d-byte message: %v", len(packed), err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	stream := out.Bytes()
	sameBytes(t, "framed stream", want, stream)

	for _, tt := range []struct {
		name string
		r    func([]byte) io.Reader
	}{
		{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"one byte at a time", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs := readAll(t, frame.NewReader(tt.r(stream), frame.WithLayout(dnsTCP)))
			var got []dnsmessage.Message
			for _, rec := range recs {
				var m dnsmessage.Message
				if err := m.Unpack(rec.payload); err != nil {
					t.Fatalf("dnsmessage.Unpack: %v", err)
				}
				got = append(got, m)
			}
			// Unpack gives empty sections where Pack was given nil ones.
			if diff := cmp.Diff(msgs, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("messages unframed (-want +got):\n%s", diff)
			}
		})
	}
}
