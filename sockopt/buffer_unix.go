//go:build unix && !linux

package sockopt

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// The Unix systems other than Linux keep SO_RCVBUF and SO_SNDBUF as
// given, without Linux's doubling. The BSDs and macOS refuse a request
// above kern.ipc.maxsockbuf with ENOBUFS instead of clamping it
// (NLnetLabs/unbound#1360); AIX and Solaris have no such sysctl.

// bufferClamp reports a buffer the kernel holds below the request, which
// these systems do not normally do; it guards against one that does.
func bufferClamp(_ kind, req, got int) error {
	if got >= req {
		return nil
	}
	return fmt.Errorf("kernel holds %d bytes, not %d: %w", got, req, ErrClamped)
}

// bufferHint names the limit behind ENOBUFS where there is one to name,
// keeping the errno.
func bufferHint(_ kind, err error) error {
	switch runtime.GOOS {
	case "aix", "solaris", "illumos":
		return err
	}
	if errors.Is(err, unix.ENOBUFS) {
		return fmt.Errorf("%w (above kern.ipc.maxsockbuf less its overhead)", err)
	}
	return err
}
