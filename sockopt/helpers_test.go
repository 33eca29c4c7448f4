//go:build unix || windows

package sockopt_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

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

// loopback returns the loopback address for a "tcp4"/"tcp6"-style network.
func loopback(network string) string {
	if network[len(network)-1] == '6' {
		return "[::1]:0"
	}
	return "127.0.0.1:0"
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

// dialPair dials l with plain net and returns both ends.
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
