//go:build unix && !linux

package echo

import "golang.org/x/sys/unix"

// peek is recv(fd, b, MSG_PEEK). Outside Linux it goes through
// unix.Recvfrom, since direct system calls are not supported everywhere
// (macOS and OpenBSD route them through libc).
func peek(fd int, b []byte) error {
	_, _, err := unix.Recvfrom(fd, b, unix.MSG_PEEK)
	return err
}
