package sockopt

import "fmt"

// bufferClamp reports a buffer request the kernel shrank. socket(7):
// "The kernel doubles this value (to allow space for bookkeeping overhead)
// when it is set using setsockopt(2), and this doubled value is returned
// by getsockopt(2)"; a request above net.core.rmem_max (wmem_max for
// SO_SNDBUF) is silently reduced to the maximum, and setsockopt succeeds.
// Reading the value back is the only way to notice.
func bufferClamp(k kind, req, got int) error {
	if got/2 >= req {
		return nil
	}
	return fmt.Errorf("kernel holds %d bytes (2 x %d, the %s limit), not 2 x %d: %w",
		got, got/2, bufferSysctl(k), req, ErrClamped)
}

func bufferSysctl(k kind) string {
	if k == kindWriteBuffer {
		return "net.core.wmem_max"
	}
	return "net.core.rmem_max"
}

// bufferHint adds nothing on Linux: setsockopt never fails for size.
func bufferHint(_ kind, err error) error { return err }
