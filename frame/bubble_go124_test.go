//go:build !go1.25

package frame_test

import "testing"

// inBubble skips: before Go 1.25 there is no synctest.Test, and in real
// time a deadline can pass before a read or write reaches the point of
// the stream where the test needs it.
func inBubble(t *testing.T, _ func(t *testing.T)) {
	t.Skip("skipping: deadlines that pass at an exact point of the stream need testing/synctest (Go 1.25)")
}
