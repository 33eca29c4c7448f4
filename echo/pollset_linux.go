package echo

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// parkSupported reports whether connections can park here.
const parkSupported = true

// pollset is the poller's epoll(7) set. Its descriptor is itself pollable
// (readable while events are ready), so the poller waits for it in Go's
// own netpoller, through an os.File's RawConn, with the nearest
// IdleTimeout as the file's read deadline: no thread sits blocked in
// epoll_wait(2). Go's netpoller has every socket registered too; a socket
// may belong to several epoll sets, and each set reports its own events.
type pollset struct {
	fd     int // for epoll_ctl; f owns it
	f      *os.File
	rc     syscall.RawConn
	events []unix.EpollEvent
	max    int // events that waitSys may take
	n      int // events that waitSys got
	err    error
	waitFn func(fd uintptr) bool // bound once: a method value would be allocated per wait
}

// maxEvents bounds the events one wait takes.
const maxEvents = 128

func newPollset() (*pollset, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// A non-blocking descriptor makes os.NewFile register it with the
	// netpoller, so that its RawConn waits there.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	ps := &pollset{fd: fd, f: os.NewFile(uintptr(fd), "echo-poller"), events: make([]unix.EpollEvent, maxEvents)}
	if ps.rc, err = ps.f.SyscallConn(); err != nil {
		ps.f.Close()
		return nil, err
	}
	ps.waitFn = ps.waitSys
	return ps, nil
}

// add registers fd for one readiness event (input, end of stream, reset
// or error), reported as tok. With again, fd is registered already from
// an earlier park, and its spent one-shot registration is re-armed.
func (ps *pollset) add(fd int, tok uintptr, again bool) error {
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT,
		// The 64 bits of epoll_data: the kernel hands them back as given.
		Fd:  int32(uint32(tok)),
		Pad: int32(uint64(tok) >> 32),
	}
	op := unix.EPOLL_CTL_ADD
	if again {
		op = unix.EPOLL_CTL_MOD
	}
	err := unix.EpollCtl(ps.fd, op, fd, &ev)
	switch {
	case err == unix.ENOENT && again: // not in this set after all
		err = unix.EpollCtl(ps.fd, unix.EPOLL_CTL_ADD, fd, &ev)
	case err == unix.EEXIST && !again:
		err = unix.EpollCtl(ps.fd, unix.EPOLL_CTL_MOD, fd, &ev)
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// setDeadline makes the wait in progress or the next one end at d, a
// monoNow reading (0: never).
func (ps *pollset) setDeadline(d time.Duration) {
	var t time.Time
	if d != 0 {
		t = clockBase.Add(d)
	}
	ps.f.SetReadDeadline(t)
}

// hurry brings the end of the wait in progress forward to d.
func (ps *pollset) hurry(d time.Duration) { ps.setDeadline(d) }

// wait waits until events are ready, the deadline passes or stop is
// called, and puts the tokens of up to len(toks) events in toks. It
// returns 0 and nil at the deadline, and an error after stop.
func (ps *pollset) wait(toks []uintptr) (int, error) {
	ps.n, ps.err, ps.max = 0, nil, min(len(toks), len(ps.events))
	err := ps.rc.Read(ps.waitFn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err == nil {
		err = ps.err
	}
	n := ps.n
	for i := range n {
		ev := &ps.events[i]
		toks[i] = uintptr(uint64(uint32(ev.Pad))<<32 | uint64(uint32(ev.Fd)))
	}
	return n, err
}

// waitSys takes the ready events without blocking; when there are none
// it returns false, and RawConn.Read waits for the set to be readable.
// (It must look first: RawConn.Read forgets any readiness the netpoller
// reported before it was called.)
func (ps *pollset) waitSys(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), ps.events[:ps.max], 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			ps.err = os.NewSyscallError("epoll_wait", err)
		case n == 0:
			return false
		}
		ps.n = max(n, 0)
		return true
	}
}

// stop makes the wait in progress and every later one return an error.
func (ps *pollset) stop() { ps.f.Close() }

// close frees what the set holds once the loop has stopped waiting,
// unless stop has.
func (ps *pollset) close() { ps.f.Close() }
