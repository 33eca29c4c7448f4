//go:build unix

package echo_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
	"github.com/framesock/framesock/frame"
)

// idleConns is how many idle connections TestIdleConnMemory holds open.
const idleConns = 2000

// TestIdleConnMemory opens 2,000 connections from a child process (so
// that only the server's memory is in this one), has each make one round
// trip, lets them idle, and checks the server's memory per connection
// (heap plus goroutine stacks) against the figure the package doc gives;
// see idleBound.
//
// Not parallel: it measures the whole process.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: opens 2,000 connections")
	}
	// Both ends of every connection live on this machine: the server's
	// here, the clients' in the child, which inherits the limit.
	const need = 2*idleConns + 200
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
			// 64 KiB frame buffers, like the raw mode's, so that a
			// buffer held while idle could not hide in the bound.
			s := &echo.Server{Framed: framed, FrameOptions: []frame.Option{frame.WithBufferSize(64 << 10)}}
			addr := echotest.Start(t, s)
			before := memInUse()

			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientProcess$")
			cmd.Env = append(os.Environ(), "ECHO_IDLE_ADDR="+addr.String(), "ECHO_IDLE_FRAMED="+strconv.FormatBool(framed))
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				stdin.Close() // the child exits, closing its connections
				if err := cmd.Wait(); err != nil {
					t.Errorf("client process: %v", err)
				}
			}()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("client process said %q, %v", line, err)
			}
			waitFor(t, "every connection served", func() bool { return s.Stats().ActiveConns == idleConns })

			after := memInUse()
			perConn := (int64(after) - int64(before)) / idleConns
			t.Logf("%d idle %s connections: %d bytes of heap and stack per connection", idleConns,
				map[bool]string{false: "raw", true: "framed"}[framed], perConn)
			if bound, why := idleBound(framed); perConn > bound {
				t.Errorf("%d bytes per idle connection, want at most %d (%s)", perConn, bound, why)
			}
		})
	}
}

// Figures of TestIdleConnMemory on linux/amd64, in bytes per idle
// connection: those the package doc gives (about 3.3 KiB raw, 4.8 KiB
// framed: a goroutine stack, the conn, netFD and frame structs, no
// buffer), and under the race detector, which gives every allocation
// shadow memory and goroutines larger stacks (5.3 and 8.6 KiB).
const (
	idleRaw, idleFramed         = 3379, 4915
	idleRawRace, idleFramedRace = 5427, 8806
)

// idleBound returns the most TestIdleConnMemory accepts, and why. On
// linux/amd64 it is the figure plus 15%, room for allocator rounding, so
// that a change adding half a KiB to every idle connection fails.
// Elsewhere stacks and structs have other sizes, and the bound is what a
// buffer held while idle (64 KiB) would exceed.
func idleBound(framed bool) (int64, string) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return 16 << 10, "a buffer held while idle would exceed it"
	}
	raw, fr := idleRaw, idleFramed
	if raceEnabled {
		raw, fr = idleRawRace, idleFramedRace
	}
	figure := raw
	if framed {
		figure = fr
	}
	return int64(float64(figure) * 1.15), "the figure on linux/amd64 plus 15%"
}

// memInUse returns the heap and stack memory in use after a collection.
// Two collections let the runtime shrink the stacks of idle goroutines
// (stack shrinking happens during GC) before the figure is read.
func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
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
	for range idleConns {
		c, err := net.DialTimeout("tcp", addr, testTimeout)
		if err != nil {
			t.Fatal(err)
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
			t.Fatal(err)
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
			t.Fatal(err)
		}
		c.SetDeadline(time.Time{})
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	for _, c := range conns {
		c.Close()
	}
}
