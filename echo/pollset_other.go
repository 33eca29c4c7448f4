//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package echo

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// parkSupported reports whether connections can park here: without epoll
// or kqueue they keep their goroutine while they wait.
const parkSupported = false

// maxEvents bounds the events one wait takes.
const maxEvents = 1

// pollset has no implementation here; newPollset is never called, since
// no connection parks.
type pollset struct{}

func newPollset() (*pollset, error) {
	return nil, fmt.Errorf("echo: parking connections: %w on %s", errors.ErrUnsupported, runtime.GOOS)
}

func (*pollset) add(int, uintptr, bool) error     { return errors.ErrUnsupported }
func (*pollset) setDeadline(time.Duration)        {}
func (*pollset) hurry(time.Duration)              {}
func (*pollset) wait(toks []uintptr) (int, error) { return 0, errors.ErrUnsupported }
func (*pollset) stop()                            {}
func (*pollset) close()                           {}
