// Package echotest starts the echo servers of package
// [github.com/framesock/framesock/echo] on an ephemeral loopback port for
// the length of a test, as net/http/httptest does for net/http.
//
// [Start] and [StartPacket] listen on 127.0.0.1 (or ::1 on a host without
// IPv4 loopback, or when the server's Network asks for IPv6), serve in a
// new goroutine and return the bound address, ready for dialing. When the
// test ends, its Cleanup shuts the server down gracefully and reports
// through the test a server that did not stop cleanly:
//
//	func TestClient(t *testing.T) {
//		addr := echotest.Start(t, &echo.Server{Transform: echo.Upper})
//		c, err := net.Dial("tcp", addr.String())
//		...
//	}
//
// The functions take a [TB], the small part of [testing.TB] they use, so
// that importing this package does not bring package testing's flags into
// a program.
package echotest
