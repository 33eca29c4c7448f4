package echo

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2): one message
// header and the byte count the kernel writes back. Go pads it to the
// alignment of unix.Msghdr, as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// mmsgConn reads and writes batches of datagrams on one socket with
// recvmmsg(2) and sendmmsg(2), through the socket's [syscall.RawConn], so
// that the runtime's poller does the waiting and deadlines and Close work
// as they do for net's own calls. Nothing is allocated per call: the
// receive headers, buffers, addresses and control buffers are made once,
// and the callbacks are method values bound once, which carry the call's
// arguments and results in the struct.
type mmsgConn struct {
	rc syscall.RawConn

	in              []mmsghdr               // receive headers, one per buffer
	iov             []unix.Iovec            // each in header's one buffer
	names           []unix.RawSockaddrInet6 // senders: room for either family
	bufs            []byte                  // the buffers, bufLen bytes each
	ctrl            []byte                  // control messages, ctrlLen bytes each
	bufLen, ctrlLen int
	filled          int // in headers the last recv filled

	// The call in progress: its headers, then its result.
	call   []mmsghdr
	done   int
	errno  syscall.Errno
	recvFn func(fd uintptr) bool
	sendFn func(fd uintptr) bool
}

// newMmsgConn prepares n receive buffers of bufLen bytes, each with
// ctrlLen bytes for control messages, on rc.
func newMmsgConn(rc syscall.RawConn, n, bufLen, ctrlLen int) *mmsgConn {
	m := &mmsgConn{
		rc:      rc,
		in:      make([]mmsghdr, n),
		iov:     make([]unix.Iovec, n),
		names:   make([]unix.RawSockaddrInet6, n),
		bufs:    make([]byte, n*bufLen),
		ctrl:    make([]byte, n*ctrlLen),
		bufLen:  bufLen,
		ctrlLen: ctrlLen,
	}
	m.recvFn, m.sendFn = m.recvmmsg, m.sendmmsg
	for i := range m.in {
		m.iov[i].Base = &m.bufs[i*bufLen]
		m.iov[i].SetLen(bufLen)
		h := &m.in[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&m.names[i]))
		h.Iov = &m.iov[i]
		h.SetIovlen(1)
		if ctrlLen > 0 {
			h.Control = &m.ctrl[i*ctrlLen]
		}
	}
	m.filled = n
	return m
}

// recv reads up to len(m.in) datagrams, waiting until at least one is
// there, and returns how many it read; see message and sender.
func (m *mmsgConn) recv() (int, error) {
	// The kernel wrote the lengths of the address and control buffers
	// it filled; they are in-out fields.
	for i := range m.in[:m.filled] {
		h := &m.in[i].hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(m.ctrlLen)
	}
	m.filled = len(m.in) // until the kernel says how many it filled
	m.call = m.in
	if err := m.rc.Read(m.recvFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", m.errno)
	}
	m.filled = m.done
	return m.done, nil
}

// message returns datagram i of the last recv: its bytes, its msg_flags
// (MSG_TRUNC, MSG_CTRUNC) and its control messages.
func (m *mmsgConn) message(i int) (p []byte, flags int, ctrl []byte) {
	h := &m.in[i]
	off := i * m.bufLen
	p = m.bufs[off : off+int(h.n) : off+m.bufLen]
	off = i * m.ctrlLen
	ctrl = m.ctrl[off : off+int(h.hdr.Controllen)]
	return p, int(h.hdr.Flags), ctrl
}

// sender returns the address datagram i of the last recv came from, as
// the kernel wrote it: a sockaddr_in or sockaddr_in6 to send a reply to.
func (m *mmsgConn) sender(i int) (*unix.RawSockaddrInet6, uint32) {
	return &m.names[i], m.in[i].hdr.Namelen
}

// send sends the messages of hdrs, waiting while the socket's buffer is
// full, and returns how many the kernel took. sendmmsg(2) stops at the
// first message that fails: if it sent none, send returns its error;
// otherwise that message is the first of the next call.
func (m *mmsgConn) send(hdrs []mmsghdr) (int, error) {
	m.call = hdrs
	if err := m.rc.Write(m.sendFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, os.NewSyscallError("sendmmsg", m.errno)
	}
	return m.done, nil
}

func (m *mmsgConn) recvmmsg(fd uintptr) bool { return m.do(unix.SYS_RECVMMSG, fd) }

func (m *mmsgConn) sendmmsg(fd uintptr) bool { return m.do(unix.SYS_SENDMMSG, fd) }

// do makes the system call trap on m.call, and reports false, so that the
// RawConn waits for the socket and calls again, if it would block.
//
// MSG_DONTWAIT makes the call return at once whatever the socket's file
// flags, so it is made as a raw system call: the runtime is not told, so
// its monitor does not hand the goroutine's P to another thread while
// the call copies a batch, and the thread does not have to take a P back
// after it. That cut the server's CPU time per datagram by about a third
// (BENCHMARKS.md).
func (m *mmsgConn) do(trap, fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&m.call[0])), uintptr(len(m.call)), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		m.done, m.errno = int(n), errno
		return true
	}
}
