package frame_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/framesock/framesock/frame"
)

// A framed echo over TCP loopback: the server answers each message in
// upper case, as in the chapter, and the client sends and receives with a
// context.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()

	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := frame.NewConn(nc)
		defer c.Close()
		ctx := context.Background()
		for {
			msg, err := c.Recv(ctx) // io.EOF when the client hangs up
			if err != nil {
				return
			}
			if err := c.Send(ctx, bytes.ToUpper(msg)); err != nil {
				return
			}
		}
	}()

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	c := frame.NewConn(nc)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, msg := range []string{"hello", "framed world"} {
		if err := c.Send(ctx, []byte(msg)); err != nil {
			log.Fatal(err)
		}
		reply, err := c.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s -> %s\n", msg, reply)
	}
	// Output:
	// hello -> HELLO
	// framed world -> FRAMED WORLD
}

// SendMessage writes the chapter's wire format, struct.pack("!I",
// len(msg)) + msg, and RecvMessage reads it back.
func ExampleSendMessage() {
	var stream bytes.Buffer // any io.Writer: a net.Conn, a pipe, a file
	if err := frame.SendMessage(&stream, []byte("hi")); err != nil {
		log.Fatal(err)
	}
	if err := frame.SendMessage(&stream, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wire: % x\n", stream.Bytes())

	for {
		msg, err := frame.RecvMessage(&stream)
		if err != nil {
			fmt.Println("end:", err)
			break
		}
		fmt.Printf("message: %q\n", msg)
	}
	// Output:
	// wire: 00 00 00 02 68 69 00 00 00 00
	// message: "hi"
	// message: ""
	// end: EOF
}

// A Writer gathers small messages into one write; a Reader returns them
// one by one, without allocating, from as few reads as possible.
func ExampleReader() {
	var stream bytes.Buffer
	w := frame.NewWriter(&stream)
	for _, msg := range []string{"one", "two", "three"} {
		if err := w.WriteMessage([]byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil { // nothing reaches stream before Flush
		log.Fatal(err)
	}

	r := frame.NewReader(&stream)
	for msg, err := range r.Messages() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (%d bytes still buffered)\n", msg, r.Buffered())
	}
	// Output:
	// one (16 bytes still buffered)
	// two (9 bytes still buffered)
	// three (0 bytes still buffered)
}

// WriteBatch sends a batch in one write: one system call, and on a
// *net.TCPConn large payloads are not copied.
func ExampleWriter_WriteBatch() {
	var stream bytes.Buffer
	w := frame.NewWriter(&stream)
	if err := w.WriteBatch([]byte("a"), []byte("bc"), []byte("def")); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", stream.Bytes())
	// Output:
	// 00 00 00 01 61 00 00 00 02 62 63 00 00 00 03 64 65 66
}

// Conn adds contexts to Send and Recv. A cancelled Recv returns
// ctx.Err() and loses nothing: the next Recv continues.
func ExampleConn() {
	a, b := net.Pipe()
	client, server := frame.NewConn(a), frame.NewConn(b)
	defer client.Close()
	defer server.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := server.Recv(ctx) // nobody sends: the deadline ends the wait
	fmt.Println("first Recv:", err)

	go client.Send(context.Background(), []byte("late but whole"))
	msg, err := server.Recv(context.Background())
	fmt.Printf("second Recv: %q %v\n", msg, err)
	// Output:
	// first Recv: context deadline exceeded
	// second Recv: "late but whole" <nil>
}

// A peer that is not speaking the protocol gets a clear error instead of
// an allocation of the length it claims.
func ExampleSizeError() {
	r := frame.NewReader(strings.NewReader("GET / HTTP/1.1\r\n\r\n"))
	_, err := r.ReadMessage()
	var se *frame.SizeError
	if errors.As(err, &se) {
		fmt.Println("claimed:", se.Size, "limit:", se.Max)
	}
	fmt.Println(errors.Is(err, frame.ErrTooLarge))
	fmt.Println(err)
	// Output:
	// claimed: 1195725856 limit: 16777216
	// true
	// frame: header 47 45 54 20 claims 1195725856 bytes, above the maximum of 16777216 (looks like text "GET ": the peer speaks HTTP/1.x); raise it with frame.WithMaxSize
}

// WithHeader talks to peers with other length formats, here protobuf's
// delimited streams; WithDiscardOversize skips messages over the limit and
// stays in sync.
func ExampleWithHeader() {
	var stream bytes.Buffer
	w := frame.NewWriter(&stream, frame.WithHeader(frame.Uvarint))
	w.WriteMessage([]byte("small"))
	w.WriteMessage(bytes.Repeat([]byte("x"), 300))
	w.WriteMessage([]byte("next"))
	w.Flush()

	r := frame.NewReader(&stream, frame.WithHeader(frame.Uvarint),
		frame.WithMaxSize(100), frame.WithDiscardOversize(true))
	for msg, err := range r.Messages() {
		if err != nil {
			fmt.Println("skipped:", errors.Is(err, frame.ErrTooLarge))
			continue
		}
		fmt.Printf("%s\n", msg)
	}
	// Output:
	// small
	// skipped: true
	// next
}

// SplitFunc lets code built around bufio.Scanner read frames.
func ExampleHeader_SplitFunc() {
	var stream bytes.Buffer
	frame.SendBatch(&stream, []byte("alpha"), []byte(""), []byte("gamma"))

	sc := bufio.NewScanner(&stream)
	sc.Split(frame.Uint32BE.SplitFunc(1024))
	for sc.Scan() {
		fmt.Printf("%q\n", sc.Bytes())
	}
	fmt.Println("error:", sc.Err())
	// Output:
	// "alpha"
	// ""
	// "gamma"
	// error: <nil>
}

// AppendMessage reads into memory the caller owns, here one buffer reused
// for every message; large payloads go straight into it.
func ExampleReader_AppendMessage() {
	var stream bytes.Buffer
	frame.SendBatch(&stream, []byte("first"), []byte("second"))

	r := frame.NewReader(&stream)
	buf := make([]byte, 0, 64<<10)
	for {
		var err error
		buf, err = r.AppendMessage(buf[:0])
		if err != nil {
			fmt.Println("end:", err)
			break
		}
		fmt.Printf("%s\n", buf)
	}
	// Output:
	// first
	// second
	// end: EOF
}

// A Layout reads any length-prefixed protocol; here PostgreSQL's messages:
// a type byte, then a 4-byte length that counts itself and the payload.
// Header returns the header of each message, with its type byte.
func ExampleReader_Header() {
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	// A Query and a Sync, as a PostgreSQL client sends them.
	stream := strings.NewReader("Q\x00\x00\x00\x0dSELECT 1\x00S\x00\x00\x00\x04")

	r := frame.NewReader(stream, frame.WithLayout(pg))
	for msg, err := range r.Messages() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("type %c, header % x, payload %q\n", r.Header()[0], r.Header(), msg)
	}
	// Output:
	// type Q, header 51 00 00 00 0d, payload "SELECT 1\x00"
	// type S, header 53 00 00 00 04, payload ""
}

// WriteFrame writes a header's fields, here PostgreSQL's type byte, and
// computes the length field from the payload.
func ExampleWriter_WriteFrame() {
	pg := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	var stream bytes.Buffer
	w := frame.NewWriter(&stream, frame.WithLayout(pg))
	if err := w.WriteFrame([]byte("Q"), []byte("SELECT 1\x00")); err != nil {
		log.Fatal(err)
	}
	if err := w.WriteFrame([]byte("S"), nil); err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", stream.Bytes())
	// Output:
	// 51 00 00 00 0d 53 45 4c 45 43 54 20 31 00 53 00 00 00 04
}

// A PostgreSQL server reads the startup message, which has no type byte,
// then switches to the typed layout; the bytes that arrived with the
// startup message are read with the new layout.
func ExampleReader_SetLayout() {
	startup := frame.Layout{Length: frame.Uint32BE, Adjust: -4}
	typed := frame.Layout{Offset: 1, Length: frame.Uint32BE, Adjust: -4}
	stream := strings.NewReader("\x00\x00\x00\x08\x00\x03\x00\x00" + "X\x00\x00\x00\x04")

	r := frame.NewReader(stream, frame.WithLayout(startup))
	msg, err := r.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("startup: % x (%d bytes buffered)\n", msg, r.Buffered())
	if err := r.SetLayout(typed); err != nil {
		log.Fatal(err)
	}
	if _, err := r.ReadMessage(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("then: type %c\n", r.Header()[0])
	// Output:
	// startup: 00 03 00 00 (5 bytes buffered)
	// then: type X
}

// A 64 MiB message, four times what ReadMessage accepts by default,
// streamed through a pipe: the sender reads it from an io.Reader as it
// writes, the receiver hands its bytes to an io.Writer as they arrive,
// and neither holds more than a buffer of it.
func ExampleReader_NextReader() {
	const size = 64 << 20
	pr, pw := io.Pipe()
	go func() {
		w := frame.NewWriter(pw, frame.WithMaxStreamSize(size))
		src := io.LimitReader(rand.NewChaCha8([32]byte{}), size) // a file, a socket...
		err := w.WriteMessageFrom(src, size)
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
	}()

	r := frame.NewReader(pr, frame.WithMaxStreamSize(size))
	n, body, err := r.NextReader()
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.New()
	copied, err := io.Copy(sum, body) // into a file on a TCP socket: splice(2)
	fmt.Println(n, copied, err)
	fmt.Printf("sha256 %x...\n", sum.Sum(nil)[:8])
	_, _, err = r.NextReader()
	fmt.Println(err)
	// Output:
	// 67108864 67108864 <nil>
	// sha256 4291e08003394371...
	// EOF
}
