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

// A framed echo server serves any length-prefixed layout: here
// PostgreSQL's, a type byte, then a 4-byte length that counts itself.
// The transform sees the payload; the reply keeps the request's type
// byte, with a length computed for the reply.
func ExampleServer_layout() {
	postgres := frame.WithLayout(frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4})
	s := &echo.Server{
		Address:      "127.0.0.1:0",
		Framed:       true,
		FrameOptions: []frame.Option{postgres},
		Transform:    func(p []byte) []byte { return append(echo.Upper(p), ';') },
	}
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
	w, r := frame.NewWriter(c, postgres), frame.NewReader(c, postgres)
	if err := w.WriteFrame([]byte("Q"), []byte("select 1")); err != nil {
		panic(err)
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	reply, err := r.ReadMessage()
	if err != nil {
		panic(err)
	}
	fmt.Printf("header % x, payload %q\n", r.Header(), reply)
	c.Close()

	if err := s.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(<-served)
	// Output:
	// header 51 00 00 00 0d, payload "SELECT 1;"
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
