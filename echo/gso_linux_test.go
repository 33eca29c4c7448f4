package echo_test

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// segmentWrites asks the kernel to cut every write on c into datagrams of
// size bytes (UDP generic segmentation offload, UDP_SEGMENT in udp(7),
// Linux 4.18 and later), and reports whether it agreed. A benchmark client
// can then send a window of datagrams with one write that crosses the
// stack once, cut only at the receiving socket, which leaves the CPU to
// the server being measured.
func segmentWrites(c *net.UDPConn, size int) bool {
	return setsockoptInt(c, unix.SOL_UDP, unix.UDP_SEGMENT, size) == nil
}

// setsockoptInt sets an integer socket option on c.
func setsockoptInt(c syscall.Conn, level, opt, v int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		return err
	}
	return serr
}
