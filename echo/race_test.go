//go:build race

package echo_test

// raceEnabled scales the load tests down under the race detector, which
// slows memory-heavy code by 5 to 10 times; see loadScale.
const raceEnabled = true
