//go:build unix && !linux

package sockopt

// isMPTCP is false: multipath TCP sockets exist only on Linux.
func isMPTCP(uintptr) bool { return false }
