//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package echo

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parkSupported reports whether connections can park here.
const parkSupported = true

// maxEvents bounds the events one wait takes.
const maxEvents = 128

// errStopped is what wait returns once stop has been called.
var errStopped = errors.New("echo: poller stopped")

// pollset is the poller's kqueue(2). Go's netpoller cannot wait for a
// kqueue descriptor (it registers every descriptor for writing too,
// which a kqueue refuses), so the loop's goroutine blocks in kevent(2)
// itself, holding a thread while it waits, with the nearest IdleTimeout
// as the timeout. A pipe, registered under token 0, interrupts the wait
// when a nearer deadline arrives or the poller stops.
//
// A token is not a pointer, but Kevent_t's udata is a pointer field on
// most of these systems: the garbage collector must never see a token
// there. So the events and the change that add builds live in a byte
// slice, memory the collector does not scan, and udata is only read and
// written as a uintptr, never through its own type.
type pollset struct {
	kq       int
	wake     [2]int // the pipe: read end, write end
	mem      []byte // backing store of events and change
	events   []unix.Kevent_t
	change   []unix.Kevent_t // one
	deadline time.Duration   // of the next wait, as a monoNow reading; 0: none
	ts       unix.Timespec
	stopped  atomic.Bool
	drain    [16]byte
}

func newPollset() (*pollset, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	ps := &pollset{kq: kq, wake: [2]int{-1, -1}}
	// As os.Pipe does: the descriptors must not leak into a child that
	// another goroutine forks meanwhile.
	syscall.ForkLock.RLock()
	err = unix.Pipe(ps.wake[:])
	if err == nil {
		unix.CloseOnExec(ps.wake[0])
		unix.CloseOnExec(ps.wake[1])
	}
	syscall.ForkLock.RUnlock()
	unix.CloseOnExec(kq)
	if err == nil {
		err = unix.SetNonblock(ps.wake[0], true)
	}
	if err == nil {
		err = unix.SetNonblock(ps.wake[1], true)
	}
	if err != nil {
		ps.close()
		return nil, os.NewSyscallError("pipe", err)
	}
	size := int(unsafe.Sizeof(unix.Kevent_t{}))
	ps.mem = make([]byte, (maxEvents+1)*size)
	all := unsafe.Slice((*unix.Kevent_t)(unsafe.Pointer(unsafe.SliceData(ps.mem))), maxEvents+1)
	ps.events, ps.change = all[:maxEvents], all[maxEvents:]
	if err := ps.register(ps.wake[0], unix.EV_ADD, 0); err != nil {
		ps.close()
		return nil, err
	}
	return ps, nil
}

// register applies one change for fd's read filter, reported as tok.
func (ps *pollset) register(fd, flags int, tok uintptr) error {
	ch := &ps.change[0]
	unix.SetKevent(ch, fd, unix.EVFILT_READ, flags)
	*(*uintptr)(unsafe.Pointer(&ch.Udata)) = tok
	if _, err := unix.Kevent(ps.kq, ps.change, nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// add registers fd for one readiness event (input, end of stream or
// error), reported as tok. A one-shot registration is deleted when it
// fires, so every park adds a new one.
func (ps *pollset) add(fd int, tok uintptr, _ bool) error {
	return ps.register(fd, unix.EV_ADD|unix.EV_ONESHOT, tok)
}

// setDeadline sets the end of the next wait, d, a monoNow reading (0:
// never). Only the loop calls it, before it waits.
func (ps *pollset) setDeadline(d time.Duration) { ps.deadline = d }

// hurry interrupts the wait in progress, so that the loop waits again
// with the nearer deadline d.
func (ps *pollset) hurry(time.Duration) { ps.poke() }

func (ps *pollset) poke() {
	// A full pipe is poked already.
	unix.Write(ps.wake[1], ps.drain[:1])
}

// wait waits until events are ready, the deadline passes, or hurry or
// stop is called, and puts the tokens of up to len(toks) events in toks.
// It returns 0 and nil at the deadline or when hurried, and an error
// after stop.
func (ps *pollset) wait(toks []uintptr) (int, error) {
	for !ps.stopped.Load() {
		var ts *unix.Timespec
		if ps.deadline != 0 {
			ps.ts = unix.NsecToTimespec(int64(max(ps.deadline-monoNow(), 0)))
			ts = &ps.ts
		}
		n, err := unix.Kevent(ps.kq, nil, ps.events[:min(len(toks), len(ps.events))], ts)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("kevent", err)
		}
		k := 0
		for i := range n {
			tok := *(*uintptr)(unsafe.Pointer(&ps.events[i].Udata))
			if tok == 0 {
				for {
					if m, _ := unix.Read(ps.wake[0], ps.drain[:]); m <= 0 {
						break
					}
				}
				continue
			}
			toks[k] = tok
			k++
		}
		return k, nil
	}
	return 0, errStopped
}

// stop makes the wait in progress and every later one return an error.
func (ps *pollset) stop() {
	ps.stopped.Store(true)
	ps.poke()
}

// close closes the descriptors, once the loop has stopped waiting.
func (ps *pollset) close() {
	for _, fd := range [...]int{ps.kq, ps.wake[0], ps.wake[1]} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}
