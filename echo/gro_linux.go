package echo

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic receive offload (UDP_GRO in udp(7), Linux 5.0): the kernel
// may hand a socket that asks for it several datagrams of one flow in one
// read, back to back, with a control message giving their size; all are
// of that size but the last, which may be shorter. The datagrams a local
// peer sends as one segmented write (UDP_SEGMENT) then arrive as one read
// instead of being cut apart on the way in, and datagrams a NIC or
// virtual device coalesced arrive together.

// groOption is UDP_GRO, a variable so that the tests can ask for an option
// the kernel does not know and see the server do without.
var groOption = unix.UDP_GRO

// groBufLen is the read buffer a coalesced read needs: Linux coalesces
// UDP datagrams into at most 64 KiB, headers included (skb_gro_receive).
const groBufLen = 65536

// groCtrlLen is the room for control messages per read: the UDP_GRO one
// needs CmsgSpace(4); the rest is for those that socket options added
// through PacketServer.Options may ask for (a timestamp, packet info),
// so that the UDP_GRO one is not cut off behind them.
const groCtrlLen = 128

// enableGRO asks the kernel to coalesce datagrams for the socket, and
// reports whether it agreed. A kernel without UDP_GRO refuses with
// ENOPROTOOPT; the server then reads one datagram per message.
func enableGRO(rc syscall.RawConn) bool {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, groOption, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// groSegmentSize returns the size of the datagrams of a coalesced read
// from its control messages, or 0 if there is none: the read is one
// datagram (Linux adds the message only to reads it coalesced).
func groSegmentSize(ctrl []byte) int {
	for len(ctrl) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		n := int(h.Len)
		if n < unix.CmsgLen(0) || n > len(ctrl) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && n >= unix.CmsgLen(4) {
			return int(int32(binary.NativeEndian.Uint32(ctrl[unix.CmsgLen(0):])))
		}
		next := unix.CmsgSpace(n - unix.CmsgLen(0))
		if next >= len(ctrl) {
			return 0
		}
		ctrl = ctrl[next:]
	}
	return 0
}
