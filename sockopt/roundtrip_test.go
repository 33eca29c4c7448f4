//go:build unix || windows

package sockopt_test

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/sockopt"
)

// Every platform with sockets: what Apply sets, Get reads back, for each
// option this platform supports. (Linux has the exhaustive version, with
// raw getsockopt, in sockopt_linux_test.go.)
func TestApplyGetRoundTrip(t *testing.T) {
	t.Parallel()
	ka := net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}
	tests := []struct {
		name string
		opt  sockopt.Option
		get  func(sockopt.Settings) any
		want any
	}{
		{"NoDelay off", sockopt.NoDelay(false), func(s sockopt.Settings) any { return s.NoDelay }, false},
		{"NoDelay on", sockopt.NoDelay(true), func(s sockopt.Settings) any { return s.NoDelay }, true},
		{"Linger 3s", sockopt.Linger(3 * time.Second), func(s sockopt.Settings) any { return s.Linger }, 3 * time.Second},
		{"Linger rounds up", sockopt.Linger(1500 * time.Millisecond), func(s sockopt.Settings) any { return s.Linger }, 2 * time.Second},
		{"Linger reset", sockopt.Linger(0), func(s sockopt.Settings) any { return s.Linger }, time.Duration(0)},
		{"Linger off", sockopt.Linger(-1), func(s sockopt.Settings) any { return s.Linger }, time.Duration(-1)},
		{"KeepAlive", sockopt.KeepAlive(ka), func(s sockopt.Settings) any { return s.KeepAlive }, ka},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := sockopt.Supported(tt.opt); err != nil {
				t.Skipf("skipping: %v", err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			c, _ := dialPair(t, l)
			if err := sockopt.Apply(c.(syscall.Conn), tt.opt); err != nil {
				t.Fatalf("Apply(%v): %v", tt.opt, err)
			}
			s, err := sockopt.Get(c.(syscall.Conn))
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.get(s)); diff != "" {
				t.Errorf("after %v (-want +got):\n%s", tt.opt, diff)
			}
			if s.Network != "tcp4" {
				t.Errorf("Network = %q, want tcp4", s.Network)
			}
		})
	}
}

// Control on a listener, for both families: the options read back, and
// Network comes from the socket's family.
func TestControlRoundTrip(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			if network == "tcp6" {
				skipWithoutIPv6(t)
			}
			opts := []sockopt.Option{sockopt.Linger(4 * time.Second), sockopt.V6Only(true)}
			lc := net.ListenConfig{Control: sockopt.Control(opts...)}
			l, err := lc.Listen(testContext(t), network, loopback(network))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			s, err := sockopt.Get(l.(syscall.Conn))
			if err != nil {
				t.Fatal(err)
			}
			type got struct {
				Network string
				Linger  time.Duration
				V6Only  bool
			}
			want := got{network, 4 * time.Second, network == "tcp6"}
			if diff := cmp.Diff(want, got{s.Network, s.Linger, s.V6Only}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkApply measures Apply against the net setter it replaces (the
// baseline): the cost of validation, the family/phase probe and the
// OptionError plumbing on top of one setsockopt.
func BenchmarkApply(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	b.Run("baseline=TCPConn.SetNoDelay", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := tc.SetNoDelay(i%2 == 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	opts := []sockopt.Option{sockopt.NoDelay(false), sockopt.NoDelay(true)}
	b.Run("sockopt.Apply", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := sockopt.Apply(tc, opts[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sockopt.Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := sockopt.Get(tc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// loopback returns the loopback address for a "tcp4"/"tcp6"-style network.
func loopback(network string) string {
	if network[len(network)-1] == '6' {
		return "[::1]:0"
	}
	return "127.0.0.1:0"
}
