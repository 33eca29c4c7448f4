package faultnet_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"syscall"

	"github.com/framesock/framesock/faultnet"
	"github.com/framesock/framesock/frame"
)

// A frame.Reader reads whole messages however the stream is cut: through
// one-byte reads, and with an error that says what happened when the
// stream ends inside a message, cleanly or by a reset.
func Example() {
	faults := []struct {
		name string
		opt  faultnet.Option
	}{
		{"one-byte reads", faultnet.MaxRead(1)},
		{"truncated", faultnet.TruncateAfter(11)}, // 2 bytes into the second message
		{"reset", faultnet.ResetAfter(11)},
	}
	for _, f := range faults {
		client, server := faultnet.Pipe(f.opt)
		// A Pipe is buffered: the client sends everything before anyone reads.
		for _, msg := range []string{"hello", "world"} {
			if err := frame.SendMessage(client, []byte(msg)); err != nil {
				log.Fatal(err)
			}
		}
		client.Close()

		r := frame.NewReader(server)
		fmt.Printf("%s:", f.name)
		for {
			msg, err := r.ReadMessage()
			if err != nil {
				switch {
				case err == io.EOF:
					fmt.Println(" then io.EOF")
				case errors.Is(err, io.ErrUnexpectedEOF):
					fmt.Println(" then io.ErrUnexpectedEOF")
				case errors.Is(err, syscall.ECONNRESET):
					fmt.Println(" then ECONNRESET")
				}
				break
			}
			fmt.Printf(" %q", msg)
		}
		server.Close()
	}
	// Output:
	// one-byte reads: "hello" "world" then io.EOF
	// truncated: "hello" then io.ErrUnexpectedEOF
	// reset: "hello" then ECONNRESET
}

// The faults of a Pipe also wrap a real connection, here a TCP one whose
// server sends its reply a byte per write and ends its stream after 3
// bytes (with CloseWrite, so the client reads EOF).
func ExampleWrap() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c = faultnet.Wrap(c, faultnet.Outbound(faultnet.Fragment(1), faultnet.TruncateAfter(3)))
		defer c.Close()
		c.Write([]byte("reply"))
	}()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	fmt.Printf("%q %v\n", got, err)
	// Output: "rep" <nil>
}
