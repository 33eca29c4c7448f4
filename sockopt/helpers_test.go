package sockopt_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/sockopt"
)

// keepAlive3053 differs from net's 15s/15s/9 and from every kernel's
// default, so a read-back cannot pass by chance.
var keepAlive3053 = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}

// skipUnsupported skips t unless this platform supports every option.
func skipUnsupported(t *testing.T, opts ...sockopt.Option) {
	t.Helper()
	for _, o := range opts {
		if err := sockopt.Supported(o); err != nil {
			t.Skipf("skipping: %v", err)
		}
	}
}

// get reads the options of c, failing t if it cannot.
func get(t *testing.T, c syscall.Conn) sockopt.Settings {
	t.Helper()
	s, err := sockopt.Get(c)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return s
}

// afterConnect holds what the options of afterConnectOpts leave on a
// connection.
type afterConnect struct {
	NoDelay   bool
	KeepAlive net.KeepAliveConfig
}

// afterConnectOpts returns NoDelay(false) and, where this platform can
// set the timers, KeepAlive(keepAlive3053): options that net overwrites
// on every TCP connection after Control has run. It skips t on a platform
// without socket options.
func afterConnectOpts(t *testing.T) ([]sockopt.Option, afterConnect) {
	t.Helper()
	opts := []sockopt.Option{sockopt.NoDelay(false)}
	skipUnsupported(t, opts...)
	want := afterConnect{NoDelay: false}
	if ka := sockopt.KeepAlive(keepAlive3053); sockopt.Supported(ka) == nil {
		opts = append(opts, ka)
		want.KeepAlive = keepAlive3053
	}
	return opts, want
}

// checkAfterConnect compares what c holds with want, from afterConnectOpts.
func checkAfterConnect(t *testing.T, c net.Conn, want afterConnect) {
	t.Helper()
	s := get(t, c.(syscall.Conn))
	got := afterConnect{NoDelay: s.NoDelay}
	if want.KeepAlive != (net.KeepAliveConfig{}) {
		got.KeepAlive = s.KeepAlive
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%v: after-connect options (-want +got):\n%s", c.LocalAddr(), diff)
	}
}

var (
	ipv6Once sync.Once
	ipv6Err  error
)

// skipWithoutIPv6 skips t when IPv6 loopback cannot be used.
func skipWithoutIPv6(t *testing.T) {
	t.Helper()
	ipv6Once.Do(func() {
		var l net.Listener
		l, ipv6Err = net.Listen("tcp6", "[::1]:0")
		if ipv6Err == nil {
			l.Close()
		}
	})
	if ipv6Err != nil {
		t.Skipf("skipping: IPv6 loopback unavailable: %v", ipv6Err)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// acceptOne accepts one connection from l, failing t after the deadline.
func acceptOne(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if errors.Is(r.err, errors.ErrUnsupported) {
			// An after-connect option the connection lacks, such as
			// UserTimeout on an MPTCP connection.
			t.Skipf("skipping: Accept: %v", r.err)
		}
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(10 * time.Second):
		l.Close() // unblocks the goroutine so goleak stays quiet
		<-ch
		t.Fatal("Accept: no connection within 10s")
		return nil
	}
}

// listenTCP4 listens on 127.0.0.1:0 until the test ends.
func listenTCP4(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// dialPair dials l with plain net and returns both ends.
func dialPair(t *testing.T, l net.Listener) (dialed, accepted net.Conn) {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(testContext(t), l.Addr().Network(), l.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, acceptOne(t, l)
}
