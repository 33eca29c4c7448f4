package dualstack

import (
	"errors"
	"syscall"
)

// isNoFamily reports whether err says the host lacks the address family.
func isNoFamily(err error) bool { return errors.Is(err, syscall.EAFNOSUPPORT) }

// isAddrInUse reports whether bind failed because the port is taken. Plan 9
// reports it as an error string with no errno to match, so TwoSockets on
// port 0 does not retry there.
func isAddrInUse(error) bool { return false }
