package main

import (
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/examples/internal/progtest"
)

// goleak checks that every server and goroutine the tour starts is gone
// when run returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTour(t *testing.T) {
	t.Parallel()
	out, err := progtest.RunClient(t, run)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	// What each step must have shown; ports and timings vary.
	for _, want := range []string{
		`(?m)^1\. TCP echo, upper-cased  \(chapter: TCP Sockets: TCP Server, TCP Client\)$`,
		`(?m)^   received "HELLO, TCP! GET / HTTP/1\.1"$`,
		`(?m)^   graceful Shutdown: 1 connection served, 26 bytes in, 26 bytes out$`,
		`(?m)^   received "HELLO, UDP!" from 127\.0\.0\.1:\d+ \(one datagram\)$`,
		`(?m)^   received "HELLO" \(5 bytes\), "" \(0 bytes\), "XXXXXXXX" \(1048576 bytes\)$`,
		`(?m)^   an HTTP request read as a frame: .*1195725856`,
		`(?m)^   dualstack\.Listen\("tcp", ":0"\): mode \w+, sockets \[`,
		`(?m)^   IPv4: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ replied "HELLO OVER IPV4"; server saw 127\.0\.0\.1:\d+$`,
		`(?m)^     NoDelay\(true\) +kernel holds true$`,
		`(?m)^     Linger\(5s\) +kernel holds 5s$`,
		`(?m)^   Read with SetReadDeadline\(now\+200ms\): .*i/o timeout after \d+ms$`,
		`(?m)^   frame\.Conn\.Recv with a 200ms context: context deadline exceeded after \d+ms$`,
		`\nall 6 steps passed in \S+\n$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n   ok\n"); n != 6 {
		t.Errorf("%d steps ok, want 6:\n%s", n, out)
	}
	if program.IPv6Loopback() == nil {
		re := regexp.MustCompile(`(?m)^   IPv6: \[::1\]:\d+ -> \[::1\]:\d+ replied "HELLO OVER IPV6"; server saw \[::1\]:\d+$`)
		if !re.MatchString(out) {
			t.Errorf("output does not match %v:\n%s", re, out)
		}
	}
}

// TestTourReportsFailures: with no time for any step, every step fails,
// the report says so, run returns an error, and nothing is left running.
func TestTourReportsFailures(t *testing.T) {
	t.Parallel()
	out, err := progtest.RunClient(t, run, "-step-limit", "1ns")
	if err == nil {
		t.Fatalf("run = nil, want an error\n%s", out)
	}
	if n := strings.Count(out, "\n   FAILED: "); n != 6 {
		t.Errorf("%d steps FAILED, want 6:\n%s", n, out)
	}
	if !strings.HasSuffix(out, "\n6 of 6 steps failed in "+out[strings.LastIndex(out, " ")+1:]) {
		t.Errorf("output does not end with the failure count:\n%s", out)
	}
}
