package sockopt_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/sockopt"
)

// Listen and NewListener set the after-connect options on each accepted
// connection, after net has set its own TCP_NODELAY and keepalive (the
// Linux tests show net doing so).
func TestListenerAfterConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		listen func(t *testing.T, opts []sockopt.Option) net.Listener
	}{
		{"Listen", func(t *testing.T, opts []sockopt.Option) net.Listener {
			l, err := sockopt.Listen(testContext(t), "tcp4", "127.0.0.1:0", opts...)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}},
		{"NewListener", func(t *testing.T, opts []sockopt.Option) net.Listener {
			return sockopt.NewListener(listenTCP4(t), opts...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, want := afterConnectOpts(t)
			l := tt.listen(t, opts)
			defer l.Close()
			_, a := dialPair(t, l)
			checkAfterConnect(t, a, want)
		})
	}
}

// pipeListener hands out one end of a net.Pipe per Accept: a net.Conn
// without SyscallConn.
type pipeListener struct {
	conns chan net.Conn
}

func (l *pipeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *pipeListener) Close() error   { return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

// NewListener closes a connection whose after-connect options cannot be
// set and returns the error; other options are not its business.
func TestNewListenerAcceptError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []sockopt.Option
		wantErr error
	}{
		{"after-connect option on a conn without fd", []sockopt.Option{sockopt.NoDelay(true)}, sockopt.ErrNotApplicable},
		{"only before-bind options", []sockopt.Option{sockopt.ReuseAddr(true), sockopt.ReadBuffer(-1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server, client := net.Pipe()
			defer client.Close()
			pl := &pipeListener{conns: make(chan net.Conn, 1)}
			pl.conns <- server
			close(pl.conns)
			l := sockopt.NewListener(pl, tt.opts...)
			c, err := l.Accept()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Accept() = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if c != server {
					t.Fatalf("Accept() returned %v, want the pipe", c)
				}
				c.Close()
				return
			}
			if c != nil {
				t.Errorf("Accept() returned a conn with error %v", err)
			}
			if n := strings.Count(err.Error(), "sockopt:"); n != 1 {
				t.Errorf("Accept() error %q says \"sockopt:\" %d times, want once", err, n)
			}
			// A per-connection failure must not stop accept loops that
			// test Temporary, as net/http.Server does. (An anonymous
			// interface: net.Error.Temporary is deprecated for callers.)
			var ne interface {
				net.Error
				Temporary() bool
			}
			if !errors.As(err, &ne) || !ne.Temporary() || ne.Timeout() {
				t.Errorf("Accept() error %v: want a net.Error with Temporary() true", err)
			}
			// The rejected conn was closed: the peer sees EOF at once.
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := client.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("peer read = %v, want EOF from the closed conn", err)
			}
		})
	}
}

// netConnWrapper hides SyscallConn the way *tls.Conn does, and exposes the
// wrapped conn through NetConn.
type netConnWrapper struct{ net.Conn }

func (w netConnWrapper) NetConn() net.Conn { return w.Conn }

type wrappingListener struct{ net.Listener }

func (l wrappingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return netConnWrapper{c}, nil
}

// NewListener reaches the socket of a wrapped conn through NetConn, so it
// works over tls.NewListener.
func TestNewListenerUnwrapsNetConn(t *testing.T) {
	t.Parallel()
	opts, want := afterConnectOpts(t)
	l := sockopt.NewListener(wrappingListener{listenTCP4(t)}, opts...)
	_, a := dialPair(t, l)
	w, ok := a.(netConnWrapper)
	if !ok {
		t.Fatalf("Accept returned %T, want the wrapper itself", a)
	}
	if _, ok := net.Conn(w).(syscall.Conn); ok {
		t.Fatal("the wrapper has SyscallConn; the test would not show the unwrapping")
	}
	checkAfterConnect(t, w.Conn, want)
}

// Get and Apply on a Listener whose wrapped listener has no socket fail
// with ErrNotApplicable.
func TestListenerWithoutSyscallConn(t *testing.T) {
	t.Parallel()
	l := sockopt.NewListener(&pipeListener{conns: make(chan net.Conn)})
	_, err := sockopt.Get(l)
	errs := map[string]error{"Get": err}
	// Apply checks the options first, so only where they are supported
	// does it reach the listener.
	if opt := sockopt.Linger(time.Second); sockopt.Supported(opt) == nil {
		errs["Apply"] = sockopt.Apply(l, opt)
	}
	for name, err := range errs {
		if !errors.Is(err, sockopt.ErrNotApplicable) {
			t.Errorf("%s = %v, want ErrNotApplicable", name, err)
			continue
		}
		if n := strings.Count(err.Error(), "sockopt:"); n != 1 {
			t.Errorf("%s error %q says \"sockopt:\" %d times, want once", name, err, n)
		}
	}
}
