//go:build race

package frame_test

// raceEnabled reports a -race build, in which sync.Pool drops a random
// share of what it is given, so steady-state allocation counts do not hold.
const raceEnabled = true
