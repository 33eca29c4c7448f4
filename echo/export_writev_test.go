//go:build linux || darwin

package echo

import "sync/atomic"

// CountWrites makes the raw write path count its write(2) and writev(2)
// calls, for the tests of package echo_test, until restore is called.
// Call it before any server of the test starts and restore after the
// last has shut down: the counters are shared by every server.
func CountWrites() (writes, writevs *atomic.Int64, restore func()) {
	writes, writevs = new(atomic.Int64), new(atomic.Int64)
	w, wv := sysWrite, sysWritev
	sysWrite = func(fd int, p []byte) (int, error) {
		writes.Add(1)
		return w(fd, p)
	}
	sysWritev = func(fd int, iovs [][]byte) (int, error) {
		writevs.Add(1)
		return wv(fd, iovs)
	}
	return writes, writevs, func() { sysWrite, sysWritev = w, wv }
}
