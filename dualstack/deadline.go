package dualstack

import (
	"sync"
	"time"
)

// deadline is a deadline kept in user space, for the calls that wait on a
// channel rather than on a socket: [Listener.Accept] and
// [PacketConn.ReadFrom] in [TwoSockets] mode. wait returns a channel that
// is closed once the deadline has passed; set replaces the deadline,
// waking waiters if it is already in the past.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer   // armed to close expire; nil if none
	expire chan struct{} // closed while the deadline has passed
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expire == nil {
		d.expire = make(chan struct{})
	}
	if d.timer != nil && !d.timer.Stop() {
		// The timer has fired: wait until its function has closed
		// expire, so that it cannot close a channel set hands out next.
		<-d.expire
	}
	d.timer = nil
	expired := isClosed(d.expire)
	switch dur := time.Until(t); {
	case t.IsZero() || dur > 0:
		if expired {
			d.expire = make(chan struct{})
		}
		if !t.IsZero() {
			expire := d.expire
			d.timer = time.AfterFunc(dur, func() { close(expire) })
		}
	case !expired:
		close(d.expire)
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expire == nil {
		d.expire = make(chan struct{})
	}
	return d.expire
}

// stop releases the timer when the owner closes.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
