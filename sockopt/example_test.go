//go:build unix || windows

// The examples need socket options, which js, wasip1 and plan9 lack.

package sockopt_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"syscall"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// Options in a net.ListenConfig: Linger set on the listener before bind is
// inherited by every accepted connection.
func ExampleControl() {
	lc := net.ListenConfig{Control: sockopt.Control(sockopt.Linger(5 * time.Second))}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	s, err := sockopt.Get(a.(syscall.Conn))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accepted conn Linger:", s.Linger)
	// Output: accepted conn Linger: 5s
}

// A net.Dialer's Control cannot turn off TCP_NODELAY: net sets it again
// after Control runs. sockopt.Dialer sets it after net is done.
func ExampleDialer() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()

	nd := net.Dialer{Timeout: 5 * time.Second, Control: sockopt.Control(sockopt.NoDelay(false))}
	c1, err := nd.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c1.Close()

	d := sockopt.Dialer{
		Dialer:  net.Dialer{Timeout: 5 * time.Second},
		Options: []sockopt.Option{sockopt.NoDelay(false)},
	}
	c2, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c2.Close()

	s1, err := sockopt.Get(c1.(syscall.Conn))
	if err != nil {
		log.Fatal(err)
	}
	s2, err := sockopt.Get(c2.(syscall.Conn))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("net.Dialer + Control: NoDelay", s1.NoDelay)
	fmt.Println("sockopt.Dialer:       NoDelay", s2.NoDelay)
	// Output:
	// net.Dialer + Control: NoDelay true
	// sockopt.Dialer:       NoDelay false
}

// Listen applies keepalive to every accepted connection, where net would
// set its own 15s/15s/9.
func ExampleListen() {
	ka := net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}
	l, err := sockopt.Listen(context.Background(), "tcp", "127.0.0.1:0", sockopt.KeepAlive(ka))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()

	s, err := sockopt.Get(a.(syscall.Conn))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("idle %v, interval %v, count %d\n", s.KeepAlive.Idle, s.KeepAlive.Interval, s.KeepAlive.Count)
	// Output: idle 30s, interval 5s, count 3
}

// Chain runs a Control of your own beside the options.
func ExampleChain() {
	mine := func(network, address string, c syscall.RawConn) error {
		fmt.Println("my control for", network)
		return nil
	}
	lc := net.ListenConfig{Control: sockopt.Chain(mine, sockopt.Control(sockopt.ReadBuffer(1<<16)))}
	lc.SetMultipathTCP(false) // one Control call, for a stable output
	l, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	// Output: my control for tcp4
}
