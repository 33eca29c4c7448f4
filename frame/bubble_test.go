//go:build go1.25

package frame_test

import (
	"testing"
	"testing/synctest"
)

// inBubble runs f in a testing/synctest bubble, where time moves only
// when every goroutine of the bubble waits: a deadline set on a faultnet
// connection passes when, and only when, a read or write waits for bytes
// or room, at the same point of the stream on every run, and at once.
func inBubble(t *testing.T, f func(t *testing.T)) { synctest.Test(t, f) }
