package echo_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"github.com/framesock/framesock/echo"
)

// A unit test starts an echo server on an ephemeral loopback port in one
// call; the server stops when the test ends.
func ExampleStart() {
	t := &testing.T{} // in a real test, the *testing.T it receives
	_ = t
	fmt.Println("see TestExampleStart")
	// Output: see TestExampleStart
}

func TestSmoke(t *testing.T) {
	addr := echo.Start(t, &echo.Server{Transform: echo.Upper})
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "hello\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "HELLO\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}
