//go:build !unix && !windows && !plan9

package dualstack

import (
	"errors"
	"syscall"
)

// isNoFamily reports whether err says the host lacks the address family.
// js and wasip1 use the Unix errno names of package syscall.
func isNoFamily(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// isAddrInUse reports whether bind failed because the port is taken.
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
