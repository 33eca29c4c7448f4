package interop_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
)

// mqttPacket is the layout of an MQTT control packet (MQTT 3.1.1 section
// 2.2, MQTT 5.0 section 2.1): a fixed-header byte, then the remaining
// length, a variable byte integer of 1 to 4 bytes.
var mqttPacket = frame.Layout{Offset: 1, Length: frame.Uvarint}

// mqttMaxRemaining is the largest remaining length, 0xFF 0xFF 0xFF 0x7F.
const mqttMaxRemaining = 268435455

// TestMQTTPackets reads packets written by Paho with the MQTT layout,
// including remaining lengths at each boundary of the variable byte
// integer (1 to 4 bytes), checks that Paho's encoding of each length is
// frame's Uvarint encoding, writes the packets back with WriteFrame, and
// has Paho read the same packets.
func TestMQTTPackets(t *testing.T) {
	t.Parallel()
	connect := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	connect.ProtocolName, connect.ProtocolVersion = "MQTT", 4
	connect.CleanSession, connect.Keepalive = true, 30
	connect.ClientIdentifier = "framesock"
	connect.WillFlag, connect.WillQos, connect.WillTopic, connect.WillMessage = true, 1, "clients/framesock", []byte("gone")
	connect.UsernameFlag, connect.Username = true, "user"
	connect.PasswordFlag, connect.Password = true, []byte("secret")

	connack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
	subscribe := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	subscribe.MessageID, subscribe.Topics, subscribe.Qoss = 1, []string{"a/+", "b/#"}, []byte{0, 1}
	suback := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
	suback.MessageID, suback.ReturnCodes = 1, []byte{0, 1}
	flagged := publish(100)
	flagged.Qos, flagged.Dup, flagged.Retain, flagged.MessageID = 1, true, true, 7

	pkts := []packets.ControlPacket{
		connect, connack, subscribe, suback, flagged,
		packets.NewControlPacket(packets.Pingreq),
		packets.NewControlPacket(packets.Disconnect),
	}
	// A remaining length at each end of each width of the integer.
	for _, n := range []int{127, 128, 16383, 16384, 2097151, 2097152} {
		pkts = append(pkts, publish(n))
	}
	var stream bytes.Buffer
	for _, p := range pkts {
		if err := p.Write(&stream); err != nil { // sets RemainingLength
			t.Fatal(err)
		}
	}

	recs, out := reframe(t, mqttPacket, stream.Bytes(), frame.WithMaxSize(mqttMaxRemaining))
	if len(recs) != len(pkts) {
		t.Fatalf("read %d packets, want %d", len(recs), len(pkts))
	}
	for i, rec := range recs {
		fh := fixedHeader(pkts[i])
		first := fh.MessageType<<4 | bit(fh.Dup)<<3 | fh.Qos<<1 | bit(fh.Retain)
		wantLen, err := frame.Uvarint.AppendLength(nil, uint64(fh.RemainingLength))
		if err != nil {
			t.Fatal(err)
		}
		switch h := rec.header; {
		case h[0] != first:
			t.Errorf("packet %d: fixed-header byte %#02x, want %#02x", i, h[0], first)
		case !bytes.Equal(h[1:], wantLen):
			t.Errorf("packet %d: remaining length %d encoded by Paho as % x, by frame.Uvarint as % x", i, fh.RemainingLength, h[1:], wantLen)
		case len(h)-1 != mqttWidth(fh.RemainingLength):
			t.Errorf("packet %d: remaining length %d in %d bytes, want %d", i, fh.RemainingLength, len(h)-1, mqttWidth(fh.RemainingLength))
		case len(rec.payload) != fh.RemainingLength:
			t.Errorf("packet %d: %d bytes after the fixed header, want the remaining length %d", i, len(rec.payload), fh.RemainingLength)
		}
	}
	sameBytes(t, "packets written back", stream.Bytes(), out)

	src := bytes.NewReader(out)
	for i, want := range pkts {
		got, err := packets.ReadPacket(src)
		if err != nil {
			t.Fatalf("packets.ReadPacket of packet %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got, sameSlices); diff != "" {
			t.Errorf("packet %d (-want +got):\n%s", i, diff)
		}
	}
	if src.Len() != 0 {
		t.Errorf("%d bytes left after the last packet", src.Len())
	}
}

// TestMQTTRemainingLengthLimits shows that frame reads the remaining
// length as MQTT 5.0 section 1.5.5 defines it: its largest value in 4
// bytes, a longer one refused as above the maximum, and a padded one
// (not in the minimum number of bytes, which [MQTT-1.5.5-1] requires)
// refused as malformed. Paho's reader of v1.5.1 accepts padded lengths;
// its writer never produces one.
func TestMQTTRemainingLengthLimits(t *testing.T) {
	t.Parallel()
	hl, n, err := mqttPacket.ParseHeader([]byte{0x30, 0xff, 0xff, 0xff, 0x7f})
	if hl != 5 || n != mqttMaxRemaining || err != nil {
		t.Errorf("ParseHeader of the largest remaining length = %d, %d, %v; want 5, %d, nil", hl, n, err, mqttMaxRemaining)
	}
	for _, tt := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"five bytes", []byte{0xc0, 0x80, 0x80, 0x80, 0x80, 0x01}, frame.ErrTooLarge},
		{"zero in two bytes", []byte{0xc0, 0x80, 0x00}, frame.ErrInvalidHeader},
		{"127 in two bytes", []byte{0x30, 0xff, 0x00}, frame.ErrInvalidHeader},
		{"128 in three bytes", []byte{0x30, 0x80, 0x81, 0x00}, frame.ErrInvalidHeader},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := frame.NewReader(bytes.NewReader(tt.stream), frame.WithLayout(mqttPacket), frame.WithMaxSize(mqttMaxRemaining))
			if _, err := r.ReadMessage(); !errors.Is(err, tt.want) {
				t.Errorf("ReadMessage of % x: %v, want an error matching %v", tt.stream, err, tt.want)
			}
		})
	}
}

// publish returns a PUBLISH packet at QoS 0 whose remaining length is n.
func publish(n int) *packets.PublishPacket {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName = "t"
	p.Payload = bytes.Repeat([]byte{'m'}, n-len(p.TopicName)-2) // after the topic and its length
	return p
}

// fixedHeader returns p's fixed header, which every Paho packet type
// embeds and no method returns.
func fixedHeader(p packets.ControlPacket) packets.FixedHeader {
	return reflect.ValueOf(p).Elem().FieldByName("FixedHeader").Interface().(packets.FixedHeader)
}

// mqttWidth returns the number of bytes of remaining length n, from the
// table of MQTT 5.0 section 1.5.5.
func mqttWidth(n int) int {
	switch {
	case n <= 127:
		return 1
	case n <= 16383:
		return 2
	case n <= 2097151:
		return 3
	}
	return 4
}

func bit(b bool) byte {
	if b {
		return 1
	}
	return 0
}
