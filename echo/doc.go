// Package echo implements TCP, framed-TCP and UDP echo servers with the
// lifecycle of [net/http.Server].
package echo
