package echo_test

import (
	"context"
	"fmt"
	"net"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/frame"
)

// exampleT stands in for the *testing.T that a test passes to Start: an
// Example function has none. It runs the cleanups Start registers when
// the example ends, as the testing package does when a test ends.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()                        {}
func (t *exampleT) Errorf(format string, a ...any) { fmt.Printf(format+"\n", a...) }
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) runCleanups() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A unit test starts an echo server on an ephemeral loopback port with one
// call, and points the code under test at the address. In a test, pass the
// test's t; the server is shut down when the test ends.
func ExampleStart() {
	t := new(exampleT) // in a test: the *testing.T
	defer t.runCleanups()

	addr := echo.Start(t, &echo.Server{Transform: echo.Upper})

	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("hello, world"))
	reply := make([]byte, 64)
	n, _ := c.Read(reply)
	fmt.Printf("%s\n", reply[:n])
	// Output: HELLO, WORLD
}

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
	t := new(exampleT) // in a test: the *testing.T
	defer t.runCleanups()

	addr := echo.StartPacket(t, &echo.PacketServer{Transform: echo.Upper})

	c, err := net.Dial("udp", addr.String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	reply := make([]byte, 64)
	n, _ := c.Read(reply)
	fmt.Printf("%s\n", reply[:n])
	// Output: PING
}

func ExampleUpper() {
	fmt.Printf("%s\n", echo.Upper([]byte("héllo, wörld")))
	// Output: HéLLO, WöRLD
}
