package dualstack

import (
	"errors"
	"net"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// Listener is a [net.Listener] on one or two sockets; see [Mode]. Its
// methods are safe for concurrent use.
type Listener struct {
	group
	lns []net.Listener // the sockets, wrapped to apply after-connect options

	// With two sockets, the goroutine of each socket accepts and hands
	// each connection over acceptc.
	acceptc chan acceptResult
}

var _ net.Listener = (*Listener)(nil)

// acceptResult is one Accept of one socket, handed to Listener.Accept.
type acceptResult struct {
	c   net.Conn
	err error
}

func newListener(socks []socket, mode Mode, unmap bool, opts []sockopt.Option) *Listener {
	l := &Listener{group: group{mode: mode, unmap: unmap, socks: socks}}
	for _, s := range socks {
		l.lns = append(l.lns, sockopt.NewListener(s.c.(net.Listener), opts...))
	}
	if len(socks) > 1 {
		l.acceptc = make(chan acceptResult)
		l.start(l.acceptLoop)
	}
	return l
}

// Addr returns the address of the first socket: [::]:port for
// [SingleSocket] and [TwoSockets], so its port is the port of both.
func (l *Listener) Addr() net.Addr { return l.socks[0].addr }

// Accept waits for and returns the next connection on any of the sockets,
// with the after-connect options given to Listen applied. With
// [ListenConfig.Unmap] set, a TCP connection is returned as a [*Conn].
// After Close, Accept returns an error matching [net.ErrClosed]; Close
// unblocks a pending Accept.
//
// In [TwoSockets] mode each socket has a goroutine that accepts a
// connection as soon as one is queued and holds it until Accept is called,
// so at most one connection per socket is taken off the kernel's backlog
// early. An accept error of one socket (such as EMFILE) is returned by one
// Accept call and does not stop the other socket.
func (l *Listener) Accept() (net.Conn, error) {
	var c net.Conn
	if l.acceptc == nil {
		var err error
		if c, err = l.lns[0].Accept(); err != nil {
			return nil, err
		}
	} else {
		r, err := receive(&l.group, l.acceptc)
		if err != nil {
			return nil, l.opError("accept", err)
		}
		if r.err != nil {
			return nil, r.err
		}
		c = r.c
	}
	if l.unmap {
		if tc, ok := c.(*net.TCPConn); ok {
			return NewConn(tc), nil
		}
	}
	return c, nil
}

// acceptLoop accepts on socket i until Close. It is paced by Accept: it
// accepts the next connection only after the previous result was taken,
// so an error such as EMFILE is reported once per Accept call, not in a
// tight loop, and a caller's backoff applies to it.
func (l *Listener) acceptLoop(i int) {
	for {
		// lns holds the sockopt wrappers, so the after-connect options are
		// applied here, off the caller's goroutine, before the hand-off.
		c, err := l.lns[i].Accept()
		if err != nil && errors.Is(err, net.ErrClosed) {
			// Only Close closes the sockets.
			return
		}
		select {
		case l.acceptc <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

// SetDeadline sets the deadline for Accept calls, pending ones included,
// as [net.TCPListener.SetDeadline] does: after it, Accept fails with an
// error matching [os.ErrDeadlineExceeded] until the deadline is moved. A
// zero value means no deadline.
func (l *Listener) SetDeadline(t time.Time) error {
	if l.acceptc == nil {
		dl, ok := l.socks[0].c.(interface{ SetDeadline(time.Time) error })
		if !ok {
			return l.opError("set", errors.ErrUnsupported)
		}
		return dl.SetDeadline(t)
	}
	if err := l.setDeadline(t); err != nil {
		return l.opError("set", err)
	}
	return nil
}

// Close closes every socket of the listener and unblocks a pending
// Accept. Connections already accepted stay open. Only the first call
// closes; later calls return an error matching [net.ErrClosed].
func (l *Listener) Close() error { return l.close(l.opError("close", net.ErrClosed)) }

// opError wraps err as net wraps the errors of a [net.TCPListener].
func (l *Listener) opError(op string, err error) error {
	a := l.socks[0].addr
	return &net.OpError{Op: op, Net: a.Network(), Addr: a, Err: err}
}
