package dualstack_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/dualstack"
)

// TestListenerClose checks that Close closes every socket, unblocks a
// pending Accept with net.ErrClosed and ends the package's goroutines
// (goleak in TestMain checks the last).
func TestListenerClose(t *testing.T) {
	runBothFamilyCases(t, func(t *testing.T, tc bothFamilyCase) {
		l := mustListen(t, tc.lc(), "tcp", ":0")
		p := portOf(t, l.Addr())

		// Serve one connection first, so that Close meets a listener
		// that has accepted, then block in Accept. A connection an
		// accept goroutine holds at Close is TestListenerCloseHeldConn's.
		cli, err := net.DialTimeout("tcp", loopback("127.0.0.1", p), ioTimeout)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer cli.Close()
		srv := accept(t, l)
		srv.Close()
		errc := goBlocked(t, "dualstack.(*Listener).Accept", func() error {
			_, err := l.Accept()
			return err
		})
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("pending Accept returned %v, want net.ErrClosed", err)
			}
		case <-time.After(ioTimeout):
			t.Fatal("Close did not unblock Accept")
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
		if err := l.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close = %v, want net.ErrClosed", err)
		}
		// Both families' wildcards are free again on that port.
		for _, a := range []struct{ network, host string }{{"tcp6", "::"}, {"tcp4", "0.0.0.0"}} {
			if err := canBind(t, a.network, loopback(a.host, p)); err != nil {
				t.Errorf("%s port %d still held after Close: %v", a.network, p, err)
			}
		}
	})
}

// TestListenerDeadline checks SetDeadline in every mode: a past deadline
// fails Accept with a timeout, moving it wakes a pending Accept, and
// clearing it makes the listener accept again.
func TestListenerDeadline(t *testing.T) {
	runBothFamilyCases(t, func(t *testing.T, tc bothFamilyCase) {
		l := mustListen(t, tc.lc(), "tcp", ":0")
		if err := l.SetDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatalf("SetDeadline: %v", err)
		}
		_, err := l.Accept()
		var ne net.Error
		if !errors.Is(err, errDeadline) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Accept past deadline = %v, want a timeout matching os.ErrDeadlineExceeded", err)
		}

		l.SetDeadline(time.Now().Add(time.Hour))
		errc := goBlocked(t, "dualstack.(*Listener).Accept", func() error {
			_, err := l.Accept()
			return err
		})
		l.SetDeadline(time.Now())
		select {
		case err := <-errc:
			if !errors.Is(err, errDeadline) {
				t.Errorf("pending Accept after SetDeadline(now) = %v, want timeout", err)
			}
		case <-time.After(ioTimeout):
			t.Fatal("SetDeadline(now) did not wake Accept")
		}

		l.SetDeadline(time.Time{})
		p := portOf(t, l.Addr())
		roundTrip(t, l, loopback("::1", p))
		roundTrip(t, l, loopback("127.0.0.1", p))
		l.Close()
		if err := l.SetDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("SetDeadline after Close = %v, want net.ErrClosed", err)
		}
	})
}

// failingListener fails its first Accept with EMFILE, as a process out of
// file descriptors does, then accepts normally.
type failingListener struct {
	net.Listener
	once sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	var failed bool
	l.once.Do(func() { failed = true })
	if failed {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorTwoSockets checks that in TwoSockets mode an accept error
// on one socket reaches the caller once and stops neither socket.
func TestAcceptErrorTwoSockets(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	lc := &dualstack.ListenConfig{Modes: dualstack.TwoSockets}
	dualstack.SetHooks(lc, dualstack.Hooks{Listen: func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.Listener, error) {
		l, err := nlc.Listen(ctx, network, address)
		if err == nil && network == "tcp4" {
			return &failingListener{Listener: l}, nil
		}
		return l, err
	}})
	l := mustListen(t, lc, "tcp", ":0")
	if _, err := l.Accept(); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("first Accept = %v, want the IPv4 socket's EMFILE", err)
	}
	p := portOf(t, l.Addr())
	roundTrip(t, l, loopback("127.0.0.1", p))
	roundTrip(t, l, loopback("::1", p))
}

// TestListenerCloseHeldConn checks that in TwoSockets mode a connection an
// accept goroutine took but Accept never returned is closed by Close, so
// its client sees EOF or a reset rather than a connection nobody serves.
func TestListenerCloseHeldConn(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	// taken hears of each connection an accept goroutine takes off a
	// socket, so that Close runs only once both are held.
	taken := make(chan net.Addr, 2)
	lc := &dualstack.ListenConfig{Modes: dualstack.TwoSockets}
	dualstack.SetHooks(lc, dualstack.Hooks{Listen: func(ctx context.Context, nlc *net.ListenConfig, network, address string) (net.Listener, error) {
		l, err := nlc.Listen(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &notifyingListener{Listener: l, taken: taken}, nil
	}})
	l := mustListen(t, lc, "tcp", ":0")
	p := portOf(t, l.Addr())
	var clis []net.Conn
	for _, host := range []string{"127.0.0.1", "::1"} {
		cli, err := net.DialTimeout("tcp", loopback(host, p), ioTimeout)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer cli.Close()
		clis = append(clis, cli)
	}
	for range clis {
		select {
		case <-taken:
		case <-time.After(ioTimeout):
			t.Fatalf("the accept goroutines did not take both connections within %v", ioTimeout)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, cli := range clis {
		cli.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := cli.Read(make([]byte, 1)); err == nil || errors.Is(err, errDeadline) {
			t.Errorf("client %v: Read after listener Close = %v, want EOF or reset", cli.LocalAddr(), err)
		}
	}
}

// notifyingListener sends the peer of each connection it accepts on taken.
type notifyingListener struct {
	net.Listener
	taken chan<- net.Addr
}

func (l *notifyingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.taken <- c.RemoteAddr()
	}
	return c, err
}
