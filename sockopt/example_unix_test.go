//go:build unix

// Windows has no ReusePort, so this example is Unix-only.

package sockopt_test

import (
	"errors"
	"fmt"
	"log"
	"net"
	"syscall"

	"github.com/framesock/framesock/sockopt"
)

// Apply changes options on a live connection; a before-bind option there
// is an error rather than a silent no-op.
func ExampleApply() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := sockopt.Apply(c.(syscall.Conn), sockopt.NoDelay(false)); err != nil {
		log.Fatal(err)
	}
	err = sockopt.Apply(c.(syscall.Conn), sockopt.ReusePort(true))
	fmt.Println(errors.Is(err, sockopt.ErrTooLate))
	// Output: true
}
