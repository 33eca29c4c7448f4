//go:build unix

// The end-to-end test builds every example program, starts each server as
// a process on a free port, runs the matching client program against it,
// then stops the server with a signal and checks that it exits with status
// 0: the contract in the package comments, checked from outside, the way a
// user or a script meets the programs. Unix only, because it sends SIGTERM.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/program"
	"github.com/framesock/framesock/examples/internal/progtest"
)

var (
	binDir    string // where the programs are built, removed after the tests
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "framesock-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { _ = os.RemoveAll(dir) }))
}

// programs builds every example with one go build and returns the
// directory holding the binaries; it skips the test without a go command.
func programs(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipping: building the examples needs the go command on PATH: %v", err)
	}
	buildOnce.Do(func() {
		// One invocation for all twelve: go build links them in parallel
		// and shares the compiled packages.
		cmd := exec.Command(goCmd, "build", "-o", binDir+string(filepath.Separator), "./...")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build -o %s ./...: %v\n%s", binDir, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// server is an example server running as a process.
type server struct {
	cmd    *exec.Cmd
	addr   string        // from its "listening on" line
	rest   *bufio.Reader // the rest of its standard output
	stderr *bytes.Buffer
}

func startServer(t *testing.T, name string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(filepath.Join(programs(t), name), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: new(bytes.Buffer)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// However the test ends, the process does not outlive it.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = io.Copy(io.Discard, stdout)
			_ = cmd.Wait()
		}
	})

	type first struct {
		addr string
		rest *bufio.Reader
		err  error
	}
	got := make(chan first, 1)
	go func() {
		addr, rest, err := progtest.ReadListening(stdout)
		got <- first{addr, rest, err}
	}()
	select {
	case f := <-got:
		if f.err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("%s %q: %v", name, args, f.err)
		}
		s.addr, s.rest = f.addr, f.rest
	case <-time.After(progtest.Timeout):
		_ = cmd.Process.Kill()
		<-got
		t.Fatalf("%s %q: no %q line within %v", name, args, progtest.ListeningPrefix, progtest.Timeout)
	}
	return s
}

// stop sends sig and returns the rest of the server's output and its exit
// status. A server that does not exit within progtest.Timeout is killed.
func (s *server) stop(t *testing.T, sig os.Signal) (string, int) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v", err)
	}
	killer := time.AfterFunc(progtest.Timeout, func() { _ = s.cmd.Process.Kill() })
	defer killer.Stop()
	rest, _ := io.ReadAll(s.rest) // ends when the process exits
	err := s.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("wait: %v", err)
	}
	return string(rest), s.cmd.ProcessState.ExitCode()
}

// runProgram runs a client to completion and returns its output and status.
func runProgram(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), progtest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(programs(t), name), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func TestServersAndClients(t *testing.T) {
	t.Parallel()
	ipv6 := program.IPv6Loopback()
	tests := []struct {
		name       string
		server     []string       // program and arguments
		client     []string       // {addr} and {port} stand for the server's
		wantOut    *regexp.Regexp // client's standard output
		signal     os.Signal
		wantRest   *regexp.Regexp // server's output after the first line
		needsIPv6  bool
		serverHost string // host to put in {addr}, if not the bound one
	}{
		{
			name:     "tcp-server and tcp-client",
			server:   []string{"tcp-server", "-addr", "127.0.0.1:0"},
			client:   []string{"tcp-client", "-addr", "{addr}", "-msg", "hello, chapter 7"},
			wantOut:  regexp.MustCompile(`^HELLO, CHAPTER 7\n$`),
			signal:   syscall.SIGTERM,
			wantRest: regexp.MustCompile(`^connection from 127\.0\.0\.1:\d+\nshut down; connections: 1, bytes in: 16, bytes out: 16\n$`),
		},
		{
			name:     "tcp-server and timeout-client, stopped with SIGINT",
			server:   []string{"tcp-server", "-addr", "127.0.0.1:0"},
			client:   []string{"timeout-client", "-addr", "{addr}", "-timeout", "10s"},
			wantOut:  regexp.MustCompile(`^HELLO, TIMEOUTS!\n$`),
			signal:   os.Interrupt,
			wantRest: regexp.MustCompile(`\nshut down; connections: 1,`),
		},
		{
			name:     "tcp-server and nonblocking-client",
			server:   []string{"tcp-server", "-addr", "127.0.0.1:0"},
			client:   []string{"nonblocking-client", "-addr", "{addr}", "-conns", "5"},
			wantOut:  regexp.MustCompile(`(?s)(conn \d: HELLO FROM CONN \d\n.*){5}5 of 5 replies in \S+\n$`),
			signal:   syscall.SIGTERM,
			wantRest: regexp.MustCompile(`\nshut down; connections: 5,`),
		},
		{
			name:     "udp-server and udp-client",
			server:   []string{"udp-server", "-addr", "127.0.0.1:0"},
			client:   []string{"udp-client", "-addr", "{addr}"},
			wantOut:  regexp.MustCompile(`^received from 127\.0\.0\.1:\d+: HELLO, UDP!\n$`),
			signal:   syscall.SIGTERM,
			wantRest: regexp.MustCompile(`^shut down; datagrams echoed: 1, dropped: 0\n$`),
		},
		{
			name:     "framed-server and framed-client",
			server:   []string{"framed-server", "-addr", "127.0.0.1:0"},
			client:   []string{"framed-client", "-addr", "{addr}", "-big", "100000", "one", "", "three"},
			wantOut:  regexp.MustCompile(`^"ONE" \(3 bytes\)\n"" \(0 bytes\)\n"THREE" \(5 bytes\)\n"X{24}"\.\.\. \(100000 bytes\)\n$`),
			signal:   syscall.SIGTERM,
			wantRest: regexp.MustCompile(`^shut down; connections: 1, messages echoed: 4\n$`),
		},
		{
			name:     "dualstack-server and tcp-client over IPv4",
			server:   []string{"dualstack-server", "-addr", ":0"},
			client:   []string{"tcp-client", "-addr", "127.0.0.1:{port}", "-msg", "v4"},
			wantOut:  regexp.MustCompile(`^V4\n$`),
			signal:   syscall.SIGTERM,
			wantRest: regexp.MustCompile(`^mode \w+, sockets \[.*\]\nconnection from 127\.0\.0\.1:\d+ over IPv4\nshut down; connections: 1, bytes in: 2, bytes out: 2\n$`),
		},
		{
			name:      "dualstack-server and ipv6-client",
			server:    []string{"dualstack-server", "-addr", ":0"},
			client:    []string{"ipv6-client", "-addr", "[::1]:{port}"},
			wantOut:   regexp.MustCompile(`^connected from \[::1\]:\d+ to \[::1\]:\d+\nHELLO, IPV6!\n$`),
			signal:    syscall.SIGTERM,
			wantRest:  regexp.MustCompile(`^mode \w+, sockets \[.*\]\nconnection from \[::1\]:\d+ over IPv6\nshut down; connections: 1, bytes in: 12, bytes out: 12\n$`),
			needsIPv6: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.needsIPv6 && ipv6 != nil {
				t.Skipf("skipping: IPv6 loopback unavailable: %v", ipv6)
			}
			srv := startServer(t, tt.server[0], tt.server[1:]...)
			_, port, err := net.SplitHostPort(srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			args := make([]string, len(tt.client)-1)
			for i, a := range tt.client[1:] {
				args[i] = strings.NewReplacer("{addr}", srv.addr, "{port}", port).Replace(a)
			}
			out, errOut, code := runProgram(t, tt.client[0], args...)
			if code != 0 || !tt.wantOut.MatchString(out) {
				t.Errorf("%s %q: exit status %d, output:\n%s\nstderr:\n%s\nwant status 0 and output matching %v", tt.client[0], args, code, out, errOut, tt.wantOut)
			}

			rest, code := srv.stop(t, tt.signal)
			if code != 0 {
				t.Errorf("%s after %v: exit status %d, want 0; stderr:\n%s", tt.server[0], tt.signal, code, srv.stderr)
			}
			if !tt.wantRest.MatchString(rest) {
				t.Errorf("%s output after the first line:\n%s\ndoes not match %v", tt.server[0], rest, tt.wantRest)
			}
		})
	}
}

// TestStandalonePrograms runs the programs that need no server, and the
// clients' failures, which must each be one line on standard error.
func TestStandalonePrograms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  *regexp.Regexp
		wantErr  *regexp.Regexp // all of standard error
	}{
		{
			name:    "tour",
			args:    []string{"tour"},
			wantOut: regexp.MustCompile(`(?s)^framesock tour: .*\nall 6 steps passed in \S+\n$`),
			wantErr: regexp.MustCompile(`^$`),
		},
		{
			name:    "sockopts",
			args:    []string{"sockopts"},
			wantOut: regexp.MustCompile(`(?s)^listener 127\.0\.0\.1:\d+ \(tcp4\)\n.*ReadBuffer\(65536\) +kernel holds \d+\n`),
			wantErr: regexp.MustCompile(`^$`),
		},
		{
			name:     "a bad flag exits non-zero",
			args:     []string{"udp-server", "-nosuchflag"},
			wantCode: 1,
			wantOut:  regexp.MustCompile(`^$`),
			wantErr:  regexp.MustCompile(`(?s)^flag provided but not defined: -nosuchflag\n.*\nudp-server: flag provided but not defined: -nosuchflag\n$`),
		},
		{
			name:     "timeout-client against a server that never answers",
			args:     []string{"timeout-client", "-silent", "-timeout", "200ms"},
			wantCode: 1,
			wantOut:  regexp.MustCompile(`^$`),
			wantErr:  regexp.MustCompile(`^timeout-client: timed out after 200ms waiting for a reply from 127\.0\.0\.1:\d+: [^\n]*i/o timeout\n$`),
		},
	}
	// -h prints usage, exits 0, and shows the default address: port 9000
	// for every server and client, as in the chapter.
	defaults := map[string]string{
		"tcp-server": ":9000", "udp-server": ":9000", "framed-server": ":9000", "dualstack-server": ":9000",
		"tcp-client": "localhost:9000", "udp-client": "localhost:9000", "framed-client": "localhost:9000",
		"timeout-client": "localhost:9000", "nonblocking-client": "localhost:9000", "ipv6-client": "[::1]:9000",
	}
	for name, def := range defaults {
		tests = append(tests, struct {
			name     string
			args     []string
			wantCode int
			wantOut  *regexp.Regexp
			wantErr  *regexp.Regexp
		}{
			name:    name + " -h",
			args:    []string{name, "-h"},
			wantOut: regexp.MustCompile(`^$`),
			wantErr: regexp.MustCompile(`(?s)^[Uu]sage[^\n]* ` + name + `[: ][^\n]*\n  -addr host:port\n[^\n]*\(default "` + regexp.QuoteMeta(def) + `"\)\n`),
		})
	}
	// Every client, pointed at a port nobody listens on.
	closed := progtest.ClosedAddr(t)
	for _, name := range []string{"tcp-client", "framed-client", "timeout-client", "nonblocking-client"} {
		tests = append(tests, struct {
			name     string
			args     []string
			wantCode int
			wantOut  *regexp.Regexp
			wantErr  *regexp.Regexp
		}{
			name:     name + " cannot connect",
			args:     []string{name, "-addr", closed},
			wantCode: 1,
			wantOut:  regexp.MustCompile(`^$`),
			wantErr:  regexp.MustCompile(`^` + name + `: [^\n]*cannot connect to ` + regexp.QuoteMeta(closed) + `: [^\n]*connection refused\n$`),
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runProgram(t, tt.args[0], tt.args[1:]...)
			if code != tt.wantCode || !tt.wantOut.MatchString(out) || !tt.wantErr.MatchString(errOut) {
				t.Errorf("%q: exit status %d, stdout:\n%s\nstderr:\n%s\nwant status %d, stdout matching %v, stderr matching %v",
					tt.args, code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// TestSecondInterruptExitsAtOnce: while a graceful shutdown waits for a
// client that does not read its replies, a second Ctrl-C ends the server
// at once, by the signal's default action.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "tcp-server", "-addr", "127.0.0.1:0", "-grace", "1h")
	c, err := net.DialTimeout("tcp", srv.addr, progtest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(progtest.Timeout))
	// The server announces the connection once it has accepted it.
	if line, err := srv.rest.ReadString('\n'); err != nil || !strings.HasPrefix(line, "connection from ") {
		t.Fatalf("server printed %q, %v; want its connection line", line, err)
	}
	// A reply shows that the server is serving the connection: one that
	// is accepted but not yet served when shutdown starts is closed at
	// once, and the shutdown would have nothing to wait for.
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 1)
	if _, err := io.ReadFull(c, reply); err != nil || reply[0] != 'X' {
		t.Fatalf("server replied %q, %v; want %q", reply, err, "X")
	}

	// Send without reading until a write times out: the buffers both
	// ways are full and the server waits to write its reply, which keeps
	// the graceful shutdown waiting for its grace period. (A connection
	// idle with nothing in flight would be closed at once.)
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Write(chunk); errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil || i == 10_000 {
			t.Fatalf("filling the server's buffers: %v after %d writes", err, i)
		}
	}
	// The server restores the default action for SIGINT right after the
	// first one arrives, in a goroutine of its own, so an interrupt sent
	// this early may still be caught: send one every 100 ms until the
	// process dies, a bounded number of times.
	exited := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, srv.rest)
		_ = srv.cmd.Wait()
		close(exited)
	}()
	for i := 0; ; i++ {
		_ = srv.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(100 * time.Millisecond):
			if i < 50 {
				continue
			}
			_ = srv.cmd.Process.Kill()
			<-exited
			t.Fatalf("tcp-server survived %d interrupts during its shutdown", i+2)
		}
		break
	}
	status, ok := srv.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGINT {
		t.Errorf("after a second SIGINT: %v, want death by SIGINT", srv.cmd.ProcessState)
	}
}
