package frame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/framesock/framesock/frame"
)

// goldenLengths are the message lengths in testdata/chapter_frames.bin.
var goldenLengths = []int{0, 1, 255, 256, 65536, 1 << 20}

// goldenPayload is gen_golden.py's payload(n).
func goldenPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*31 + n) % 251)
	}
	return b
}

func goldenMessages() [][]byte {
	var msgs [][]byte
	for _, n := range goldenLengths {
		msgs = append(msgs, goldenPayload(n))
	}
	return msgs
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenChapterFrames: frames made by Python's struct.pack("!I",
// len(m)) + m (testdata/gen_golden.py) read back equal through every read
// API, and every write API produces the same bytes.
func TestGoldenChapterFrames(t *testing.T) {
	t.Parallel()
	golden := readGolden(t, "chapter_frames.bin")
	msgs := goldenMessages()
	for _, api := range readAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			got, err := collect(t, api.read(bytes.NewReader(golden)))
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if diff := diffMessages(msgs, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("RecvMessage", func(t *testing.T) {
		t.Parallel()
		r := bytes.NewReader(golden)
		got, err := collect(t, func() ([]byte, error) { return frame.RecvMessage(r) })
		if err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
		if diff := diffMessages(msgs, got); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
	for _, api := range writeAPIs {
		t.Run(api.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := api.write(&buf, msgs); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(golden, buf.Bytes()) {
				t.Error("output differs from the bytes Python wrote")
			}
		})
	}
	t.Run("SendMessage", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		for _, m := range msgs {
			if err := frame.SendMessage(&buf, m); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(golden, buf.Bytes()) {
			t.Error("output differs from the bytes Python wrote")
		}
	})
}

// TestGoldenChapterErrors: truncated streams and oversize claims written
// by Python give the documented errors.
func TestGoldenChapterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		n    int // messages before the error
		want error
	}{
		{"chapter_cut_header.bin", 1, io.ErrUnexpectedEOF},
		{"chapter_cut_payload.bin", 1, io.ErrUnexpectedEOF},
		{"chapter_claim_2gib.bin", 0, frame.ErrTooLarge},
		{"chapter_claim_4gib.bin", 0, frame.ErrTooLarge},
	}
	for _, tt := range tests {
		input := readGolden(t, tt.file)
		reads := map[string]func() ([]byte, error){}
		for _, api := range readAPIs {
			reads[api.name] = api.read(bytes.NewReader(input))
		}
		r := bytes.NewReader(input)
		reads["RecvMessage"] = func() ([]byte, error) { return frame.RecvMessage(r) }
		for name, read := range reads {
			t.Run(tt.file+"/"+name, func(t *testing.T) {
				t.Parallel()
				got, err := collect(t, read)
				if len(got) != tt.n || !errors.Is(err, tt.want) {
					t.Fatalf("%d messages then %v; want %d then %v", len(got), err, tt.n, tt.want)
				}
			})
		}
	}
}

// TestPythonInterop runs the chapter's own recv_message and send_message
// (testdata/chapter_peer.py) as an echo peer over TCP loopback: what we
// write parses there, and what it writes parses here.
func TestPythonInterop(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("skipping: python3 not found: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: TCP loopback unavailable: %v", err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "chapter_peer.py"), fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cmd.Wait(); err != nil {
			t.Errorf("python peer: %v\n%s", err, stderr.Bytes())
		}
	}()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := frame.NewConn(nc)

	msgs := goldenMessages()
	// Every write path: SendMessage (joined and writev), Conn.Send and a
	// batch. The writer runs beside the reader, since the peer echoes
	// while we still write.
	sent := make(chan error, 1)
	go func() {
		var err error
		for i, m := range msgs {
			switch i % 3 {
			case 0:
				err = frame.SendMessage(nc, m)
			case 1:
				err = c.Send(ctx, m)
			case 2:
				err = c.SendBatch(ctx, m)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = nc.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	var got [][]byte
	for range len(msgs) + 1 {
		m, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d echoes: %v\n%s", len(got), err, stderr.Bytes())
		}
		got = append(got, bytes.Clone(m))
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	want := append(msgs, []byte(fmt.Sprintf("done %d", len(msgs))))
	if diff := diffMessages(want, got); diff != "" {
		t.Errorf("echoes (-want +got):\n%s", diff)
	}
	if _, err := c.Recv(ctx); err != io.EOF {
		t.Errorf("after the peer closed: err = %v, want io.EOF", err)
	}
}
