package dualstack_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the
// accept and read goroutines of TwoSockets mode must all end in Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
