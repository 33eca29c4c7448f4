package interop_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// tlsRecord is the layout of a TLS record (RFC 8446 section 5.1, RFC 5246
// section 6.2): content type and legacy version, then a 16-bit length.
var tlsRecord = frame.Layout{Offset: 3, Length: frame.Uint16BE}

// tlsMaxRecord is the longest record payload TLS 1.2 allows (2^14 + 2048);
// TLS 1.3 allows less (2^14 + 256).
const tlsMaxRecord = 1<<14 + 2048

// The record content types of TLS 1.2 and 1.3.
const (
	tlsChangeCipherSpec = 20
	tlsAlert            = 21
	tlsHandshake        = 22
	tlsApplicationData  = 23
)

// tlsTestTimeout bounds each TLS conversation.
const tlsTestTimeout = 10 * time.Second

// TestTLSRecords runs a crypto/tls handshake and an exchange of data
// between a client and a server through a relay that reads each TLS record
// with the TLS layout and writes it on with WriteFrame. The records, as
// read, must have TLS's content types, versions and lengths and cover each
// direction's bytes exactly; as written back, they must be the bytes each
// side wrote, which the peers confirm by completing the handshake and
// checking every record's authentication tag.
func TestTLSRecords(t *testing.T) {
	t.Parallel()
	cert, roots := selfSigned(t)
	for _, tt := range []struct {
		name    string
		version uint16
	}{
		{"TLS 1.2", tls.VersionTLS12},
		{"TLS 1.3", tls.VersionTLS13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := &tls.Config{
				RootCAs: roots, ServerName: "framesock.test",
				MinVersion: tt.version, MaxVersion: tt.version,
				// Records of the largest size, whatever was sent before.
				DynamicRecordSizingDisabled: true,
			}
			server := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tt.version, MaxVersion: tt.version}
			toServer, toClient := relayTLS(t, client, server)

			for _, dir := range []struct {
				name string
				relayed
			}{{"client to server", toServer}, {"server to client", toClient}} {
				if !errors.Is(dir.err, io.EOF) {
					t.Errorf("%s: relay ended with %v, want io.EOF after the last record", dir.name, dir.err)
				}
				sameBytes(t, dir.name+": records written back", dir.sent, dir.written)
				checkRecords(t, dir.name, dir.recs, dir.sent, tt.version)
			}
			// The client's records of application data are as large as TLS
			// makes them: a fragment of 2^14 bytes and the protection.
			if n := maxLen(toServer.recs, tlsApplicationData); n <= 1<<14 {
				t.Errorf("client to server: longest application data record %d bytes, want more than 2^14", n)
			}
		})
	}
}

// checkRecords fails t unless recs are TLS records of version v's
// connection that cover stream exactly.
func checkRecords(t *testing.T, dir string, recs []record, stream []byte, v uint16) {
	t.Helper()
	total := 0
	types := map[byte]int{}
	for i, rec := range recs {
		h := rec.header
		typ, vers, n := h[0], binary.BigEndian.Uint16(h[1:3]), int(binary.BigEndian.Uint16(h[3:5]))
		switch {
		case len(h) != 5:
			t.Errorf("%s: record %d: %d header bytes, want 5", dir, i, len(h))
		case typ < tlsChangeCipherSpec || typ > tlsApplicationData:
			t.Errorf("%s: record %d: content type %d, want 20 to 23", dir, i, typ)
		case vers != tls.VersionTLS10 && vers != tls.VersionTLS12:
			// A ClientHello's record may say TLS 1.0; every other, 1.2.
			t.Errorf("%s: record %d: version %#04x, want 0x0301 or 0x0303", dir, i, vers)
		case n != len(rec.payload) || n > tlsMaxRecord:
			t.Errorf("%s: record %d: length field %d for a %d-byte payload, want equal and at most %d", dir, i, n, len(rec.payload), tlsMaxRecord)
		}
		types[typ]++
		total += rec.size()
	}
	if total != len(stream) {
		t.Errorf("%s: %d records cover %d bytes of %d", dir, len(recs), total, len(stream))
	}
	if len(recs) == 0 || recs[0].header[0] != tlsHandshake {
		t.Fatalf("%s: the first record is not a handshake record", dir)
	}
	want := []byte{tlsHandshake, tlsApplicationData}
	if v == tls.VersionTLS12 {
		// TLS 1.3 encrypts its alerts inside application data records.
		want = append(want, tlsChangeCipherSpec, tlsAlert)
	}
	for _, typ := range want {
		if types[typ] == 0 {
			t.Errorf("%s: no record of content type %d among %v", dir, typ, types)
		}
	}
}

// maxLen returns the longest payload among the records of content type typ.
func maxLen(recs []record, typ byte) int {
	n := 0
	for _, rec := range recs {
		if rec.header[0] == typ {
			n = max(n, len(rec.payload))
		}
	}
	return n
}

// relayed is one direction of a relayed TLS connection.
type relayed struct {
	sent    []byte   // what the sending side wrote
	written []byte   // what the relay wrote on with WriteFrame
	recs    []record // the records the relay read
	err     error    // what ended the relay's reading
}

// relayTLS connects a crypto/tls client and server through two
// faultnet.Pipes with a relay between them, one goroutine per direction,
// and has them handshake, echo messages of several sizes and close. It
// returns both directions as the relay saw them.
func relayTLS(t *testing.T, client, server *tls.Config) (toServer, toClient relayed) {
	t.Helper()
	clientEnd, relayClient := faultnet.Pipe()
	serverEnd, relayServer := faultnet.Pipe()
	deadline := time.Now().Add(tlsTestTimeout)
	for _, c := range []net.Conn{clientEnd, relayClient, serverEnd, relayServer} {
		if err := c.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
	}
	clientTap, serverTap := &tap{Conn: clientEnd}, &tap{Conn: serverEnd}
	toServerTap, toClientTap := &tap{Conn: relayServer}, &tap{Conn: relayClient}

	var wg sync.WaitGroup
	wg.Add(3)
	// A relay that fails closes both pipes, so that the peers fail at
	// once rather than at the deadline.
	cut := func(err error) {
		if !errors.Is(err, io.EOF) {
			relayClient.Close()
			relayServer.Close()
		}
	}
	go func() {
		defer wg.Done()
		toServer.recs, toServer.err = relay(relayClient, toServerTap)
		cut(toServer.err)
	}()
	go func() {
		defer wg.Done()
		toClient.recs, toClient.err = relay(relayServer, toClientTap)
		cut(toClient.err)
	}()
	serverErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		serverErr <- echoTLS(tls.Server(serverTap, server))
	}()
	clientErr := talkTLS(tls.Client(clientTap, client), client.MaxVersion)
	if err := <-serverErr; err != nil {
		t.Errorf("server: %v", err)
	}
	if clientErr != nil {
		t.Errorf("client: %v", clientErr)
	}
	// Both peers have closed their ends, which ends both relays.
	wg.Wait()
	relayClient.Close()
	relayServer.Close()

	toServer.sent, toServer.written = clientTap.bytes(), toServerTap.bytes()
	toClient.sent, toClient.written = serverTap.bytes(), toClientTap.bytes()
	return toServer, toClient
}

// talkTLS handshakes as a client, sends messages of several sizes and
// reads each one's echo, then closes its side and reads until the
// server's close_notify.
func talkTLS(c *tls.Conn, version uint16) (err error) {
	defer func() { err = errors.Join(err, c.Close()) }()
	if err := c.Handshake(); err != nil {
		return err
	}
	if v := c.ConnectionState().Version; v != version {
		return fmt.Errorf("negotiated version %#04x, want %#04x", v, version)
	}
	for _, size := range []int{1, 1000, 1 << 14, 40000} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		if _, err := c.Write(msg); err != nil {
			return err
		}
		echo := make([]byte, size)
		if _, err := io.ReadFull(c, echo); err != nil {
			return fmt.Errorf("reading the echo of %d bytes: %w", size, err)
		}
		if !bytes.Equal(echo, msg) {
			return fmt.Errorf("the echo of %d bytes differs", size)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
		return fmt.Errorf("after close_notify: %d bytes and %v, want 0 and io.EOF", n, err)
	}
	return nil
}

// echoTLS handshakes as a server and echoes until the client's
// close_notify, then closes, sending its own.
func echoTLS(c *tls.Conn) error {
	_, err := io.Copy(c, c)
	return errors.Join(err, c.Close())
}

// relay reads TLS records from src with a frame.Reader and writes each to
// dst with WriteFrame, flushing each so that the handshake can proceed. It
// returns the records read and the error that ended reading.
func relay(src, dst net.Conn) ([]record, error) {
	opts := []frame.Option{frame.WithLayout(tlsRecord), frame.WithMaxSize(tlsMaxRecord)}
	r, w := frame.NewReader(src, opts...), frame.NewWriter(dst, opts...)
	var recs []record
	for range maxFrames {
		rec, err := next(r)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
		if err := w.WriteFrame(rec.fields(tlsRecord), rec.payload); err != nil {
			return recs, fmt.Errorf("WriteFrame: %w", err)
		}
		if err := w.Flush(); err != nil {
			return recs, fmt.Errorf("Flush: %w", err)
		}
	}
	return recs, fmt.Errorf("more than %d records", maxFrames)
}

// tap is a net.Conn that keeps a copy of what is written to it.
type tap struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *tap) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tap) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// selfSigned returns a certificate for framesock.test with a new ECDSA
// P-256 key, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "framesock.test"},
		DNSNames:              []string{"framesock.test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
