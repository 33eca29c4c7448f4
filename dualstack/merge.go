package dualstack

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// acceptResult is one Accept of one socket, handed to Listener.Accept.
type acceptResult struct {
	c   net.Conn
	err error
}

func newListener(socks []socket, mode Mode, unmap bool, opts []sockopt.Option) *Listener {
	l := &Listener{mode: mode, unmap: unmap}
	for _, s := range socks {
		ln := s.c.(net.Listener)
		l.raw = append(l.raw, ln)
		l.lns = append(l.lns, sockopt.NewListener(ln, opts...))
		l.addrs = append(l.addrs, s.addr)
	}
	if len(l.lns) > 1 {
		// Go has no select over file descriptors, so the way to wait on
		// two listening sockets at once is a goroutine blocked in each.
		l.acceptc = make(chan acceptResult)
		l.done = make(chan struct{})
		l.wg.Add(len(l.lns))
		for _, ln := range l.lns {
			go l.acceptLoop(ln)
		}
	}
	return l
}

// acceptLoop accepts on one socket until Close. It is paced by
// Listener.Accept: it accepts the next connection only after the previous
// result was taken, so an error such as EMFILE is reported once per Accept
// call, not in a tight loop, and a caller's backoff applies to it.
func (l *Listener) acceptLoop(ln net.Listener) {
	defer l.wg.Done()
	for {
		// ln is the sockopt wrapper, so the after-connect options are
		// applied here, off the caller's goroutine, before the hand-off.
		c, err := ln.Accept()
		if err != nil && errors.Is(err, net.ErrClosed) {
			// Only Close closes the sockets.
			return
		}
		select {
		case l.acceptc <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

// maxDatagram is the largest UDP payload over IPv6 without jumbograms
// (65535 minus the 8-byte UDP header; RFC 8200 section 4.5 and RFC 2675),
// which covers IPv4's 65507.
const maxDatagram = 65535 - 8

// datagram is one ReadFrom of one socket, handed to PacketConn.ReadFrom;
// buf belongs to the reader until it is sent back on release.
type datagram struct {
	buf     []byte
	n       int
	ap      netip.AddrPort
	err     error
	release chan struct{}
}

func newPacketConn(socks []socket, mode Mode, unmap bool) *PacketConn {
	c := &PacketConn{mode: mode, unmap: unmap}
	for _, s := range socks {
		c.conns = append(c.conns, s.c.(*net.UDPConn))
		c.addrs = append(c.addrs, s.addr)
	}
	if len(c.conns) > 1 {
		c.readc = make(chan *datagram)
		c.done = make(chan struct{})
		c.wg.Add(len(c.conns))
		for _, uc := range c.conns {
			go c.readLoop(uc)
		}
	}
	return c
}

// readLoop reads one socket until Close, one datagram ahead of ReadFrom.
// It reads into its own buffer and waits for ReadFrom to copy the
// datagram out before reading the next, so it holds at most one datagram
// and the rest wait in the kernel's receive buffer, as they would for a
// single socket.
func (c *PacketConn) readLoop(uc *net.UDPConn) {
	defer c.wg.Done()
	// One buffer per socket, reused: ReadFrom copies out of it and then
	// hands it back, so steady-state reads allocate nothing here.
	d := &datagram{buf: make([]byte, maxDatagram), release: make(chan struct{})}
	for {
		// ReadFromUDPAddrPort rather than ReadFrom: it returns the address
		// by value, where ReadFrom would allocate a *net.UDPAddr that
		// ReadFrom's caller may not want.
		d.n, d.ap, d.err = uc.ReadFromUDPAddrPort(d.buf)
		if d.err != nil && errors.Is(d.err, net.ErrClosed) {
			return
		}
		select {
		case c.readc <- d:
		case <-c.done:
			return
		}
		select {
		case <-d.release:
		case <-c.done:
			return
		}
	}
}

// deadline is a read deadline kept in user space for a [PacketConn] with
// two sockets, whose ReadFrom waits on a channel rather than on a socket.
// wait returns a channel that is closed once the deadline has passed; set
// replaces the deadline, waking waiters if it is already in the past.
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

// stop releases the timer when the connection closes.
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
