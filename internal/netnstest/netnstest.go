//go:build linux

// Package netnstest lets a test run part of itself in a network namespace
// of its own, where it may change links and sysctls without touching the
// host: the test binary re-executes itself under unshare(1) -n, with an
// environment variable naming the scenario to run. It needs root
// (CAP_SYS_ADMIN); tests skip with the reason otherwise.
//
// The shape of a test that uses it:
//
//	func TestSomething(t *testing.T) {
//		if scenario := os.Getenv(env); scenario != "" {
//			runScenario(t, scenario) // in the new namespace
//			return
//		}
//		netnstest.Run(t, env, "first", "second")
//	}
package netnstest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Run re-executes the running test (t must be a top-level test) once per
// scenario, each in a new network namespace with env set to the scenario's
// name, as a parallel subtest that passes, fails or skips as the child did.
// It marks t parallel too, after the checks that may skip it.
func Run(t *testing.T, env string, scenarios ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping: a network namespace needs root, running as uid %d", os.Geteuid())
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("skipping: unshare(1) not found: %v", err)
	}
	name := t.Name()
	t.Parallel()
	for _, scenario := range scenarios {
		t.Run(scenario, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, unshare, "-n", "--", os.Args[0],
				"-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout=50s")
			cmd.Env = append(os.Environ(), env+"="+scenario)
			out, err := cmd.CombinedOutput()
			if err != nil && strings.Contains(string(out), "unshare failed") {
				t.Skipf("skipping: cannot create a network namespace here: %s", out)
			}
			t.Logf("in a new network namespace:\n%s", out)
			if err != nil {
				t.Fatalf("scenario %s failed: %v", scenario, err)
			}
			// A child that could not set the namespace up (a read-only
			// /proc/sys in some containers) skips, and exits 0 like a
			// pass; report its reason rather than a pass.
			if strings.Contains(string(out), "--- SKIP: "+name) {
				t.Skipf("skipping: the namespace could not be set up:\n%s", out)
			}
			if !strings.Contains(string(out), "--- PASS: "+name) {
				t.Fatalf("scenario %s did not run to a pass", scenario)
			}
		})
	}
}

// SetLinkUp sets IFF_UP on a link with SIOCSIFFLAGS (netdevice(7)), so a
// test does not need ip(8). A new namespace has only lo, and it is down.
func SetLinkUp(t testing.TB, name string) {
	t.Helper()
	withIfreq(t, name, func(fd int, ifr *unix.Ifreq) error {
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	})
}

// SetMTU sets a link's MTU with SIOCSIFMTU (netdevice(7)).
func SetMTU(t testing.TB, name string, mtu int) {
	t.Helper()
	withIfreq(t, name, func(fd int, ifr *unix.Ifreq) error {
		ifr.SetUint32(uint32(mtu))
		return unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr)
	})
}

// withIfreq runs op on a socket for ioctls and a request naming the link;
// a permission error skips the test, any other fails it.
func withIfreq(t testing.TB, name string, op func(fd int, ifr *unix.Ifreq) error) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := op(fd, ifr); err != nil {
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("skipping: cannot configure %s here: %v", name, err)
		}
		t.Fatalf("configuring %s: %v", name, err)
	}
}
