package dualstack_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// A dual-stack listener and a net.Dialer that reaches it over either
// family. The dialer is plain net: given a name with addresses of both
// families it races them after FallbackDelay (RFC 6555), and sockopt
// options reach its sockets through Control.
func ExampleListen() {
	ctx := context.Background()
	l, err := dualstack.Listen(ctx, "tcp", ":0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	fmt.Println("mode:", l.Mode())
	_, port, _ := net.SplitHostPort(l.Addr().String())

	d := net.Dialer{
		// 300 ms is the default: if the first address of a name has not
		// answered by then, the other family is dialed in parallel. A
		// negative value dials one address after the other.
		FallbackDelay: 300 * time.Millisecond,
		// Before-bind and inherited options go in through Control; use
		// sockopt.Dialer for NoDelay and KeepAlive, which net sets again
		// after Control.
		Control: sockopt.Control(sockopt.Linger(5 * time.Second)),
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			log.Fatal(err)
		}
		s, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		peer, _ := dualstack.AddrPort(s.RemoteAddr())
		if host == "localhost" {
			// Which family wins depends on the host's resolver; the
			// listener serves either.
			fmt.Printf("%s: server sees a loopback peer: %t\n", host, peer.Addr().IsLoopback())
		} else {
			fmt.Printf("%s: server sees %v\n", host, peer.Addr())
		}
		if host == "::1" {
			st, _ := sockopt.Get(c.(*net.TCPConn))
			fmt.Println("client linger:", st.Linger)
		}
		s.Close()
		c.Close()
	}
	// Output:
	// mode: SingleSocket
	// 127.0.0.1: server sees 127.0.0.1
	// ::1: server sees ::1
	// client linger: 5s
	// localhost: server sees a loopback peer: true
}

// Requiring both families: on a host without IPv6, Listen fails with an
// error matching ErrMode instead of quietly listening on IPv4 alone.
func ExampleListenConfig_Modes() {
	lc := dualstack.ListenConfig{Modes: dualstack.BothFamilies, Unmap: true}
	l, err := lc.Listen(context.Background(), "tcp", ":0", sockopt.ReusePort(true))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	fmt.Println(l.Mode(), len(l.Addrs()), "socket")
	// Output:
	// SingleSocket 1 socket
}

// A UDP echo over both families. ReadFrom reports the IPv4 client as
// 127.0.0.1 because Unmap is set; WriteTo takes that address as it is.
func ExampleListenConfig_ListenPacket() {
	lc := dualstack.ListenConfig{Unmap: true}
	pc, err := lc.ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())

	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))

	buf := make([]byte, 64)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		log.Fatal(err)
	}
	ap, _ := dualstack.AddrPort(from)
	fmt.Printf("%s from %v\n", buf[:n], ap.Addr())
	pc.WriteTo(buf[:n], from)
	n, _ = c.Read(buf)
	fmt.Printf("echoed %s\n", buf[:n])
	// Output:
	// hello from 127.0.0.1
	// echoed hello
}

// A peer address from a dual-stack socket, as net reports it and
// normalised.
func ExampleAddrPort() {
	a := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 4242}
	fmt.Println(a.String())
	fmt.Println(a.AddrPort())
	ap, _ := dualstack.AddrPort(a)
	fmt.Println(ap)
	// Output:
	// 192.0.2.1:4242
	// [::ffff:192.0.2.1]:4242
	// 192.0.2.1:4242
}
