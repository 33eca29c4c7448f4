package interop_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/framesock/framesock/frame"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The layouts of PostgreSQL's protocol 3 (the documentation's chapter
// "Message Formats"): a type byte, then a length that counts itself and
// the payload; the startup message, the client's first, has no type byte.
var (
	pgMessage = frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	pgStartup = frame.Layout{Length: frame.Uint32BE, Adjust: -4}
)

// checkPG fails t unless rec is a PostgreSQL message of type typ (0 for
// the startup message, which has none) whose length field counts itself
// and the payload.
func checkPG(t *testing.T, i int, rec record, typ byte) {
	t.Helper()
	h := rec.header
	if typ != 0 {
		if len(h) != 5 || h[0] != typ {
			t.Errorf("message %d: header %x, want type %q and a 4-byte length", i, h, typ)
			return
		}
		h = h[1:]
	}
	if len(h) != 4 || int(binary.BigEndian.Uint32(h)) != 4+len(rec.payload) {
		t.Errorf("message %d: length field %x for a %d-byte payload, want 4 bytes holding 4 + the payload's length", i, h, len(rec.payload))
	}
}

// TestPostgreSQLFrontend reads what a pgproto3.Frontend sends, the
// startup message and an extended query in one write, with the startup
// layout and then, through Reader.SetLayout on the same Reader, the
// message layout; writes it back with WriteFrame, switching with
// Writer.SetLayout; and has a pgproto3.Backend receive the same messages.
func TestPostgreSQLFrontend(t *testing.T) {
	t.Parallel()
	startup := &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": "framesock", "database": "interop", "application_name": "frame"},
	}
	msgs := []pgproto3.FrontendMessage{
		&pgproto3.Query{String: "SELECT 1"},
		&pgproto3.Parse{Name: "s1", Query: "SELECT $1::int4, $2::text", ParameterOIDs: []uint32{23, 25}},
		&pgproto3.Bind{
			PreparedStatement:    "s1",
			ParameterFormatCodes: []int16{1, 0},
			Parameters:           [][]byte{{0, 0, 0, 42}, nil}, // nil is SQL NULL
			ResultFormatCodes:    []int16{1},
		},
		&pgproto3.Execute{MaxRows: 100},
		&pgproto3.Sync{},
	}
	const types = "QPBES"

	var wire bytes.Buffer
	fe := pgproto3.NewFrontend(bytes.NewReader(nil), &wire)
	fe.Send(startup)
	for _, m := range msgs {
		fe.Send(m)
	}
	if err := fe.Flush(); err != nil { // one Write of every message
		t.Fatal(err)
	}
	stream := wire.Bytes()

	r := frame.NewReader(bytes.NewReader(stream), frame.WithLayout(pgStartup))
	first, err := next(r)
	if err != nil {
		t.Fatalf("reading the startup message: %v", err)
	}
	checkPG(t, 0, first, 0)
	// The messages after the startup message are in the Reader's buffer
	// when its layout changes, and must be read from there.
	if n := r.Buffered(); n == 0 {
		t.Fatalf("Buffered() = 0 after the startup message, want the %d bytes after it", len(stream)-first.size())
	}
	if err := r.SetLayout(pgMessage); err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, r)
	if len(rest) != len(msgs) {
		t.Fatalf("read %d messages after the startup message, want %d", len(rest), len(msgs))
	}
	for i, rec := range rest {
		checkPG(t, i+1, rec, types[i])
	}

	var out bytes.Buffer
	w := frame.NewWriter(&out, frame.WithLayout(pgStartup))
	if err := w.WriteFrame(nil, first.payload); err != nil {
		t.Fatalf("WriteFrame of the startup message: %v", err)
	}
	if err := w.SetLayout(pgMessage); err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, pgMessage, rest)
	sameBytes(t, "messages written back", stream, out.Bytes())

	be := pgproto3.NewBackend(bytes.NewReader(out.Bytes()), io.Discard)
	got, err := be.ReceiveStartupMessage()
	if err != nil {
		t.Fatalf("pgproto3.Backend.ReceiveStartupMessage: %v", err)
	}
	if diff := cmp.Diff(pgproto3.FrontendMessage(startup), got, sameSlices); diff != "" {
		t.Errorf("startup message (-want +got):\n%s", diff)
	}
	for i, want := range msgs {
		got, err := be.Receive()
		if err != nil {
			t.Fatalf("pgproto3.Backend.Receive of message %d: %v", i+1, err)
		}
		if diff := cmp.Diff(want, got, sameSlices); diff != "" {
			t.Errorf("message %d (-want +got):\n%s", i+1, diff)
		}
	}
}

// TestPostgreSQLBackend reads what a pgproto3.Backend sends in answer to a
// query with the message layout, writes it back with WriteFrame, and has a
// pgproto3.Frontend receive the same messages.
func TestPostgreSQLBackend(t *testing.T) {
	t.Parallel()
	// A 100 KiB value makes one DataRow far larger than the Reader's
	// buffer, so its payload is read apart from the small messages.
	large := bytes.Repeat([]byte("framesock "), 10<<10)
	msgs := []pgproto3.BackendMessage{
		&pgproto3.AuthenticationOk{},
		&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{
			{Name: []byte("n"), DataTypeOID: 23, DataTypeSize: 4, TypeModifier: -1, Format: 1},
			{Name: []byte("t"), TableOID: 16384, TableAttributeNumber: 2, DataTypeOID: 25, DataTypeSize: -1, TypeModifier: -1},
		}},
		&pgproto3.DataRow{Values: [][]byte{{0, 0, 0, 42}, nil}}, // nil is SQL NULL
		&pgproto3.DataRow{Values: [][]byte{{0, 0, 0, 43}, large}},
		&pgproto3.CommandComplete{CommandTag: []byte("SELECT 2")},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	}
	const types = "RTDDCZ"

	var wire bytes.Buffer
	be := pgproto3.NewBackend(bytes.NewReader(nil), &wire)
	for _, m := range msgs {
		be.Send(m)
	}
	if err := be.Flush(); err != nil {
		t.Fatal(err)
	}
	stream := wire.Bytes()

	recs, out := reframe(t, pgMessage, stream)
	if len(recs) != len(msgs) {
		t.Fatalf("read %d messages, want %d", len(recs), len(msgs))
	}
	for i, rec := range recs {
		checkPG(t, i, rec, types[i])
	}
	sameBytes(t, "messages written back", stream, out)

	fe := pgproto3.NewFrontend(bytes.NewReader(out), io.Discard)
	for i, want := range msgs {
		got, err := fe.Receive()
		if err != nil {
			t.Fatalf("pgproto3.Frontend.Receive of message %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got, sameSlices); diff != "" {
			t.Errorf("message %d (-want +got):\n%s", i, diff)
		}
	}
}
