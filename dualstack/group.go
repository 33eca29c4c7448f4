package dualstack

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// group is what a [Listener] and a [PacketConn] have in common: the
// sockets Listen opened, IPv6 first, and the mode they achieve, with the
// methods that report them. Both types embed it, as net's TCPConn and
// UDPConn embed their common conn. In
// [TwoSockets] mode it also runs one goroutine per socket that waits on
// that socket and hands each result over a channel of the owner's: Go has
// no select over file descriptors, so a goroutine blocked in each is the
// way to wait on two sockets at once.
type group struct {
	mode  Mode
	unmap bool
	socks []socket // closed by close

	// TwoSockets only: done is closed by close to stop the goroutines,
	// and dl is the deadline of the call that takes their results.
	done chan struct{}
	dl   deadline
	wg   sync.WaitGroup

	closeOnce sync.Once
}

// Mode returns the mode achieved.
func (g *group) Mode() Mode { return g.mode }

// Addrs returns the address of each socket, IPv6 first: one address except
// in [TwoSockets] mode, where it is [[::]:port 0.0.0.0:port].
func (g *group) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(g.socks))
	for i, s := range g.socks {
		addrs[i] = s.addr
	}
	return addrs
}

// SyscallConns returns the sockets, IPv6 first, for reading their options
// with [sockopt.Get] or setting inherited ones with [sockopt.Apply].
// Closing the listener or connection closes them.
func (g *group) SyscallConns() []syscall.Conn {
	scs := make([]syscall.Conn, 0, len(g.socks))
	for _, s := range g.socks {
		if sc, ok := s.c.(syscall.Conn); ok {
			scs = append(scs, sc)
		}
	}
	return scs
}

// start runs loop(i) for each socket i in a goroutine of its own, until
// close.
func (g *group) start(loop func(i int)) {
	g.done = make(chan struct{})
	g.wg.Add(len(g.socks))
	for i := range g.socks {
		go func() {
			defer g.wg.Done()
			loop(i)
		}()
	}
}

// receive takes the next result a socket's goroutine hands over on ch. It
// fails with [net.ErrClosed] once the group is closed and with
// [os.ErrDeadlineExceeded] while the deadline has passed, checking both
// first: a select between a ready ch and a closed done picks at random,
// and a call after Close must fail.
func receive[T any](g *group, ch <-chan T) (T, error) {
	var zero T
	select {
	case <-g.done:
		return zero, net.ErrClosed
	case <-g.dl.wait():
		return zero, os.ErrDeadlineExceeded
	default:
	}
	select {
	case v := <-ch:
		return v, nil
	case <-g.done:
		return zero, net.ErrClosed
	case <-g.dl.wait():
		return zero, os.ErrDeadlineExceeded
	}
}

// setDeadline sets the deadline of receive; it fails with [net.ErrClosed]
// once the group is closed.
func (g *group) setDeadline(t time.Time) error {
	select {
	case <-g.done:
		return net.ErrClosed
	default:
	}
	g.dl.set(t)
	return nil
}

// close closes every socket and returns once the goroutines have ended.
// Only the first call closes; later calls return closed.
func (g *group) close(closed error) error {
	err := closed
	g.closeOnce.Do(func() {
		if g.done != nil {
			close(g.done)
		}
		var errs []error
		for _, s := range g.socks {
			errs = append(errs, s.c.Close())
		}
		// The goroutines return once their socket is closed; a result one
		// of them still held is closed by it, not leaked.
		g.wg.Wait()
		g.dl.stop()
		err = errors.Join(errs...)
	})
	return err
}
