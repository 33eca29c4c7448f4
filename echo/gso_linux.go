package echo

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Limits of one segmented send (UDP_SEGMENT in udp(7); udp_send_skb in
// Linux's net/ipv4/udp.c): at most 64 segments, and all of them must fit
// in one IPv4 datagram's payload.
const (
	maxSegments     = 64
	maxSegmentedLen = 65507
)

// segCtrlLen is the size of one UDP_SEGMENT control message: a uint16.
var segCtrlLen = unix.CmsgSpace(2)

// knowsSegmentation reports whether the kernel has UDP_SEGMENT. It must
// be asked: a kernel older than 4.18 ignores a control message of a level
// it does not know, and would send a run of replies as one datagram.
func knowsSegmentation(uc syscall.Conn) bool {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		_, gerr = unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return false
	}
	return gerr == nil
}

// putSegmentSize writes into ctrl, segCtrlLen bytes, the control message
// that asks for segments of size bytes.
func putSegmentSize(ctrl []byte, size int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(ctrl[unix.CmsgLen(0):], uint16(size))
}
