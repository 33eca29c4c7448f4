package dualstack

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isNoFamily reports whether err says the host lacks the address family.
// Winsock reports it as WSAEAFNOSUPPORT (or WSAEPROTONOSUPPORT), not as
// the Errno values package syscall defines for Unix names on Windows.
func isNoFamily(err error) bool {
	return errors.Is(err, windows.WSAEAFNOSUPPORT) || errors.Is(err, windows.WSAEPROTONOSUPPORT)
}

// isAddrInUse reports whether bind failed because the port is taken.
func isAddrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
