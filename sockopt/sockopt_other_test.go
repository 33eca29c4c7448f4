//go:build !unix && !windows

package sockopt_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/framesock/framesock/sockopt"
)

// The stub platforms (js, wasip1, plan9) have no socket options: every
// entry point reports errors.ErrUnsupported with the option and GOOS,
// never a silent success. Run locally with
//
//	PATH=$PATH:$(go env GOROOT)/lib/wasm GOOS=js GOARCH=wasm go test ./sockopt/
func TestStubUnsupported(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: no loopback listener on %s: %v", runtime.GOOS, err)
	}
	defer l.Close()
	sc, ok := l.(syscall.Conn)
	if !ok {
		t.Skipf("skipping: %T has no SyscallConn on %s", l, runtime.GOOS)
	}
	opt := sockopt.NoDelay(false)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s = %v, want errors.ErrUnsupported", what, err)
			return
		}
		if !strings.Contains(err.Error(), runtime.GOOS) {
			t.Errorf("%s: error %q does not name %s", what, err, runtime.GOOS)
		}
	}
	check("Apply", sockopt.Apply(sc, opt))
	if err := sockopt.Apply(sc, opt); !strings.Contains(err.Error(), opt.String()) {
		t.Errorf("Apply error %q does not name %v", err, opt)
	}
	_, err = sockopt.Get(sc)
	check("Get", err)
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	check("Control", sockopt.Control(opt)("tcp4", "127.0.0.1:0", rc))
	_, err = sockopt.Listen(context.Background(), "tcp", "127.0.0.1:0", sockopt.ReuseAddr(true))
	check("Listen", err)
	// No options: nothing to refuse.
	if err := sockopt.Apply(sc); err != nil {
		t.Errorf("Apply with no options = %v, want nil", err)
	}
}
