//go:build unix

package echo_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/frame"
)

// idleConns is how many idle connections TestIdleConnMemory holds open.
const idleConns = 10_000

// TestIdleConnMemory measures what idle connections cost a server. The
// server runs in a child process of its own, so that its memory is that
// of a fresh process serving nothing else; a second child opens 10,000
// connections to it, makes one round trip on each and keeps them open.
// Once the server has parked every one (where connections park), the
// test reads the server's resident set (VmRSS, on Linux) and its heap and
// stacks in use after a collection, and checks the growth per connection
// against the figures of idleBounds.
//
// Not parallel: it needs 10,000 descriptors in each child and two CPUs'
// worth of dialing.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: opens 10,000 connections")
	}
	// Each child holds one end of every connection, and inherits this
	// process's limit.
	const need = idleConns + 200
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("skipping: cannot read RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur < need {
		// Go raises the soft limit to the hard one at start-up
		// (golang.org/issue/46279); this covers a runtime that did not.
		raised := lim // Rlimit's field types differ between platforms
		raised.Cur = lim.Max
		if raised.Cur > need {
			raised.Cur = need
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil || raised.Cur < need {
			t.Skipf("skipping: RLIMIT_NOFILE is %d (hard %d), need %d descriptors: %v", lim.Cur, lim.Max, need, err)
		}
		defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			srv := startChild(t, "TestIdleServerProcess", "ECHO_IDLE_FRAMED="+strconv.FormatBool(framed))
			addr := srv.read(t, "addr")
			before := srv.ask(t, "mem")

			cli := startChild(t, "TestIdleClientProcess", "ECHO_IDLE_ADDR="+addr, "ECHO_IDLE_FRAMED="+strconv.FormatBool(framed))
			if got := cli.read(t, "ready"); got != "" {
				t.Fatalf("client process: %s", got)
			}
			want := fmt.Sprintf("active=%d parked=%d", idleConns, idleConns)
			if !echo.ParkSupported {
				want = fmt.Sprintf("active=%d parked=0", idleConns)
			}
			var stats string
			waitFor(t, "every connection served and parked", func() bool {
				stats = srv.ask(t, "stats")
				return strings.HasPrefix(stats, want+" ")
			})
			after := srv.ask(t, "mem")
			var goroutines int
			fmt.Sscanf(stats[len(want):], " goroutines=%d", &goroutines)
			if echo.ParkSupported && goroutines > 100 {
				t.Errorf("%d goroutines in the server with every connection parked", goroutines)
			}

			var b, a struct{ rss, heapStack int64 }
			fmt.Sscanf(before, "rss=%d heapstack=%d", &b.rss, &b.heapStack)
			fmt.Sscanf(after, "rss=%d heapstack=%d", &a.rss, &a.heapStack)
			rss := (a.rss - b.rss) / idleConns
			heapStack := (a.heapStack - b.heapStack) / idleConns
			t.Logf("%d idle %s connections (%s): %d bytes of resident set and %d of heap and stacks per connection",
				idleConns, map[bool]string{false: "raw", true: "framed"}[framed], stats, rss, heapStack)
			bounds := idleBounds()
			if heapStack > bounds.heapStack {
				t.Errorf("%d bytes of heap and stacks per idle connection, want at most %d (%s)", heapStack, bounds.heapStack, bounds.why)
			}
			if a.rss > 0 && bounds.rss > 0 && rss > bounds.rss {
				t.Errorf("%d bytes of resident set per idle connection, want at most %d (%s)", rss, bounds.rss, bounds.why)
			}
			cli.end(t)
			srv.end(t)
		})
	}
}

// idleBound is what TestIdleConnMemory accepts per connection, and why.
type idleBound struct {
	rss, heapStack int64 // 0: not checked
	why            string
}

// idleBounds returns the bounds of TestIdleConnMemory. Where connections
// park (Linux, macOS, the BSDs), a parked connection holds no goroutine
// and no buffer: only its socket's structures in package net and the
// runtime, and the server's small record of it. Its heap and stacks are
// then held to 1 KiB, which a connection keeping its goroutine (a 2 KiB
// stack at least) would exceed. Its resident set also counts the
// runtime's poll descriptor (512 bytes outside the heap) and what the
// allocator holds beyond the live heap, which varies from run to run:
// on linux/amd64 it is held to 1,800 bytes, about 15% over the largest of
// the figures measured there (1,350 to 1,600; BENCHMARKS.md), which a
// connection keeping its goroutine (3.9 KiB) exceeds.
// Where connections cannot park, each keeps its goroutine, and the bound
// is what a buffer held while idle (64 KiB) would exceed.
func idleBounds() idleBound {
	switch {
	case !echo.ParkSupported:
		return idleBound{heapStack: 16 << 10, why: "a buffer held while idle would exceed it"}
	case raceEnabled || runtime.GOOS != "linux" || runtime.GOARCH != "amd64":
		// The race detector's shadow memory is in the resident set.
		return idleBound{heapStack: 1 << 10, why: "a connection holding a goroutine would exceed it"}
	}
	return idleBound{rss: 1800, heapStack: 1 << 10, why: "a parked connection on linux/amd64, with a margin"}
}

// child is a test process that TestIdleConnMemory runs, talking to it
// line by line.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild runs this test binary again with only test, with env added.
func startChild(t *testing.T, test string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { c.end(t) })
	return c
}

// read reads the child's next line, which must start with word, and
// returns the rest.
func (c *child) read(t *testing.T, word string) string {
	t.Helper()
	line, err := c.out.ReadString('\n')
	rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), word)
	if err != nil || !ok {
		t.Fatalf("child said %q, %v; want a line starting %q", line, err, word)
	}
	return strings.TrimSpace(rest)
}

// ask sends the child a command and returns its answer.
func (c *child) ask(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		t.Fatalf("asking the child %q: %v", cmd, err)
	}
	return c.read(t, cmd)
}

// end closes the child's input, which makes it exit, and waits for it.
func (c *child) end(t *testing.T) {
	if c.stdin == nil {
		return
	}
	c.stdin.Close()
	c.stdin = nil
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("child process %v: %v", c.cmd.Args, err)
	}
}

// TestIdleServerProcess is the server of TestIdleConnMemory, run in a
// child process; it does nothing in a normal test run. It serves on a
// loopback port, prints "addr ADDR", and answers each line of its input
// until it ends: "stats" with the connections served and parked and the
// goroutines running, "mem" with its resident set and (after a
// collection) its heap and stacks in use, in bytes.
func TestIdleServerProcess(t *testing.T) {
	framed, ok := os.LookupEnv("ECHO_IDLE_FRAMED")
	if !ok || os.Getenv("ECHO_IDLE_ADDR") != "" {
		t.Skip("run by TestIdleConnMemory")
	}
	// 64 KiB frame buffers, like the raw mode's, so that a buffer held
	// while idle could not hide in the bounds.
	s := &echo.Server{
		Address:      "127.0.0.1:0",
		Framed:       framed == "true",
		FrameOptions: []frame.Option{frame.WithBufferSize(64 << 10)},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	l, err := s.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	fmt.Println("addr", l.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "stats":
			st := s.Stats()
			fmt.Printf("stats active=%d parked=%d goroutines=%d\n", st.ActiveConns, st.ParkedConns, runtime.NumGoroutine())
		case "mem":
			rss := residentSet()
			runtime.GC()
			runtime.GC() // the second also frees the stacks of goroutines that the first found gone
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("mem rss=%d heapstack=%d\n", rss, ms.HeapInuse+ms.StackInuse)
		}
	}
	s.Close()
	<-served
}

// residentSet returns the process's resident set in bytes (VmRSS from
// /proc/self/status), or 0 where there is none to read.
func residentSet() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// TestIdleClientProcess is the client side of TestIdleConnMemory, run in a
// child process; it does nothing in a normal test run.
func TestIdleClientProcess(t *testing.T) {
	addr := os.Getenv("ECHO_IDLE_ADDR")
	if addr == "" {
		t.Skip("run by TestIdleConnMemory")
	}
	framed := os.Getenv("ECHO_IDLE_FRAMED") == "true"
	conns := make([]net.Conn, 0, idleConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	fail := func(err error) {
		fmt.Println("ready", err) // the parent reports it
		t.Fatal(err)
	}
	for range idleConns {
		c, err := net.DialTimeout("tcp", addr, testTimeout)
		if err != nil {
			fail(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(testTimeout))
		msg := []byte("x")
		if framed {
			err = writeFrame(c, msg)
		} else {
			_, err = c.Write(msg)
		}
		if err != nil {
			fail(err)
		}
	}
	for _, c := range conns {
		var err error
		if framed {
			_, err = readFrame(c)
		} else {
			_, err = io.ReadFull(c, make([]byte, 1))
		}
		if err != nil {
			fail(err)
		}
		c.SetDeadline(time.Time{})
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
}
