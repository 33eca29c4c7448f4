package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientOverIPv6(t *testing.T) {
	t.Parallel()
	if err := program.IPv6Loopback(); err != nil {
		t.Skipf("skipping: IPv6 loopback unavailable: %v", err)
	}
	addr := echotest.Start(t, &echo.Server{Network: "tcp6", Transform: echo.Upper}).String()
	got, err := progtest.RunClient(t, run, "-addr", addr)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := regexp.MustCompile(`^connected from \[::1\]:\d+ to ` + regexp.QuoteMeta(addr) + "\nHELLO, IPV6!\n$")
	if !want.MatchString(got) {
		t.Errorf("output %q does not match %v", got, want)
	}
}

// TestClientRefusesIPv4 checks that "tcp6" really means IPv6 only.
func TestClientRefusesIPv4(t *testing.T) {
	t.Parallel()
	addr := echotest.Start(t, &echo.Server{Network: "tcp4", Transform: echo.Upper}).String()
	out, err := progtest.RunClient(t, run, "-addr", addr)
	want := fmt.Sprintf("cannot connect to %s over IPv6: ", addr)
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v, want one line starting %q", err, want)
	}
	if out != "" {
		t.Errorf("printed %q, want nothing", out)
	}
}
