package echo

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// peek is recv(fd, b, MSG_PEEK) without unix.Recvfrom's source address,
// which Linux fills in even for TCP, and which unix.Recvfrom converts to an
// allocated Sockaddr on every call.
func peek(fd int, b []byte) error {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_PEEK, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
