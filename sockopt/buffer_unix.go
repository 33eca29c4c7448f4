//go:build unix && !linux

package sockopt

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The BSDs, macOS, Solaris and AIX keep SO_RCVBUF and SO_SNDBUF as given,
// without Linux's doubling, and refuse a request above kern.ipc.maxsockbuf
// with ENOBUFS instead of clamping it (NLnetLabs/unbound#1360).

// bufferClamp reports a buffer the kernel holds below the request, which
// these systems do not normally do; it guards against one that does.
func bufferClamp(k kind, req, got int) error {
	if got >= req {
		return nil
	}
	return fmt.Errorf("kernel holds %d bytes, not %d: %w", got, req, ErrClamped)
}

// bufferHint names the limit behind ENOBUFS, keeping the errno.
func bufferHint(_ kind, err error) error {
	if errors.Is(err, unix.ENOBUFS) {
		return fmt.Errorf("%w (above kern.ipc.maxsockbuf less its overhead)", err)
	}
	return err
}
