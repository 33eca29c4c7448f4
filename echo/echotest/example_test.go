package echotest_test

import (
	"fmt"
	"net"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
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

	addr := echotest.Start(t, &echo.Server{Transform: echo.Upper})

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

// StartPacket does the same for a UDP echo server.
func ExampleStartPacket() {
	t := new(exampleT) // in a test: the *testing.T
	defer t.runCleanups()

	addr := echotest.StartPacket(t, &echo.PacketServer{Transform: echo.Upper})

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
