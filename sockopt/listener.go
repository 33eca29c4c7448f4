package sockopt

import (
	"context"
	"net"
	"syscall"
)

// Listener is a [net.Listener] that applies the [AfterConnect] options to
// every connection it accepts. Use [Listen] to create one with all the
// options set, or [NewListener] to wrap a listener built some other way.
type Listener struct {
	net.Listener
	after []Option
}

var _ syscall.Conn = (*Listener)(nil)

// Listen listens on the local network address like [net.ListenConfig.Listen]
// with [Control] set to the [BeforeBind] and [Inherited] options of opts,
// and returns a [*Listener] that applies the [AfterConnect] ones to each
// accepted connection. Every option is checked before the socket is
// created.
func Listen(ctx context.Context, network, address string, opts ...Option) (*Listener, error) {
	if err := validateAll(opts); err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	before, after := splitAfter(opts)
	lc := net.ListenConfig{Control: Control(before...)}
	l, err := lc.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &Listener{Listener: l, after: after}, nil
}

// NewListener wraps l so that Accept applies the [AfterConnect] options of
// opts to each accepted connection; it ignores the other options, which
// belong in the Control of whatever created l. It does not check opts:
// Accept reports a bad one.
//
// If the options fail on a connection, Accept closes that connection and
// returns the error, so none is handed out without its options; the
// listener stays open. The error is a [net.Error] whose Temporary method
// reports true, so accept loops such as [net/http.Server.Serve] back off
// and keep serving instead of returning.
func NewListener(l net.Listener, opts ...Option) *Listener {
	_, after := splitAfter(opts)
	return &Listener{Listener: l, after: after}
}

// SyscallConn returns the raw connection of the wrapped listener, so that
// [Get] and [Apply] work on a *Listener. It fails with [ErrNotApplicable]
// if the wrapped listener has none.
func (l *Listener) SyscallConn() (syscall.RawConn, error) {
	sc, ok := l.Listener.(syscall.Conn)
	if !ok {
		return nil, errNoSyscallConn(l.Listener)
	}
	return sc.SyscallConn()
}

// Accept waits for the next connection, applies the [AfterConnect] options
// to it and returns it.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := applyConn(c, l.after); err != nil {
		c.Close()
		return nil, acceptError{err}
	}
	return c, nil
}

// acceptError marks a failure that concerns one accepted connection, not
// the listener. Temporary is deprecated in net, but it is what
// net/http.Server and most accept loops test to decide whether to go on.
type acceptError struct{ err error }

func (e acceptError) Error() string   { return e.err.Error() }
func (e acceptError) Unwrap() error   { return e.err }
func (e acceptError) Timeout() bool   { return false }
func (e acceptError) Temporary() bool { return true }
