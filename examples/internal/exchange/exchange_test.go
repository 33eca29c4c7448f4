package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/exchange"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, progtest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// TestTCP: the reply is whole however the server writes it, because the
// half-close tells the server the request is complete and the reply is read
// to EOF; a reply past MaxReply is cut there.
func TestTCP(t *testing.T) {
	t.Parallel()
	upper := echotest.Start(t, &echo.Server{Transform: echo.Upper}).String()
	// A server that answers only once the request has ended, in many
	// small writes.
	trickle := progtest.Serve(t, func(c net.Conn) {
		req, _ := io.ReadAll(c)
		for _, b := range bytes.ToUpper(req) {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
		_ = c.Close()
	})
	// A server that never stops sending.
	flood := progtest.Serve(t, func(c net.Conn) {
		_, _ = io.Copy(c, zeros{})
	})
	tests := []struct {
		name, addr, msg, want string
	}{
		{name: "echo.Upper", addr: upper, msg: "Hello, TCP!", want: "HELLO, TCP!"},
		{name: "large", addr: upper, msg: strings.Repeat("ab", 300_000), want: strings.Repeat("AB", 300_000)},
		{name: "reply after EOF, a byte at a time", addr: trickle, msg: "hello", want: "HELLO"},
		{name: "endless reply", addr: flood, msg: "hello", want: strings.Repeat("\x00", exchange.MaxReply)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), progtest.Timeout)
			defer cancel()
			got, err := exchange.TCP(ctx, dial(t, tt.addr), []byte(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) || string(got) != tt.want {
				t.Errorf("reply of %d bytes differs from the %d bytes wanted: %.40q", len(got), len(tt.want), got)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestTCPContext: when ctx ends while the exchange waits for the reply,
// it stops at once, and the error says why (ctx's cause) while keeping the
// deadline error that unblocked the read.
func TestTCPContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		timeout   time.Duration // of ctx; 0: cancelled once the request is read
		wantCause error
	}{
		{name: "deadline", timeout: 50 * time.Millisecond, wantCause: context.DeadlineExceeded},
		{name: "cancelled", wantCause: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(context.Background(), tt.timeout)
			}
			defer cancel()
			// The server reads the whole request and never answers.
			addr := progtest.Serve(t, func(c net.Conn) {
				_, _ = io.Copy(io.Discard, c)
				if tt.timeout == 0 {
					cancel()
				}
			})
			_, err := exchange.TCP(ctx, dial(t, addr), []byte("hello"))
			if !errors.Is(err, tt.wantCause) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("TCP = %v, want %v wrapping os.ErrDeadlineExceeded", err, tt.wantCause)
			}
			if !strings.HasPrefix(err.Error(), "receive: ") {
				t.Errorf("error %q does not start with the step, \"receive: \"", err)
			}
		})
	}
}
