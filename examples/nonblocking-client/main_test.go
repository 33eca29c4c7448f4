package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/progtest"
)

// goleak also proves the point of the example: every goroutine it starts
// has returned by the time run does, timeout or not.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAllReplies(t *testing.T) {
	t.Parallel()
	addr := echotest.Start(t, &echo.Server{Transform: echo.Upper}).String()
	for _, conns := range []int{1, 3, 50} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			t.Parallel()
			out, err := progtest.RunClient(t, run, "-addr", addr, "-conns", fmt.Sprint(conns))
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			// Lines come in the order connections became ready, so check
			// that each is there rather than their order.
			for id := range conns {
				for _, want := range []string{
					fmt.Sprintf("conn %d: HELLO FROM CONN %d\n", id, id),
					fmt.Sprintf("conn %d: connected 127.0.0.1:", id),
				} {
					if !strings.Contains(out, want) {
						t.Errorf("output lacks %q:\n%s", want, out)
					}
				}
			}
			last := regexp.MustCompile(fmt.Sprintf(`\n%d of %d replies in \S+\n$`, conns, conns))
			if !last.MatchString(out) {
				t.Errorf("output does not end with the summary %v:\n%s", last, out)
			}
			if n := strings.Count(out, "\n"); n != 2*conns+1 {
				t.Errorf("got %d lines, want %d:\n%s", n, 2*conns+1, out)
			}
		})
	}
}

func TestGivesUpOnSilentServer(t *testing.T) {
	t.Parallel()
	addr := progtest.SilentListener(t).Addr().String()
	// The timeout must leave the three loopback connects time to complete
	// even on a loaded machine: they are asserted below.
	out, err := progtest.RunClient(t, run, "-addr", addr, "-conns", "3", "-timeout", "1s")
	want := "timed out after 1s: 0 of 3 replies from " + addr
	if err == nil || err.Error() != want {
		t.Fatalf("run = %v, want %q", err, want)
	}
	// All three connected (the kernel backlog accepts them) but none replied.
	if n := strings.Count(out, ": connected "); n != 3 {
		t.Errorf("%d connected lines, want 3:\n%s", n, out)
	}
}

func TestCannotConnect(t *testing.T) {
	t.Parallel()
	_, err := progtest.RunClient(t, run, "-addr", progtest.ClosedAddr(t), "-conns", "4")
	if !errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v, want a one-line error matching ECONNREFUSED", err)
	}
	if !strings.HasPrefix(err.Error(), "4 of 4 connections failed") {
		t.Errorf("error %q does not count the failures", err)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-conns", "0"}, {"-conns", "1001"}, {"-timeout", "soon"}} {
		if _, err := progtest.RunClient(t, run, args...); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
