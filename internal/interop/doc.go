// Package interop tests frame's layouts against real implementations of
// the protocols they describe: Go's crypto/tls, x/net's http2.Framer and
// dnsmessage, pgx's pgproto3 and Eclipse Paho's MQTT packets. Each test
// reads what an implementation wrote with a [frame.Reader], writes it back
// with [frame.Writer.WriteFrame], and checks that the bytes are identical
// and that the implementation parses them to the same messages.
//
// It is a module of its own so that the library's go.mod lists none of
// these modules. Run its tests from this directory:
//
//	go test ./...
//
// [frame.Reader]: https://pkg.go.dev/github.com/framesock/framesock/frame#Reader
// [frame.Writer.WriteFrame]: https://pkg.go.dev/github.com/framesock/framesock/frame#Writer.WriteFrame
package interop
