package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/progtest"
	"github.com/framesock/framesock/frame"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientPrintsReplies(t *testing.T) {
	t.Parallel()
	// The server the framed-server example runs; the e2e test pairs the
	// programs themselves.
	addr := echotest.Start(t, &echo.Server{Framed: true, Transform: echo.Upper}).String()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "defaults",
			want: "\"HELLO\" (5 bytes)\n\"\" (0 bytes)\n\"FRAMING\" (7 bytes)\n\"XXXXXXXXXXXXXXXXXXXXXXXX\"... (1048576 bytes)\n",
		},
		{
			name: "own messages, no large one",
			args: []string{"-big", "0", "one", "", "two words"},
			want: "\"ONE\" (3 bytes)\n\"\" (0 bytes)\n\"TWO WORDS\" (9 bytes)\n",
		},
		{
			name: "largest message the server accepts",
			args: []string{"-big", "16777216", "x"},
			want: "\"X\" (1 bytes)\n\"XXXXXXXXXXXXXXXXXXXXXXXX\"... (16777216 bytes)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := progtest.RunClient(t, run, append([]string{"-addr", addr}, tt.args...)...)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientRejectsHostileHeader: a server whose reply header claims 4 GiB
// gets frame.ErrTooLarge, not a 4 GiB allocation.
func TestClientRejectsHostileHeader(t *testing.T) {
	t.Parallel()
	addr := progtest.Serve(t, func(c net.Conn) {
		_, _ = c.Write(binary.BigEndian.AppendUint32(nil, 0xFFFF_FFFF))
		_, _ = io.Copy(io.Discard, c)
	})
	_, err := progtest.RunClient(t, run, "-addr", addr, "-big", "0", "hi")
	if !errors.Is(err, frame.ErrTooLarge) {
		t.Fatalf("run = %v, want an error matching frame.ErrTooLarge", err)
	}
}

func TestClientCannotConnect(t *testing.T) {
	t.Parallel()
	_, err := progtest.RunClient(t, run, "-addr", progtest.ClosedAddr(t))
	if !errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v, want a one-line error matching ECONNREFUSED", err)
	}
}

func TestClientFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-big", "-1"}, {"-big", "16777217"}, {"-nosuchflag"}} {
		if _, err := progtest.RunClient(t, run, args...); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
