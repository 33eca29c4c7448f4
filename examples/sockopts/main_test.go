package main

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/progtest"
	"github.com/framesock/framesock/sockopt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReadBack checks that every option the program sets is reported as
// the kernel holding what was asked (buffers: at least what was asked,
// since kernels may round up or double).
func TestReadBack(t *testing.T) {
	t.Parallel()
	out, err := progtest.RunClient(t, run)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	sections := regexp.MustCompile(`(?m)^(listener|dialed|accepted) .*\((tcp4)\)$`).FindAllString(out, -1)
	if len(sections) != 3 {
		t.Errorf("want listener, dialed and accepted sections, got %q in:\n%s", sections, out)
	}
	tests := []struct {
		name string
		line string // a regexp for one option line
		n    int    // how many sections report it
	}{
		{name: "ReuseAddr", line: `ReuseAddr\(true\) +kernel holds true`, n: 1},
		{name: "ReusePort", line: `ReusePort\(true\) +kernel holds true`, n: 1},
		{name: "NoDelay", line: `NoDelay\(true\) +kernel holds true`, n: 1},
		{name: "Linger", line: `Linger\(5s\) +kernel holds 5s`, n: 1},
		{name: "KeepAlive", line: `KeepAlive\(\{Enable:true Idle:1m0s Interval:20s Count:3\}\) +kernel holds \{Enable:true Idle:1m0s Interval:20s Count:3\}`, n: 1},
		{name: "ReadBuffer", line: `ReadBuffer\(65536\) +kernel holds (\d{6,}|6553[6-9]|655[4-9]\d|65[6-9]\d\d|6[6-9]\d{3}|[7-9]\d{4})`, n: 3},
		{name: "WriteBuffer", line: `WriteBuffer\(65536\) +kernel holds (\d{6,}|6553[6-9]|655[4-9]\d|65[6-9]\d\d|6[6-9]\d{3}|[7-9]\d{4})`, n: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			re := regexp.MustCompile(`(?m)^  ` + tt.line + `$`)
			if runtime.GOOS == "windows" && tt.name == "ReusePort" {
				re = regexp.MustCompile(`(?m)^  ReusePort\(true\) +sockopt: .*unsupported`)
			}
			if got := len(re.FindAllString(out, -1)); got != tt.n {
				t.Errorf("%d lines match %v, want %d:\n%s", got, re, tt.n, out)
			}
		})
	}
	// The last line shows a before-bind option refused on a bound socket.
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	if !strings.HasPrefix(last, "Apply(ReuseAddr(true)) on the bound listener: ") || strings.HasSuffix(last, "<nil>\n") {
		t.Errorf("last line %q: want Apply's error", last)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want error
	}{
		{name: "zero buffer", args: []string{"-rcvbuf", "0"}, want: sockopt.ErrRange},
		{name: "negative buffer", args: []string{"-sndbuf", "-1"}, want: sockopt.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := progtest.RunClient(t, run, tt.args...); !errors.Is(err, tt.want) {
				t.Errorf("run(%q) = %v, want an error matching %v", tt.args, err, tt.want)
			}
		})
	}
}
