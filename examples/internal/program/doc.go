// Package program is the plumbing that the example programs share and that
// none of them is about: [Main], which turns SIGINT and SIGTERM into a
// cancelled context and run's result into an exit status; the command lines
// of the servers ([NewServer]: -addr and -grace) and the clients
// ([NewClient]: -addr); [Listening], the "listening on HOST:PORT" line a
// server starts its output with; [Server.Serve], which serves until the
// first signal and then shuts down gracefully; and [IPv6Loopback].
//
// Each example's main.go keeps the code of its chapter section. To build
// one on its own, copy this package beside it, or inline the few lines of
// it that the program calls.
package program
