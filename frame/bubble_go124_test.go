//go:build !go1.25

package frame_test

import "testing"

// inBubble runs f. Before Go 1.25, which has no synctest.Test, the
// deadlines of faultnet connections pass in real time: the tests that
// wait for them take longer, and check the same.
func inBubble(t *testing.T, f func(t *testing.T)) { f(t) }
