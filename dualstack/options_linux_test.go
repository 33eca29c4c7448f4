package dualstack_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// settings reads a socket's options as the kernel holds them.
func settings(t *testing.T, sc syscall.Conn) sockopt.Settings {
	t.Helper()
	s, err := sockopt.Get(sc)
	if err != nil {
		t.Fatalf("sockopt.Get: %v", err)
	}
	return s
}

// listenModes are the two ways to serve both families on Linux: the
// kernel allows one socket, and Modes: TwoSockets asks for two.
var listenModes = []struct {
	name  string
	modes dualstack.Mode
	want  dualstack.Mode
}{
	{"single socket", 0, dualstack.SingleSocket},
	{"two sockets", dualstack.TwoSockets, dualstack.TwoSockets},
}

// TestReusePortShared checks that sockopt options reach every socket of a
// dual-stack listener: two listeners with ReusePort(true) bind one port,
// in either mode, and Linux hands connections from both families to both
// (socket(7): SO_REUSEPORT spreads incoming connections across the
// sockets by a hash of the 4-tuple).
func TestReusePortShared(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, m := range listenModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lc := &dualstack.ListenConfig{Modes: m.modes}
			ctx := context.Background()
			l1, err := lc.Listen(ctx, "tcp", ":0", sockopt.ReusePort(true))
			if err != nil {
				t.Fatalf("first Listen: %v", err)
			}
			defer l1.Close()
			p := portOf(t, l1.Addr())
			address := loopback("", p)

			// Without the option on the second listener the port is
			// taken: this is what the option changes.
			if l, err := lc.Listen(ctx, "tcp", address); !errors.Is(err, syscall.EADDRINUSE) {
				if err == nil {
					l.Close()
				}
				t.Fatalf("second Listen without ReusePort = %v, want EADDRINUSE", err)
			}
			l2, err := lc.Listen(ctx, "tcp", address, sockopt.ReusePort(true))
			if err != nil {
				t.Fatalf("second Listen with ReusePort: %v", err)
			}
			defer l2.Close()

			for i, l := range []*dualstack.Listener{l1, l2} {
				if l.Mode() != m.want {
					t.Errorf("listener %d: Mode() = %v, want %v", i, l.Mode(), m.want)
				}
				for _, sc := range l.SyscallConns() {
					if s := settings(t, sc); !s.ReusePort {
						t.Errorf("listener %d: %s socket has SO_REUSEPORT off", i, s.Network)
					}
				}
			}

			type hit struct {
				listener int
				ipv4     bool
			}
			hits := make(chan hit)
			for i, l := range []*dualstack.Listener{l1, l2} {
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return // closed by the deferred Close
						}
						ap, _ := dualstack.AddrPort(c.RemoteAddr())
						c.Close()
						hits <- hit{i, ap.Addr().Is4()}
					}
				}()
			}
			// Dial each family until both listeners have accepted one
			// of it. With a fair hash the chance that 64 dials all land
			// on one listener is 2^-63.
			const maxDials = 64
			for _, host := range []string{"127.0.0.1", "::1"} {
				var got [2]int
				for n := 0; n < maxDials && (got[0] == 0 || got[1] == 0); n++ {
					c, err := net.DialTimeout("tcp", loopback(host, p), ioTimeout)
					if err != nil {
						t.Fatalf("Dial %s: %v", host, err)
					}
					select {
					case h := <-hits:
						if h.ipv4 != (host == "127.0.0.1") {
							t.Errorf("dial from %s accepted as IPv4=%t", host, h.ipv4)
						}
						got[h.listener]++
					case <-time.After(ioTimeout):
						t.Fatalf("no listener accepted the dial from %s", host)
					}
					c.Close()
				}
				if got[0] == 0 || got[1] == 0 {
					t.Errorf("%s: accepted by listener 1: %d, listener 2: %d; want both", host, got[0], got[1])
				}
			}
		})
	}
}

// TestOptionsReachEverySocket checks that an inherited option is set on
// each listening socket and the after-connect ones, which net overwrites,
// on each accepted connection of either family.
func TestOptionsReachEverySocket(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	ka := net.KeepAliveConfig{Enable: true, Idle: 77 * time.Second, Interval: 11 * time.Second, Count: 5}
	opts := []sockopt.Option{sockopt.Linger(3 * time.Second), sockopt.NoDelay(false), sockopt.KeepAlive(ka)}
	for _, m := range listenModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			l, err := (&dualstack.ListenConfig{Modes: m.modes}).Listen(context.Background(), "tcp", ":0", opts...)
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer l.Close()
			for _, sc := range l.SyscallConns() {
				if s := settings(t, sc); s.Linger != 3*time.Second {
					t.Errorf("%s listening socket: Linger = %v, want 3s", s.Network, s.Linger)
				}
			}
			p := portOf(t, l.Addr())
			for _, host := range []string{"127.0.0.1", "::1"} {
				srv := roundTrip(t, l, loopback(host, p))
				s := settings(t, srv.(syscall.Conn))
				if s.NoDelay || s.Linger != 3*time.Second || s.KeepAlive != ka {
					t.Errorf("connection from %s: NoDelay %t, Linger %v, KeepAlive %+v; want false, 3s, %+v",
						host, s.NoDelay, s.Linger, s.KeepAlive, ka)
				}
			}
		})
	}
}

// TestReusePortSharedPacket is TestReusePortShared for UDP: Linux spreads
// datagrams from different source ports across the sockets sharing the
// port.
func TestReusePortSharedPacket(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, m := range listenModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lc := &dualstack.ListenConfig{Modes: m.modes}
			ctx := context.Background()
			pc1, err := lc.ListenPacket(ctx, "udp", ":0", sockopt.ReusePort(true))
			if err != nil {
				t.Fatalf("first ListenPacket: %v", err)
			}
			defer pc1.Close()
			p := portOf(t, pc1.LocalAddr())
			pc2, err := lc.ListenPacket(ctx, "udp", loopback("", p), sockopt.ReusePort(true))
			if err != nil {
				t.Fatalf("second ListenPacket with ReusePort: %v", err)
			}
			defer pc2.Close()

			hits := make(chan int)
			for i, pc := range []*dualstack.PacketConn{pc1, pc2} {
				go func() {
					buf := make([]byte, 16)
					for {
						if _, _, err := pc.ReadFrom(buf); err != nil {
							return // closed by the deferred Close
						}
						hits <- i
					}
				}()
			}
			const maxSends = 64
			for _, host := range []string{"127.0.0.1", "::1"} {
				var got [2]int
				for n := 0; n < maxSends && (got[0] == 0 || got[1] == 0); n++ {
					// A new socket per datagram: a new source port, so
					// a new hash.
					c, err := net.Dial("udp", loopback(host, p))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.Write([]byte("x")); err != nil {
						t.Fatal(err)
					}
					select {
					case i := <-hits:
						got[i]++
					case <-time.After(ioTimeout):
						t.Fatalf("no PacketConn received the datagram from %s", host)
					}
					c.Close()
				}
				if got[0] == 0 || got[1] == 0 {
					t.Errorf("%s: received by conn 1: %d, conn 2: %d; want both", host, got[0], got[1])
				}
			}
		})
	}
}

// TestListenConfigTemplate checks that the net.ListenConfig template
// reaches every socket: its multipath TCP choice (read back as
// SO_PROTOCOL, socket(7)) and its KeepAliveConfig, which net applies to
// each accepted connection.
func TestListenConfigTemplate(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	ka := net.KeepAliveConfig{Enable: true, Idle: 33 * time.Second, Interval: 7 * time.Second, Count: 4}
	for _, m := range listenModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			lc := &dualstack.ListenConfig{Modes: m.modes}
			lc.ListenConfig.SetMultipathTCP(false)
			lc.ListenConfig.KeepAliveConfig = ka
			l, err := lc.Listen(context.Background(), "tcp", ":0")
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer l.Close()
			for _, sc := range l.SyscallConns() {
				rc, err := sc.SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				var proto int
				var perr error
				rc.Control(func(fd uintptr) {
					proto, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
				})
				if perr != nil || proto != unix.IPPROTO_TCP {
					t.Errorf("SO_PROTOCOL = %d, %v; want IPPROTO_TCP with multipath TCP off", proto, perr)
				}
			}
			p := portOf(t, l.Addr())
			for _, host := range []string{"127.0.0.1", "::1"} {
				srv := roundTrip(t, l, loopback(host, p))
				if got := settings(t, srv.(syscall.Conn)).KeepAlive; got != ka {
					t.Errorf("connection from %s: KeepAlive %+v, want %+v", host, got, ka)
				}
			}
		})
	}
}

// TestPacketConnSetBuffers checks that SetReadBuffer and SetWriteBuffer
// reach every socket. Linux doubles the size it stores (socket(7)).
func TestPacketConnSetBuffers(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	for _, m := range listenModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			pc, err := (&dualstack.ListenConfig{Modes: m.modes}).ListenPacket(context.Background(), "udp", ":0")
			if err != nil {
				t.Fatalf("ListenPacket: %v", err)
			}
			defer pc.Close()
			const rb, wb = 48 << 10, 40 << 10
			if err := pc.SetReadBuffer(rb); err != nil {
				t.Fatalf("SetReadBuffer: %v", err)
			}
			if err := pc.SetWriteBuffer(wb); err != nil {
				t.Fatalf("SetWriteBuffer: %v", err)
			}
			for _, sc := range pc.SyscallConns() {
				if s := settings(t, sc); s.ReadBuffer != 2*rb || s.WriteBuffer != 2*wb {
					t.Errorf("%s socket: SO_RCVBUF %d, SO_SNDBUF %d; want %d, %d", s.Network, s.ReadBuffer, s.WriteBuffer, 2*rb, 2*wb)
				}
			}
		})
	}
}
