// Package framesock is the root of a small family of packages for framed
// socket messaging over TCP and UDP: a textbook chapter on socket
// programming (TCP and UDP clients and servers, IPv6 and dual-stack
// sockets, timeouts, socket options, partial reads and length-prefixed
// framing) made into importable, tested Go.
//
// The root package holds no code; import the package you need:
//
//   - [github.com/framesock/framesock/frame]: length-prefixed messages over
//     [io.Reader], [io.Writer] and [net.Conn]. The default wire format is a
//     4-byte unsigned big-endian length followed by the payload, byte for byte
//     Python's struct.pack("!I", len(msg)) + msg. RecvExactly, SendMessage and
//     RecvMessage mirror the chapter; Reader, Writer and Conn are the
//     buffered, allocation-free and context-aware forms for services.
//   - [github.com/framesock/framesock/sockopt]: SO_REUSEADDR, SO_REUSEPORT,
//     TCP_NODELAY, keepalive, buffer sizes, SO_LINGER and IPV6_V6ONLY as
//     values for [net.ListenConfig] and [net.Dialer] Control functions, each
//     applied at the moment it takes effect and read back as the kernel
//     holds it.
//   - [github.com/framesock/framesock/dualstack]: one listener for IPv4 and
//     IPv6 that reports the mode it achieved and normalises peer addresses.
//   - [github.com/framesock/framesock/echo]: TCP, framed-TCP and UDP echo
//     servers with the lifecycle of [net/http.Server], built from the above.
//   - [github.com/framesock/framesock/faultnet]: for tests, an in-memory,
//     buffered connection that behaves as TCP, and wrappers for real
//     connections and listeners, that fail as networks do: short reads,
//     fragments, latency, stalls, resets, truncation and corruption, the
//     same way for the same seed.
//
// The programs under examples/ mirror the chapter section by section;
// go run ./examples/tour runs every piece end to end on loopback.
//
// Dependency direction: echo may import frame, sockopt and dualstack;
// dualstack may import sockopt; frame, sockopt and faultnet import none of
// the others, and the tests of any package may use faultnet.
package framesock
