package dualstack

import (
	"errors"
	"net"
)

// Errors returned by [Listen] and [ListenPacket] as the cause inside their
// [*net.OpError]; match them with [errors.Is].
var (
	// ErrMode reports that Listen cannot achieve any mode in
	// [ListenConfig.Modes]: the host cannot, the network or address names
	// a family outside the set, or the set holds bits that are no mode.
	// When the host cannot, the error also wraps the reason each allowed
	// mode failed (for example an error matching syscall.EAFNOSUPPORT when
	// IPv6 is missing).
	ErrMode = errors.New("dualstack: no allowed mode is possible")

	// ErrV6Only reports a [sockopt.V6Only] option passed to Listen or
	// ListenPacket. This package sets IPV6_V6ONLY itself on every socket,
	// because the mode it reports depends on it; choose the families with
	// the network ("tcp", "tcp4", "tcp6") or [ListenConfig.Modes] instead.
	ErrV6Only = errors.New("dualstack: V6Only is set by dualstack; choose families with the network or ListenConfig.Modes")
)

// listenError is the one kind of error Listen and ListenPacket return,
// shaped as [net.ListenConfig.Listen] shapes its own: the network and
// address asked for, and the cause.
func listenError(network string, addr net.Addr, err error) error {
	return &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
}

// socketError is the failure of one socket that Listen tried: the network
// and address it asked net for, the address net reported (nil if none),
// and the cause. net reports the failure as a [*net.OpError]; only the
// cause is kept, so that the error Listen returns holds one OpError, its
// own, and errors.As finds that one.
type socketError struct {
	network, address string
	addr             net.Addr
	err              error
}

func newSocketError(network, address string, err error) *socketError {
	se := &socketError{network: network, address: address, err: err}
	for {
		oe, ok := se.err.(*net.OpError)
		if !ok || oe.Err == nil {
			return se
		}
		if se.addr == nil {
			se.addr = oe.Addr
		}
		se.err = oe.Err
	}
}

func (e *socketError) Error() string { return e.network + " " + e.address + ": " + e.err.Error() }
func (e *socketError) Unwrap() error { return e.err }

// v6OnlyError marks a failure to clear IPV6_V6ONLY, which sends Listen on
// to two sockets rather than failing.
type v6OnlyError struct{ err error }

func (e *v6OnlyError) Error() string { return "cannot clear IPV6_V6ONLY: " + e.err.Error() }
func (e *v6OnlyError) Unwrap() error { return e.err }
