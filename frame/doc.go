// Package frame implements length-prefixed messages over [io.Reader],
// [io.Writer] and [net.Conn].
package frame
