package sockopt_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/framesock/framesock/sockopt"
)

// Linux kernel expectations. Each check reads the socket with getsockopt
// in the test itself (raw), independently of sockopt.Get.

// raw reads the options of c with unix.Getsockopt*, independently of the
// package under test.
func raw(t *testing.T, c syscall.Conn) sockopt.Settings {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	var s sockopt.Settings
	err = rc.Control(func(fd uintptr) {
		proto, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
		get := func(level, name int) int {
			v, err := unix.GetsockoptInt(int(fd), level, name)
			if proto == unix.IPPROTO_MPTCP && errors.Is(err, unix.EOPNOTSUPP) {
				return 0 // not every TCP option is implemented for MPTCP
			}
			if err != nil {
				t.Errorf("getsockopt(%d, %d): %v", level, name, err)
			}
			return v
		}
		domain := get(unix.SOL_SOCKET, unix.SO_DOMAIN)
		stream := get(unix.SOL_SOCKET, unix.SO_TYPE) == unix.SOCK_STREAM
		ip := domain == unix.AF_INET || domain == unix.AF_INET6
		if ip {
			s.Network = "udp"
			if stream {
				s.Network = "tcp"
			}
			if domain == unix.AF_INET6 {
				s.Network += "6"
				s.V6Only = get(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY) != 0
			} else {
				s.Network += "4"
			}
		}
		s.ReuseAddr = get(unix.SOL_SOCKET, unix.SO_REUSEADDR) != 0
		s.ReusePort = get(unix.SOL_SOCKET, unix.SO_REUSEPORT) != 0
		s.ReusePortLB = s.ReusePort
		s.ReadBuffer = get(unix.SOL_SOCKET, unix.SO_RCVBUF)
		s.WriteBuffer = get(unix.SOL_SOCKET, unix.SO_SNDBUF)
		l, err := unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
		if err != nil {
			t.Errorf("getsockopt(SO_LINGER): %v", err)
		} else if l.Onoff != 0 {
			s.Linger = time.Duration(l.Linger) * time.Second
		} else {
			s.Linger = -1
		}
		if stream && ip {
			s.NoDelay = get(unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0
			s.KeepAlive = net.KeepAliveConfig{
				Enable:   get(unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0,
				Idle:     time.Duration(get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)) * time.Second,
				Interval: time.Duration(get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL)) * time.Second,
				Count:    get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT),
			}
			s.UserTimeout = time.Duration(get(unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)) * time.Millisecond
		}
	})
	if err != nil {
		t.Fatalf("RawConn.Control: %v", err)
	}
	return s
}

// fatalUnlessMPTCP fails t, or skips it when the connection turned out to
// be MPTCP (GODEBUG=multipathtcp=1 makes dialers use it too), where Linux
// lacks TCP_USER_TIMEOUT and sockopt reports errors.ErrUnsupported.
func fatalUnlessMPTCP(t *testing.T, what string, err error) {
	t.Helper()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("skipping: %s: %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}

// checkSettings compares want with both sockopt.Get and the raw read.
func checkSettings(t *testing.T, c syscall.Conn, want sockopt.Settings) {
	t.Helper()
	got, err := sockopt.Get(c)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, raw(t, c)); diff != "" {
		t.Errorf("raw getsockopt mismatch (-want +got):\n%s", diff)
	}
}

var (
	// allOpts sets every option to a value that differs from what Linux
	// and net leave on a new socket, so a read-back cannot pass by chance.
	allOpts = []sockopt.Option{
		sockopt.ReuseAddr(true),
		sockopt.ReusePort(true),
		sockopt.ReadBuffer(65536),
		sockopt.WriteBuffer(32768),
		sockopt.Linger(7 * time.Second),
		sockopt.V6Only(true),
		sockopt.NoDelay(false),
		sockopt.KeepAlive(keepAlive3053),
		sockopt.UserTimeout(2500 * time.Millisecond),
	}
	// liveOpts are the options Apply accepts on a connected socket.
	liveOpts = []sockopt.Option{
		sockopt.ReadBuffer(65536),
		sockopt.WriteBuffer(32768),
		sockopt.Linger(7 * time.Second),
		sockopt.NoDelay(false),
		sockopt.KeepAlive(keepAlive3053),
		sockopt.UserTimeout(2500 * time.Millisecond),
	}
)

// wantTCP is what allOpts (or liveOpts, with reuse as given) leave on a
// TCP socket. socket(7): the kernel doubles SO_RCVBUF and SO_SNDBUF.
func wantTCP(network string, reuseAddr, reusePort bool) sockopt.Settings {
	return sockopt.Settings{
		Network:     network,
		ReuseAddr:   reuseAddr,
		ReusePort:   reusePort,
		ReusePortLB: reusePort,
		NoDelay:     false,
		KeepAlive:   keepAlive3053,
		ReadBuffer:  2 * 65536,
		WriteBuffer: 2 * 32768,
		Linger:      7 * time.Second,
		V6Only:      network == "tcp6",
		UserTimeout: 2500 * time.Millisecond,
	}
}

// Every option set through Control or Apply reads back, on a listener, an
// accepted conn, a dialed conn and a UDP socket.
func TestReadBack(t *testing.T) {
	t.Parallel()
	type sock = func(t *testing.T, network string) syscall.Conn
	tests := []struct {
		name string
		sock sock
		want func(network string) sockopt.Settings
	}{
		{
			name: "listener/Control",
			sock: func(t *testing.T, network string) syscall.Conn {
				lc := net.ListenConfig{Control: sockopt.Control(allOpts...)}
				l, err := lc.Listen(testContext(t), network, loopback(network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				return l.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings { return wantTCP(network, true, true) },
		},
		{
			// Buffers, linger, reuse and V6ONLY are inherited from the
			// listener's Control; NODELAY, keepalive and user timeout are
			// set by Listener.Accept after net has overwritten them.
			name: "accepted/Listen",
			sock: func(t *testing.T, network string) syscall.Conn {
				l, err := sockopt.Listen(testContext(t), network, loopback(network), allOpts...)
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				_, c := dialPair(t, l)
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings { return wantTCP(network, true, true) },
		},
		{
			name: "dialed/Dialer",
			sock: func(t *testing.T, network string) syscall.Conn {
				l, err := net.Listen(network, loopback(network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				d := sockopt.Dialer{Options: allOpts}
				c, err := d.DialContext(testContext(t), network, l.Addr().String())
				if err != nil {
					fatalUnlessMPTCP(t, "Dial", err)
				}
				t.Cleanup(func() { c.Close() })
				acceptOne(t, l)
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings { return wantTCP(network, true, true) },
		},
		{
			// TCP options are skipped by Control on a datagram socket.
			name: "udp/Control",
			sock: func(t *testing.T, network string) syscall.Conn {
				network = "udp" + network[3:]
				lc := net.ListenConfig{Control: sockopt.Control(allOpts...)}
				c, err := lc.ListenPacket(testContext(t), network, loopback(network))
				if err != nil {
					t.Fatalf("ListenPacket: %v", err)
				}
				t.Cleanup(func() { c.Close() })
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings {
				return sockopt.Settings{
					Network: "udp" + network[3:], ReuseAddr: true, ReusePort: true, ReusePortLB: true,
					ReadBuffer: 2 * 65536, WriteBuffer: 2 * 32768, Linger: 7 * time.Second,
					V6Only: network == "tcp6",
				}
			},
		},
		{
			// net sets SO_REUSEADDR on its listeners, and the accepted
			// socket inherits it.
			name: "accepted/Apply",
			sock: func(t *testing.T, network string) syscall.Conn {
				l, err := net.Listen(network, loopback(network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				_, c := dialPair(t, l)
				if err := sockopt.Apply(c.(syscall.Conn), liveOpts...); err != nil {
					fatalUnlessMPTCP(t, "Apply", err)
				}
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings { return wantTCP(network, true, false) },
		},
		{
			name: "dialed/Apply",
			sock: func(t *testing.T, network string) syscall.Conn {
				l, err := net.Listen(network, loopback(network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				c, _ := dialPair(t, l)
				if err := sockopt.Apply(c.(syscall.Conn), liveOpts...); err != nil {
					fatalUnlessMPTCP(t, "Apply", err)
				}
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings {
				// dialPair dials "tcp", for which net clears IPV6_V6ONLY.
				w := wantTCP(network, false, false)
				w.V6Only = false
				return w
			},
		},
		{
			name: "udp/Apply",
			sock: func(t *testing.T, network string) syscall.Conn {
				network = "udp" + network[3:]
				c, err := net.ListenPacket(network, loopback(network))
				if err != nil {
					t.Fatalf("ListenPacket: %v", err)
				}
				t.Cleanup(func() { c.Close() })
				opts := []sockopt.Option{sockopt.ReadBuffer(65536), sockopt.WriteBuffer(32768), sockopt.Linger(7 * time.Second)}
				if err := sockopt.Apply(c.(syscall.Conn), opts...); err != nil {
					fatalUnlessMPTCP(t, "Apply", err)
				}
				return c.(syscall.Conn)
			},
			want: func(network string) sockopt.Settings {
				return sockopt.Settings{
					Network: "udp" + network[3:], ReadBuffer: 2 * 65536, WriteBuffer: 2 * 32768,
					Linger: 7 * time.Second, V6Only: network == "tcp6",
				}
			},
		},
	}
	for _, network := range []string{"tcp4", "tcp6"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				if network == "tcp6" {
					skipWithoutIPv6(t)
				}
				checkSettings(t, tt.sock(t, network), tt.want(network))
			})
		}
	}
}

// sysctlInt reads an integer sysctl from /proc/sys.
func sysctlInt(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		t.Skipf("skipping: cannot read sysctl %s: %v", name, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
	return n
}

// Buffers: socket(7) says the kernel doubles SO_RCVBUF and
// SO_SNDBUF and caps them at net.core.rmem_max and wmem_max. A request
// above the cap is applied at the cap, reported with ErrClamped naming the
// sysctl, every other option of the call is still applied, and the
// connection keeps working.
func TestBufferClamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sysctl string
		opt    func(int) sockopt.Option
		field  func(sockopt.Settings) int
	}{
		{"ReadBuffer", "net.core.rmem_max", sockopt.ReadBuffer, func(s sockopt.Settings) int { return s.ReadBuffer }},
		{"WriteBuffer", "net.core.wmem_max", sockopt.WriteBuffer, func(s sockopt.Settings) int { return s.WriteBuffer }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limit := sysctlInt(t, tt.sysctl)
			l := listenTCP4(t)
			c, peer := dialPair(t, l)

			err := sockopt.Apply(c.(syscall.Conn), tt.opt(limit+1), sockopt.Linger(3*time.Second))
			if !errors.Is(err, sockopt.ErrClamped) {
				t.Fatalf("Apply(%s(%d)) = %v, want an error matching ErrClamped", tt.name, limit+1, err)
			}
			if !strings.Contains(err.Error(), tt.sysctl) || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error %q does not name %s and %s", err, tt.name, tt.sysctl)
			}
			var oe *sockopt.OptionError
			if !errors.As(err, &oe) || oe.Option != tt.opt(limit+1) {
				t.Errorf("error %v: want an *OptionError for %v", err, tt.opt(limit+1))
			}
			got := raw(t, c.(syscall.Conn))
			if tt.field(got) != 2*limit {
				t.Errorf("%s after clamp = %d, want 2 x %s = %d", tt.name, tt.field(got), tt.sysctl, 2*limit)
			}
			if got.Linger != 3*time.Second {
				t.Errorf("Linger = %v after a clamped buffer, want 3s: the other option must still be applied", got.Linger)
			}
			// The socket stays usable.
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatalf("Write after clamp: %v", err)
			}
			buf := make([]byte, 1)
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := peer.Read(buf); err != nil || buf[0] != 'x' {
				t.Fatalf("Read after clamp = %q, %v", buf, err)
			}

			// At the limit nothing is reported.
			if err := sockopt.Apply(c.(syscall.Conn), tt.opt(limit)); err != nil {
				t.Errorf("Apply(%s(%d)) at the limit: %v", tt.name, limit, err)
			}

			// Through Control the clamp fails the listen: net closes a
			// socket whose Control fails.
			lc := net.ListenConfig{Control: sockopt.Control(tt.opt(limit + 1))}
			l2, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
			if err == nil {
				l2.Close()
			}
			if !errors.Is(err, sockopt.ErrClamped) {
				t.Errorf("Listen with Control(%s(%d)) = %v, want ErrClamped", tt.name, limit+1, err)
			}
		})
	}
}

// Why Listen, NewListener and Dialer exist: net forces TCP_NODELAY=1 and
// keepalive 15s/15s/9 on every TCP connection after Control has run, so
// the same options through Control alone are undone (TestListenerAfterConnect
// and TestDialerAfterConnect show the helpers setting them again).
func TestNetOverwritesControl(t *testing.T) {
	t.Parallel()
	opts := []sockopt.Option{sockopt.NoDelay(false), sockopt.KeepAlive(keepAlive3053)}
	type nodelayKA struct {
		NoDelay   bool
		KeepAlive net.KeepAliveConfig
	}
	netDefault := nodelayKA{NoDelay: true, KeepAlive: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 15 * time.Second, Count: 9}}
	lc := net.ListenConfig{Control: sockopt.Control(opts...)}
	l, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := net.Dialer{Control: sockopt.Control(opts...)}
	c, err := d.DialContext(testContext(t), "tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := acceptOne(t, l)
	for name, conn := range map[string]net.Conn{"dialed": c, "accepted": a} {
		s := raw(t, conn.(syscall.Conn))
		if diff := cmp.Diff(netDefault, nodelayKA{s.NoDelay, s.KeepAlive}); diff != "" {
			t.Errorf("%s conn: net no longer overwrites Control's options? (-want +got):\n%s", name, diff)
		}
	}
}

// SO_REUSEPORT lets two listeners share a port and Linux
// spreads connections across them (socket(7)); without it the second bind
// fails with EADDRINUSE.
func TestReusePort(t *testing.T) {
	t.Parallel()
	for _, opt := range []sockopt.Option{sockopt.ReusePort(true), sockopt.ReusePortLB(true)} {
		t.Run(opt.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			l1, err := sockopt.Listen(ctx, "tcp4", "127.0.0.1:0", opt)
			if err != nil {
				t.Fatal(err)
			}
			defer l1.Close()
			l2, err := sockopt.Listen(ctx, "tcp4", l1.Addr().String(), opt)
			if err != nil {
				t.Fatalf("second Listen on %v with %v: %v", l1.Addr(), opt, err)
			}
			defer l2.Close()

			const conns = 200
			counts := make(chan int, 2)
			for _, l := range []net.Listener{l1, l2} {
				go func() {
					n := 0
					defer func() { counts <- n }()
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						n++
						c.Close()
					}
				}()
			}
			var d net.Dialer
			for i := range conns {
				c, err := d.DialContext(ctx, "tcp4", l1.Addr().String())
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				// Wait for the server's close so that every connection
				// has been accepted before the listeners close.
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("conn %d: want EOF from the server's close, got %v", i, err)
				}
				c.Close()
			}
			l1.Close()
			l2.Close()
			n1, n2 := <-counts, <-counts
			if n1+n2 != conns || n1 == 0 || n2 == 0 {
				t.Errorf("accepted %d and %d of %d connections; want both listeners to accept some", n1, n2, conns)
			}
			t.Logf("%v: accepted %d + %d", opt, n1, n2)
		})
	}
	t.Run("without", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		l1, err := sockopt.Listen(ctx, "tcp4", "127.0.0.1:0", sockopt.ReusePort(false))
		if err != nil {
			t.Fatal(err)
		}
		defer l1.Close()
		l2, err := sockopt.Listen(ctx, "tcp4", l1.Addr().String(), sockopt.ReusePort(false))
		if err == nil {
			l2.Close()
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("second Listen without ReusePort = %v, want EADDRINUSE", err)
		}
	})
}

// timeWait reports whether /proc/net/tcp (or tcp6) lists a TIME_WAIT
// socket (state 06, include/net/tcp_states.h) with local port port.
func timeWait(t *testing.T, port int) bool {
	t.Helper()
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "06" {
				continue
			}
			if strings.HasSuffix(fields[1], fmt.Sprintf(":%04X", port)) {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}

// SO_REUSEADDR lets a listener rebind a port whose last
// connection sits in TIME_WAIT (socket(7), tcp(7)); without it bind fails.
func TestReuseAddrTimeWait(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	l, err := sockopt.Listen(ctx, "tcp4", "127.0.0.1:0", sockopt.ReuseAddr(true))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	// Plain TCP even under GODEBUG=multipathtcp=1: with MPTCP on both
	// ends, which side closes its subflow first is up to the MPTCP layer.
	var d net.Dialer
	d.SetMultipathTCP(false)
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := acceptOne(t, l)
	l.Close()
	// The server closes first, so TIME_WAIT lands on the server's side,
	// whose local port is the listener's (tcp(7): the side that sends the
	// first FIN waits 2*MSL).
	s.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("want EOF from the server's close, got %v", err)
	}
	c.Close()
	// On loopback the client's FIN is processed inside its close call, so
	// the server socket is in TIME_WAIT now; check rather than assume.
	if !timeWait(t, port) {
		t.Fatalf("no TIME_WAIT socket on port %d; the test cannot show anything", port)
	}

	l2, err := sockopt.Listen(ctx, "tcp4", addr, sockopt.ReuseAddr(false))
	if err == nil {
		l2.Close()
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen(%s) with ReuseAddr(false) during TIME_WAIT = %v, want EADDRINUSE", addr, err)
	}
	l3, err := sockopt.Listen(ctx, "tcp4", addr, sockopt.ReuseAddr(true))
	if err != nil {
		t.Fatalf("Listen(%s) with ReuseAddr(true) during TIME_WAIT: %v", addr, err)
	}
	l3.Close()
}

// IPV6_V6ONLY (ipv6(7)) decides whether a tcp6 listener on
// [::] accepts an IPv4 client.
func TestV6Only(t *testing.T) {
	t.Parallel()
	skipWithoutIPv6(t)
	tests := []struct {
		name   string
		on     bool
		accept bool
	}{
		{"off accepts IPv4", false, true},
		{"on refuses IPv4", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			l, err := sockopt.Listen(ctx, "tcp6", "[::]:0", sockopt.V6Only(tt.on))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := raw(t, l).V6Only; got != tt.on {
				t.Fatalf("IPV6_V6ONLY = %t, want %t", got, tt.on)
			}
			port := l.Addr().(*net.TCPAddr).Port
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
			if !tt.accept {
				if err == nil {
					c.Close()
				}
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("IPv4 dial to a v6-only listener = %v, want ECONNREFUSED", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("IPv4 dial: %v", err)
			}
			defer c.Close()
			a := acceptOne(t, l)
			if ra := a.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); !ra.Is4In6() || ra.Unmap().String() != "127.0.0.1" {
				t.Errorf("accepted peer = %v, want ::ffff:127.0.0.1", ra)
			}
		})
	}
}

// KeepAlive: negative fields leave the kernel's value, durations round up
// to seconds, and Enable false clears SO_KEEPALIVE only (zero fields are
// refused: TestValidationBeforeSyscall).
func TestKeepAliveSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  []net.KeepAliveConfig // applied in order
		want net.KeepAliveConfig
	}{
		{"negative leaves unchanged", []net.KeepAliveConfig{keepAlive3053, {Enable: true, Idle: time.Minute, Interval: -1, Count: -1}},
			net.KeepAliveConfig{Enable: true, Idle: time.Minute, Interval: 5 * time.Second, Count: 3}},
		{"rounds up to seconds", []net.KeepAliveConfig{{Enable: true, Idle: 1500 * time.Millisecond, Interval: time.Nanosecond, Count: 1}},
			net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: time.Second, Count: 1}},
		{"disable keeps timers", []net.KeepAliveConfig{keepAlive3053, {Enable: false}},
			net.KeepAliveConfig{Enable: false, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := listenTCP4(t)
			c, _ := dialPair(t, l)
			for _, cfg := range tt.cfg {
				if err := sockopt.Apply(c.(syscall.Conn), sockopt.KeepAlive(cfg)); err != nil {
					t.Fatalf("Apply(KeepAlive(%+v)): %v", cfg, err)
				}
			}
			if diff := cmp.Diff(tt.want, raw(t, c.(syscall.Conn)).KeepAlive); diff != "" {
				t.Errorf("keepalive (-want +got):\n%s", diff)
			}
		})
	}
}

// Errors keep the errno and name the option. IPV6_V6ONLY on a
// bound socket fails with EINVAL (ipv6(7)); Control does not check the
// phase (it runs before bind), so calling its function on a bound
// listener reaches the kernel.
func TestErrnoKept(t *testing.T) {
	t.Parallel()
	skipWithoutIPv6(t)
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rc, err := l.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	err = sockopt.Control(sockopt.V6Only(false))("tcp6", l.Addr().String(), rc)
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("V6Only after bind = %v, want EINVAL", err)
	}
	var oe *sockopt.OptionError
	if !errors.As(err, &oe) || oe.Option != sockopt.V6Only(false) {
		t.Fatalf("error %v: want *OptionError for V6Only(false)", err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "setsockopt" {
		t.Errorf("error %v: want an *os.SyscallError from setsockopt", err)
	}
	if want := "sockopt: V6Only(false): setsockopt: invalid argument"; err.Error() != want {
		t.Errorf("error text = %q, want %q", err, want)
	}
}

// The Control function is stateless and idempotent, as net
// needs when an MPTCP listen fails and falls back to TCP, calling Control
// a second time on a new socket.
func TestControlIdempotent(t *testing.T) {
	t.Parallel()
	opts := []sockopt.Option{
		sockopt.ReusePort(true), sockopt.ReadBuffer(65536), sockopt.WriteBuffer(32768),
		sockopt.Linger(7 * time.Second), sockopt.NoDelay(false), sockopt.KeepAlive(keepAlive3053),
		sockopt.UserTimeout(2500 * time.Millisecond),
	}
	want := wantTCP("tcp4", true, true)
	ctl := sockopt.Control(opts...)

	t.Run("twice on one socket", func(t *testing.T) {
		t.Parallel()
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		lc.Control = func(network, address string, c syscall.RawConn) error {
			if err := ctl(network, address, c); err != nil {
				return err
			}
			return ctl(network, address, c)
		}
		l, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		checkSettings(t, l.(syscall.Conn), want)
	})

	t.Run("MPTCP fallback", func(t *testing.T) {
		t.Parallel()
		// Make the MPTCP attempt fail after our Control has run on it, the
		// way an option MPTCP rejects would; net then retries with TCP and
		// runs the Control again on the new socket.
		var sawMPTCP bool
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		lc.Control = func(network, address string, c syscall.RawConn) error {
			var proto int
			var perr error
			c.Control(func(fd uintptr) { proto, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL) })
			if perr != nil {
				return perr
			}
			err := ctl(network, address, c)
			if proto == unix.IPPROTO_MPTCP {
				sawMPTCP = true
				return errors.Join(err, errors.New("reject MPTCP"))
			}
			return err
		}
		l, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if !sawMPTCP {
			t.Skip("skipping: kernel has no MPTCP (net.mptcp.enabled=0 or CONFIG_MPTCP off); fallback not exercised")
		}
		checkSettings(t, l.(syscall.Conn), want)
	})

	t.Run("on an MPTCP listener", func(t *testing.T) {
		t.Parallel()
		// Control must work on IPPROTO_MPTCP sockets: the listener stays
		// MPTCP (no fallback) when every option is accepted.
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		lc.Control = sockopt.Control(sockopt.ReusePort(true), sockopt.ReadBuffer(65536), sockopt.Linger(7*time.Second))
		l, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if protocol(t, l.(syscall.Conn)) != unix.IPPROTO_MPTCP {
			t.Skip("skipping: listener is not MPTCP on this kernel")
		}
		got, err := sockopt.Get(l.(syscall.Conn))
		if err != nil {
			t.Fatalf("Get on MPTCP listener: %v", err)
		}
		if !got.ReusePort || got.ReadBuffer != 2*65536 || got.Linger != 7*time.Second {
			t.Errorf("MPTCP listener: ReusePort=%t ReadBuffer=%d Linger=%v, want true, %d, 7s", got.ReusePort, got.ReadBuffer, got.Linger, 2*65536)
		}
	})
}

func protocol(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var proto int
	var perr error
	if err := rc.Control(func(fd uintptr) { proto, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL) }); err != nil {
		t.Fatal(err)
	}
	if perr != nil {
		t.Fatalf("getsockopt(SO_PROTOCOL): %v", perr)
	}
	return proto
}

// unboundSocket returns a fresh, unbound socket as an *os.File.
func unboundSocket(t *testing.T, family, typ int) *os.File {
	t.Helper()
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping: socket(%d, %d): %v", family, typ, err)
	}
	f := os.NewFile(uintptr(fd), "socket")
	t.Cleanup(func() { f.Close() })
	return f
}

// The IPv6 level is chosen from the socket's real family, never from the
// network and address strings, which net may pass as "tcp6" and
// "0.0.0.0:0" for one dual-stack socket. And the phase check looks at the
// socket: before-bind options are fine on an unbound socket.
func TestRealFamily(t *testing.T) {
	t.Parallel()
	t.Run("AF_INET6 called tcp4", func(t *testing.T) {
		t.Parallel()
		skipWithoutIPv6(t)
		f := unboundSocket(t, unix.AF_INET6, unix.SOCK_STREAM)
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		// ipv6(7): the default comes from net.ipv6.bindv6only, 0 here;
		// asking for 1 makes the change visible.
		if err := sockopt.Control(sockopt.V6Only(true))("tcp4", "0.0.0.0:0", rc); err != nil {
			t.Fatalf("Control(V6Only(true)) on AF_INET6 named tcp4: %v", err)
		}
		if !raw(t, f).V6Only {
			t.Fatal("IPV6_V6ONLY not set: the option was skipped because of the network string")
		}
		// Unbound: Apply accepts a before-bind option.
		if err := sockopt.Apply(f, sockopt.V6Only(false), sockopt.ReusePort(true)); err != nil {
			t.Fatalf("Apply before-bind options on an unbound socket: %v", err)
		}
		got := raw(t, f)
		if got.V6Only || !got.ReusePort {
			t.Errorf("after Apply: V6Only=%t ReusePort=%t, want false, true", got.V6Only, got.ReusePort)
		}
	})
	t.Run("AF_INET called tcp6", func(t *testing.T) {
		t.Parallel()
		f := unboundSocket(t, unix.AF_INET, unix.SOCK_STREAM)
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		// IPPROTO_IPV6 options on an AF_INET socket fail in the kernel;
		// Control must skip V6Only, not trust the string.
		if err := sockopt.Control(sockopt.V6Only(true), sockopt.Linger(2*time.Second))("tcp6", "[::]:0", rc); err != nil {
			t.Fatalf("Control(V6Only(true)) on AF_INET named tcp6: %v", err)
		}
		if got := raw(t, f); got.Network != "tcp4" || got.Linger != 2*time.Second {
			t.Errorf("raw = %+v, want tcp4 with Linger 2s", got)
		}
		if err := sockopt.Apply(f, sockopt.V6Only(true)); !errors.Is(err, sockopt.ErrNotApplicable) {
			t.Errorf("Apply(V6Only(true)) on AF_INET = %v, want ErrNotApplicable", err)
		}
	})
}

// On an AF_UNIX stream socket the TCP options do not apply: Control skips
// them and Apply refuses them, while socket-level options still work.
func TestUnixSocket(t *testing.T) {
	t.Parallel()
	f := unboundSocket(t, unix.AF_UNIX, unix.SOCK_STREAM)
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := sockopt.Control(sockopt.NoDelay(true), sockopt.Linger(2*time.Second))("unix", "", rc); err != nil {
		t.Fatalf("Control on AF_UNIX: %v", err)
	}
	s, err := sockopt.Get(f)
	if err != nil {
		t.Fatalf("Get on AF_UNIX: %v", err)
	}
	if diff := cmp.Diff(sockopt.Settings{Linger: 2 * time.Second, ReadBuffer: s.ReadBuffer, WriteBuffer: s.WriteBuffer}, s); diff != "" {
		t.Errorf("Get on AF_UNIX (-want +got):\n%s", diff)
	}
	if err := sockopt.Apply(f, sockopt.NoDelay(true)); !errors.Is(err, sockopt.ErrNotApplicable) {
		t.Errorf("Apply(NoDelay) on AF_UNIX = %v, want ErrNotApplicable", err)
	}
}

// On an MPTCP connection Linux refuses some TCP options; the error says so
// with errors.ErrUnsupported and keeps the errno, and the other options of
// the call are still set.
func TestMPTCPConnUnsupported(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	l, err := lc.Listen(testContext(t), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var d net.Dialer
	d.SetMultipathTCP(true)
	c, err := d.DialContext(testContext(t), "tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acceptOne(t, l)
	if ok, _ := c.(*net.TCPConn).MultipathTCP(); !ok {
		t.Skip("skipping: connection is not MPTCP on this kernel")
	}
	err = sockopt.Apply(c.(syscall.Conn), sockopt.UserTimeout(time.Second), sockopt.NoDelay(false))
	if err == nil {
		t.Skip("skipping: this kernel supports TCP_USER_TIMEOUT on MPTCP")
	}
	if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, syscall.ENOPROTOOPT) || !strings.Contains(err.Error(), "UserTimeout(1s)") {
		t.Fatalf("Apply(UserTimeout) on MPTCP = %v, want ErrUnsupported and ENOPROTOOPT naming the option", err)
	}
	if raw(t, c.(syscall.Conn)).NoDelay {
		t.Error("NoDelay(false) was not applied beside the refused option")
	}
}
