package dualstack_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/internal/netnstest"
)

// netnsEnv names the scenario a re-executed test binary runs inside a
// fresh network namespace.
const netnsEnv = "DUALSTACK_TEST_NETNS"

// TestKernelNetns runs Listen on the real kernel path with sysctls that
// would change a naive dual-stack listener, each in a network namespace of
// its own (the sysctls below are per namespace, so the host is untouched):
//
//   - net.ipv6.bindv6only=1 makes new AF_INET6 sockets v6-only by default
//     (ipv6(7)); Listen clears IPV6_V6ONLY explicitly, so it must still
//     get SingleSocket and serve IPv4.
//   - net.ipv6.conf.{all,default,lo}.disable_ipv6=1 removes ::1 but leaves
//     AF_INET6 sockets available: Listen gets SingleSocket, IPv4 clients
//     connect through the mapped path, and no IPv6 client can.
//
// The test re-executes its own binary in a new network namespace
// (internal/netnstest), which needs root; it skips with the reason
// otherwise.
func TestKernelNetns(t *testing.T) {
	if scenario := os.Getenv(netnsEnv); scenario != "" {
		runNetnsScenario(t, scenario)
		return
	}
	netnstest.Run(t, netnsEnv, "bindv6only", "disable_ipv6")
}

func runNetnsScenario(t *testing.T, scenario string) {
	netnstest.SetLinkUp(t, "lo")
	switch scenario {
	case "bindv6only":
		writeSysctl(t, "net/ipv6/bindv6only", "1")
		// The sysctl is live: a plain AF_INET6 socket starts v6-only.
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		v, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		unix.Close(fd)
		if err != nil || v != 1 {
			t.Fatalf("new AF_INET6 socket IPV6_V6ONLY = %d, %v; want 1 under bindv6only=1", v, err)
		}
		for _, proto := range []string{"tcp", "udp"} {
			checkNetnsListen(t, proto, true)
		}
	case "disable_ipv6":
		for _, dev := range []string{"all", "default", "lo"} {
			writeSysctl(t, "net/ipv6/conf/"+dev+"/disable_ipv6", "1")
		}
		// AF_INET6 sockets still exist (the kernel was not booted with
		// ipv6.disable=1), so this is not the IPv4Only case.
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("AF_INET6 socket with disable_ipv6=1: %v", err)
		}
		unix.Close(fd)
		t.Logf("disable_ipv6=1: socket(AF_INET6) still succeeds")
		for _, proto := range []string{"tcp", "udp"} {
			checkNetnsListen(t, proto, false)
		}
		if l, err := dualstack.Listen(context.Background(), "tcp6", "[::1]:0"); err == nil {
			l.Close()
			t.Errorf(`Listen("tcp6", "[::1]:0") succeeded with IPv6 disabled`)
		} else {
			t.Logf("disable_ipv6=1: Listen(tcp6, [::1]:0): %v", err)
		}
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
}

// checkNetnsListen listens on a wildcard and checks the mode and which
// loopback clients get through.
func checkNetnsListen(t *testing.T, proto string, wantV6 bool) {
	t.Helper()
	var (
		mode  dualstack.Mode
		addr  net.Addr
		state []socketState
	)
	if proto == "tcp" {
		l, err := dualstack.Listen(context.Background(), "tcp", ":0")
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		defer l.Close()
		mode, addr, state = l.Mode(), l.Addr(), kernelState(t, l.SyscallConns())
		p := portOf(t, addr)
		roundTrip(t, l, loopback("127.0.0.1", p))
		if wantV6 {
			roundTrip(t, l, loopback("::1", p))
		} else if c, err := net.DialTimeout("tcp", loopback("::1", p), ioTimeout); err == nil {
			c.Close()
			t.Errorf("dial [::1]:%d succeeded with IPv6 disabled", p)
		} else {
			t.Logf("disable_ipv6=1: dial ::1: %v", err)
			if !errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENETUNREACH) && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial ::1 failed with %v, want EADDRNOTAVAIL, ENETUNREACH or ECONNREFUSED", err)
			}
		}
	} else {
		pc, err := dualstack.ListenPacket(context.Background(), "udp", ":0")
		if err != nil {
			t.Fatalf("ListenPacket: %v", err)
		}
		defer pc.Close()
		mode, addr, state = pc.Mode(), pc.LocalAddr(), kernelState(t, pc.SyscallConns())
		p := portOf(t, addr)
		packetRoundTrip(t, pc, loopback("127.0.0.1", p))
		if wantV6 {
			packetRoundTrip(t, pc, loopback("::1", p))
		}
	}
	t.Logf("%s: Listen(%s, :0) = %v, mode %v, sockets %+v", proto, proto, addr, mode, state)
	if mode != dualstack.SingleSocket || len(state) != 1 || state[0].V6Only {
		t.Errorf("%s: mode %v with sockets %+v; want SingleSocket with IPV6_V6ONLY off", proto, mode, state)
	}
}

func writeSysctl(t *testing.T, name, value string) {
	t.Helper()
	path := "/proc/sys/" + name
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		if errors.Is(err, syscall.EROFS) || errors.Is(err, os.ErrPermission) {
			t.Skipf("skipping: cannot set sysctl %s here: %v", name, err)
		}
		t.Fatalf("sysctl %s=%s: %v", strings.ReplaceAll(name, "/", "."), value, err)
	}
	if got, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(got)) != value {
		t.Fatalf("sysctl %s reads %q, %v after writing %s", name, got, err, value)
	}
}
