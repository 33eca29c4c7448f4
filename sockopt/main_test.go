package sockopt_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// runtime.handleEvent is the js/wasm runtime's event-loop goroutine,
	// alive for the whole process; it does not exist elsewhere.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}
