package dualstack_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/framesock/framesock/dualstack"
)

// TestConnConformance runs x/net's net.Conn conformance suite on the
// unmapping *Conn wrapper.
func TestConnConformance(t *testing.T) {
	requireBothStacks(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		l, err := (&dualstack.ListenConfig{Unmap: true}).Listen(context.Background(), "tcp", ":0")
		if err != nil {
			return nil, nil, nil, err
		}
		defer l.Close()
		// MakePipe runs inside the suite's subtests: it reports through
		// its error, never through the outer t.
		ap, ok := dualstack.AddrPort(l.Addr())
		if !ok {
			return nil, nil, nil, fmt.Errorf("listener address %v has no port", l.Addr())
		}
		cli, err := net.DialTimeout("tcp", loopback("127.0.0.1", int(ap.Port())), ioTimeout)
		if err != nil {
			return nil, nil, nil, err
		}
		srv, err := l.Accept()
		if err != nil {
			cli.Close()
			return nil, nil, nil, err
		}
		if _, ok := srv.(*dualstack.Conn); !ok {
			srv.Close()
			cli.Close()
			return nil, nil, nil, fmt.Errorf("Accept returned %T, want *dualstack.Conn", srv)
		}
		return srv, cli, func() { srv.Close(); cli.Close() }, nil
	})
}
