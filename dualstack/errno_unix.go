//go:build unix

package dualstack

import (
	"errors"
	"syscall"
)

// isNoFamily reports whether err says the kernel lacks the address family:
// socket(2) fails with EAFNOSUPPORT for AF_INET6 on a Linux booted with
// ipv6.disable=1, and some kernels report EPROTONOSUPPORT instead (net's
// own stack probe accepts both).
func isNoFamily(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// isAddrInUse reports whether bind(2) failed because the port is taken.
func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
