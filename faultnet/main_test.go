package faultnet_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the package
// starts none, so a leak would be a connection's or a test's. On js/wasm
// the runtime parks a goroutine of its own in handleEvent while timers
// wait; it is not a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
