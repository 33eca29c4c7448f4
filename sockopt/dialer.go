package sockopt

import (
	"context"
	"net"
	"syscall"
)

// Dialer dials connections with options: the [BeforeBind] and [Inherited]
// ones through Control, the [AfterConnect] ones on the connected socket,
// after net has set its own defaults. The zero value dials like the zero
// [net.Dialer] with no options.
type Dialer struct {
	// Dialer is the net.Dialer to dial with. Its Control or ControlContext
	// runs before the options are set.
	Dialer net.Dialer

	// Options are the socket options to set on each connection.
	Options []Option
}

// DialContext dials like [net.Dialer.DialContext] and sets d.Options on the
// connection. If an option fails, the connection is closed and the error
// returned. Every option is checked before the socket is created.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if err := validateAll(d.Options); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	before, after := splitAfter(d.Options)
	nd := d.Dialer
	if len(before) > 0 {
		ctl := Control(before...)
		if cc := nd.ControlContext; cc != nil {
			nd.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
				if err := cc(ctx, network, address, c); err != nil {
					return err
				}
				return ctl(network, address, c)
			}
		} else {
			nd.Control = Chain(nd.Control, ctl)
		}
	}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if err := applyConn(c, after); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dial dials address with opts set as [Dialer] does.
func Dial(ctx context.Context, network, address string, opts ...Option) (net.Conn, error) {
	d := Dialer{Options: opts}
	return d.DialContext(ctx, network, address)
}
