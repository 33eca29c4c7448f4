package sockopt_test

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/framesock/framesock/sockopt"
)

// Dial and Dialer set the after-connect options on the dialed connection,
// after net has set its own TCP_NODELAY and keepalive.
func TestDialerAfterConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dial func(ctx context.Context, address string, opts []sockopt.Option) (net.Conn, error)
	}{
		{"Dial", func(ctx context.Context, address string, opts []sockopt.Option) (net.Conn, error) {
			return sockopt.Dial(ctx, "tcp4", address, opts...)
		}},
		{"Dialer", func(ctx context.Context, address string, opts []sockopt.Option) (net.Conn, error) {
			d := sockopt.Dialer{Options: opts}
			return d.DialContext(ctx, "tcp4", address)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, want := afterConnectOpts(t)
			l := listenTCP4(t)
			c, err := tt.dial(testContext(t), l.Addr().String(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			acceptOne(t, l)
			checkAfterConnect(t, c, want)
		})
	}
}

// Dialer runs the caller's Control or ControlContext first, then the
// options.
func TestDialerComposes(t *testing.T) {
	t.Parallel()
	const mineBuf, oursBuf = 4096, 65536
	skipUnsupported(t, sockopt.ReadBuffer(oursBuf), sockopt.NoDelay(false))
	l := listenTCP4(t)
	tests := []struct {
		name string
		d    func(mine func(network, address string, c syscall.RawConn) error) net.Dialer
	}{
		{"Control", func(mine func(string, string, syscall.RawConn) error) net.Dialer {
			return net.Dialer{Control: mine}
		}},
		{"ControlContext", func(mine func(string, string, syscall.RawConn) error) net.Dialer {
			return net.Dialer{ControlContext: func(_ context.Context, network, address string, c syscall.RawConn) error {
				return mine(network, address, c)
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The caller's function asks for a small SO_RCVBUF, the
			// options for a large one: the size that holds shows which
			// ran last.
			var calls atomic.Int32
			mineCtl := sockopt.Control(sockopt.ReadBuffer(mineBuf))
			mine := func(network, address string, c syscall.RawConn) error {
				calls.Add(1)
				return mineCtl(network, address, c)
			}
			d := sockopt.Dialer{Dialer: tt.d(mine), Options: []sockopt.Option{
				sockopt.ReadBuffer(oursBuf), sockopt.NoDelay(false),
			}}
			c, err := d.DialContext(testContext(t), "tcp4", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			acceptOne(t, l)
			if calls.Load() == 0 {
				t.Fatal("the caller's function was not called")
			}
			// Linux reports twice the size asked for (socket(7)), so
			// compare with the request rather than expect it exactly.
			got := get(t, c.(syscall.Conn))
			if got.ReadBuffer < oursBuf || got.NoDelay {
				t.Errorf("ReadBuffer=%d NoDelay=%t, want at least %d (the options ran after the caller's function), false",
					got.ReadBuffer, got.NoDelay, oursBuf)
			}
		})
	}
}
