package faultnet

import (
	"net"
	"sync/atomic"
)

// listener wraps every connection it accepts; see WrapListener.
type listener struct {
	net.Listener
	cfg      config
	accepted atomic.Uint64
}

// Accept accepts a connection from the wrapped listener and wraps it with
// faults of its own, seeded by its place in the order of acceptance.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cfg := l.cfg
	cfg.seed += l.accepted.Add(1) - 1
	return newConn(c, cfg), nil
}
