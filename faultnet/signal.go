package faultnet

import (
	"net"
	"sync"
	"time"
)

// A signal wakes the goroutines waiting for a change to state guarded by
// a mutex. It allocates a channel only when someone waits, and a waiter
// holds a timer only while it waits, so an idle connection costs no
// goroutine and no timer. Waiting on channels and timers (never on a
// sync.Cond) also keeps a connection usable inside a testing/synctest
// bubble, where time then advances only when everyone is blocked.
type signal struct{ ch chan struct{} }

// notify wakes every waiter. Call it with the mutex held.
func (s *signal) notify() {
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// wait unlocks mu until the signal is notified, until deadline or at
// passes (a zero time never does), or until release delivers; it locks mu
// again before it returns, and reports whether release delivered.
func (s *signal) wait(mu *sync.Mutex, deadline, at time.Time, release <-chan struct{}) (released bool) {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	ch := s.ch
	wake := deadline
	if wake.IsZero() || !at.IsZero() && at.Before(wake) {
		wake = at
	}
	mu.Unlock()
	var timer *time.Timer
	var expired <-chan time.Time
	if !wake.IsZero() {
		timer = time.NewTimer(time.Until(wake))
		expired = timer.C
	}
	select {
	case <-ch:
	case <-expired:
	case <-release:
		released = true
	}
	if timer != nil {
		timer.Stop()
	}
	mu.Lock()
	return released
}

// stopped returns why a Read or Write must return before it does
// anything, checked in the order net checks: an invalid option, Close,
// then, unless the call is for zero bytes, the deadline; nil if it may
// go on.
func stopped(invalid error, closed, empty bool, deadline, now time.Time) error {
	switch {
	case invalid != nil:
		return invalid
	case closed:
		return net.ErrClosed
	case !empty && !deadline.IsZero() && !now.Before(deadline):
		return errTimeout
	}
	return nil
}
