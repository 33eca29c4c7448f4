package sockopt

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits enforced before any system call. They are the tightest of the
// supported platforms, so a value accepted here is accepted everywhere:
// Linux caps keepalive idle and interval at 32767 s and count at 127
// (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT in
// include/net/tcp.h; tcp(7)), and macOS stores the linger time in a short
// and returns EDOM above 32767 s.
const (
	maxKeepAliveSecs = 32767
	maxKeepAliveCnt  = 127
	maxLingerSecs    = 32767
)

// validate checks o against the portable limits and the platform's
// support, before any system call.
func validate(o option) error {
	var err error
	switch o.kind {
	case kindReadBuffer, kindWriteBuffer:
		if o.n < 1 || o.n > math.MaxInt32 {
			err = fmt.Errorf("%d bytes outside 1..%d: %w", o.n, math.MaxInt32, ErrRange)
		}
	case kindLinger:
		if o.d > maxLingerSecs*time.Second {
			err = fmt.Errorf("%v outside <0 (off), 0 (reset) or 1s..%v: %w", o.d, maxLingerSecs*time.Second, ErrRange)
		}
	case kindUserTimeout:
		if o.d < 0 || o.d > math.MaxInt32*time.Millisecond {
			err = fmt.Errorf("%v outside 0..%v: %w", o.d, math.MaxInt32*time.Millisecond, ErrRange)
		}
	case kindKeepAlive:
		// Zero matters only when the timers are set (Enable true);
		// values above the kernel's limits are refused either way.
		const maxD = maxKeepAliveSecs * time.Second
		const leave = " or negative to leave unchanged (zero is no default here)"
		on := o.ka.Enable
		switch {
		case on && o.ka.Idle == 0 || o.ka.Idle > maxD:
			err = fmt.Errorf("idle %v outside 1s..%v%s: %w", o.ka.Idle, maxD, leave, ErrRange)
		case on && o.ka.Interval == 0 || o.ka.Interval > maxD:
			err = fmt.Errorf("interval %v outside 1s..%v%s: %w", o.ka.Interval, maxD, leave, ErrRange)
		case on && o.ka.Count == 0 || o.ka.Count > maxKeepAliveCnt:
			err = fmt.Errorf("count %d outside 1..%d%s: %w", o.ka.Count, maxKeepAliveCnt, leave, ErrRange)
		}
	case 0:
		// A nil Option (see optionOf) has no name to report.
		return errors.New("sockopt: nil Option")
	}
	if err == nil {
		err = sysSupported(o)
	}
	if err != nil {
		return &OptionError{Option: o, Err: err}
	}
	return nil
}

// Supported reports whether this platform can set o: nil if it can, an
// error matching [errors.ErrUnsupported] that names the option and GOOS if
// it cannot, or an error matching [ErrRange] if the value itself is out of
// range. It makes no system call; [Control], [Apply] and the helpers run
// the same check before touching a socket, so they never half-apply a list
// that holds an unsupported option.
func Supported(o Option) error { return validate(optionOf(o)) }

// validateAll validates every option of a list, so that one error names
// all the bad ones.
func validateAll(opts []Option) error {
	var errs []error
	for _, o := range opts {
		if err := validate(optionOf(o)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
