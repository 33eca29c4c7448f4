package main

import (
	"errors"
	"regexp"
	"testing"

	"github.com/framesock/framesock/examples/internal/progtest"
	"github.com/framesock/framesock/sockopt"
)

// TestLinuxDoublesBuffers: socket(7) says Linux doubles the SO_RCVBUF and
// SO_SNDBUF values set "to allow space for bookkeeping overhead" and
// getsockopt returns the doubled value; 65536 is below every default
// net.core.rmem_max and wmem_max (212992), so no clamp applies.
func TestLinuxDoublesBuffers(t *testing.T) {
	t.Parallel()
	out, err := progtest.RunClient(t, run)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^  (Read|Write)Buffer\(65536\) +kernel holds 131072$`)
	if got := len(re.FindAllString(out, -1)); got != 6 {
		t.Errorf("%d buffer lines report 131072, want 6:\n%s", got, out)
	}
}

// TestLinuxClamp: a request above net.core.rmem_max is applied at the
// maximum, and sockopt reports it as ErrClamped instead of silently.
func TestLinuxClamp(t *testing.T) {
	t.Parallel()
	_, err := progtest.RunClient(t, run, "-rcvbuf", "2000000000")
	if !errors.Is(err, sockopt.ErrClamped) {
		t.Errorf("run = %v, want an error matching sockopt.ErrClamped", err)
	}
}
