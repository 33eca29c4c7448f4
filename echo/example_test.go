package echo_test

import (
	"context"
	"fmt"
	"net"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/frame"
)

// A framed echo server answers each length-prefixed message with one
// message; here a client sends two with frame.SendMessage, the chapter's
// send_message, and reads the replies.
func ExampleServer_framed() {
	s := &echo.Server{Address: "127.0.0.1:0", Framed: true, Transform: echo.Upper}
	l, err := s.Listen(context.Background())
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	for _, msg := range []string{"first message", "second"} {
		if err := frame.SendMessage(c, []byte(msg)); err != nil {
			panic(err)
		}
		reply, err := frame.RecvMessage(c)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%q\n", reply)
	}
	c.Close()

	if err := s.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(<-served)
	// Output:
	// "FIRST MESSAGE"
	// "SECOND"
	// echo: server closed
}

// A UDP echo server answers each datagram with one datagram.
func ExamplePacketServer() {
	s := &echo.PacketServer{Address: "127.0.0.1:0", Transform: echo.Upper}
	pc, err := s.Listen(context.Background())
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		panic(err)
	}
	c.Write([]byte("ping"))
	reply := make([]byte, 64)
	n, _ := c.Read(reply)
	fmt.Printf("%s\n", reply[:n])
	c.Close()

	if err := s.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(<-served)
	// Output:
	// PING
	// echo: server closed
}

func ExampleUpper() {
	fmt.Printf("%s\n", echo.Upper([]byte("héllo, wörld")))
	// Output: HéLLO, WöRLD
}
