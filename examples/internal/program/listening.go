package program

import (
	"fmt"
	"io"
	"net"
)

// ListeningPrefix starts the first line every server example prints.
const ListeningPrefix = "listening on "

// Listening prints the line every server example starts its output with,
// "listening on ADDR", naming the address actually bound, so that a script
// that asked for port 0 learns the port.
func Listening(stdout io.Writer, bound net.Addr) {
	fmt.Fprintf(stdout, "%s%s\n", ListeningPrefix, bound)
}
