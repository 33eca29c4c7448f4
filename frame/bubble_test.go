//go:build go1.25

package frame_test

import (
	"testing"
	"testing/synctest"
)

// inBubble runs f in a testing/synctest bubble, where time moves only
// when every goroutine of the bubble waits: a deadline that passes while
// a faultnet connection waits for bytes or room passes at once, at the
// same point of the stream on every run.
func inBubble(t *testing.T, f func(t *testing.T)) { synctest.Test(t, f) }
