package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/echo/echotest"
)

// parkAfter is the ParkAfter of the tests that make connections park.
const parkAfter = time.Millisecond

func skipUnlessParking(t *testing.T) {
	t.Helper()
	if !echo.ParkSupported {
		t.Skip("skipping: connections do not park on this platform (no epoll or kqueue)")
	}
}

// exchange sends msg, raw or as one frame, and checks that the reply is
// Upper(msg).
func exchange(c net.Conn, framed bool, msg []byte) error {
	var got []byte
	var err error
	if framed {
		if err = writeFrame(c, msg); err == nil {
			got, err = readFrame(c)
		}
	} else if _, err = c.Write(msg); err == nil {
		got = make([]byte, len(msg))
		_, err = io.ReadFull(c, got)
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(got, upper(msg)) {
		return fmt.Errorf("reply %q, want %q", got, upper(msg))
	}
	return nil
}

// parkedClient dials s, makes one exchange and waits until the server has
// parked the connection.
func parkedClient(t *testing.T, s *echo.Server, addr net.Addr) net.Conn {
	t.Helper()
	c := dial(t, "tcp", addr)
	if err := exchange(c, s.Framed, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	waitParked(t, s, c)
	return c
}

func waitParked(t *testing.T, s *echo.Server, c net.Conn) {
	t.Helper()
	waitFor(t, "the connection to park", func() bool { return echo.Parked(s, c.LocalAddr()) })
}

// readEOF reads c to its end and fails unless the server closed it
// cleanly, with nothing more sent.
func readEOF(t *testing.T, c net.Conn) {
	t.Helper()
	if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
		t.Fatalf("client read %q, %v; want the connection closed cleanly", rest, err)
	}
}

// TestParkedConnWakes parks a connection (raw and framed) and then wakes
// it each way there is: input, a half-close, a reset, IdleTimeout,
// Shutdown and Close. Each time the server deals with it as it would
// with a connection holding its goroutine, and keeps its counts.
func TestParkedConnWakes(t *testing.T) {
	t.Parallel()
	skipUnlessParking(t)
	const idle = 300 * time.Millisecond
	tests := []struct {
		name string
		// wake acts on the parked connection c of server s and checks
		// the outcome.
		wake func(t *testing.T, s *echo.Server, c net.Conn, logs *logBuffer)
	}{
		{name: "input", wake: func(t *testing.T, s *echo.Server, c net.Conn, _ *logBuffer) {
			for i := range 3 {
				if err := exchange(c, s.Framed, []byte(fmt.Sprintf("wake %d", i))); err != nil {
					t.Fatal(err)
				}
				waitParked(t, s, c)
			}
			if st := s.Stats(); st.Parks < 4 || st.ParkedConns != 1 {
				t.Errorf("Stats: %d parks, %d parked; want at least 4 and 1", st.Parks, st.ParkedConns)
			}
		}},
		{name: "half-close", wake: func(t *testing.T, s *echo.Server, c net.Conn, _ *logBuffer) {
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			readEOF(t, c)
			waitFor(t, "the connection to end", func() bool { return s.Stats().ActiveConns == 0 })
		}},
		{name: "reset", wake: func(t *testing.T, s *echo.Server, c net.Conn, _ *logBuffer) {
			c.(*net.TCPConn).SetLinger(0) // close sends RST
			c.Close()
			waitFor(t, "the connection to end", func() bool { return s.Stats().ActiveConns == 0 })
		}},
		{name: "idle timeout", wake: func(t *testing.T, s *echo.Server, c net.Conn, logs *logBuffer) {
			start := time.Now()
			if err := exchange(c, s.Framed, []byte("last")); err != nil {
				t.Fatal(err)
			}
			waitParked(t, s, c)
			readEOF(t, c)
			// Cut between 7/8 of IdleTimeout and IdleTimeout after the
			// last input, give or take the scheduling of a busy machine.
			if took := time.Since(start); took < idle*7/8 || took > idle+time.Second {
				t.Errorf("cut %v after the last input, want about IdleTimeout, %v", took, idle)
			}
			// The count comes before the log line.
			waitFor(t, "the timeout counted and logged", func() bool {
				return s.Stats().Timeouts == 1 && len(logs.lines("level=INFO", "idle timeout")) == 1
			})
		}},
		{name: "shutdown", wake: func(t *testing.T, s *echo.Server, c net.Conn, _ *logBuffer) {
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				done <- s.Shutdown(ctx)
			}()
			// The parked connection is half-closed at once: the client
			// reads EOF while Shutdown still waits for it to close, as
			// for a connection holding its goroutine, so a request it
			// may have been sending meanwhile is drained, not reset.
			readEOF(t, c)
			select {
			case err := <-done:
				t.Fatalf("Shutdown = %v before the client closed", err)
			default:
			}
			c.Close()
			if err := <-done; err != nil {
				t.Fatalf("Shutdown = %v, want nil", err)
			}
		}},
		{name: "close", wake: func(t *testing.T, s *echo.Server, c net.Conn, _ *logBuffer) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			readEOF(t, c)
			waitFor(t, "the connection to end", func() bool { return s.Stats().ActiveConns == 0 })
		}},
	}
	for _, tt := range tests {
		for _, framed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/framed=%v", tt.name, framed), func(t *testing.T) {
				t.Parallel()
				logger, logs := newLogger()
				s := &echo.Server{Framed: framed, Transform: echo.Upper, ParkAfter: parkAfter, IdleTimeout: idle, Logger: logger}
				if tt.name != "idle timeout" {
					s.IdleTimeout = testTimeout
				}
				addr := echotest.Start(t, s)
				c := parkedClient(t, s, addr)
				if st := s.Stats(); st.ParkedConns != 1 || st.ActiveConns != 1 {
					t.Fatalf("Stats: %d parked of %d active, want 1 of 1", st.ParkedConns, st.ActiveConns)
				}
				tt.wake(t, s, c, logs)
			})
		}
	}
}

// TestParkWakeUnderLoad: 32 connections park and are woken by input 100
// times each (every exchange but the first starts from a parked
// connection), while 4 others stream through the same server without
// pause. Every reply is checked.
func TestParkWakeUnderLoad(t *testing.T) {
	t.Parallel()
	skipUnlessParking(t)
	const (
		idlers    = 32
		rounds    = 100
		streamers = 4
	)
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Framed: framed, Transform: echo.Upper, ParkAfter: parkAfter}
			addr := echotest.Start(t, s)

			stop := make(chan struct{})
			var streams group
			for id := range streamers {
				c := dial(t, "tcp", addr)
				streams.Go(func() error {
					n, err := stream(c, framed, id, stop)
					if err == nil && n == 0 {
						err = fmt.Errorf("streamer %d: no reply while the others parked and woke", id)
					}
					return err
				})
			}
			var idles group
			for id := range idlers {
				c := dial(t, "tcp", addr)
				idles.Go(func() error {
					for i := range rounds {
						if i > 0 {
							if !waitParkedFor(s, c) {
								return fmt.Errorf("idler %d round %d: connection did not park", id, i)
							}
						}
						if err := exchange(c, framed, []byte(fmt.Sprintf("idler %d round %d", id, i))); err != nil {
							return fmt.Errorf("idler %d round %d: %w", id, i, err)
						}
					}
					return nil
				})
			}
			err := idles.Wait()
			close(stop)
			if serr := streams.Wait(); err == nil {
				err = serr
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := echo.Wakes(s); w < idlers*(rounds-1) {
				t.Errorf("%d wakes by input, want at least %d", w, idlers*(rounds-1))
			}
		})
	}
}

// waitParkedFor is waitParked for a client goroutine: it reports false
// instead of failing the test.
func waitParkedFor(s *echo.Server, c net.Conn) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testTimeout)
	for !echo.Parked(s, c.LocalAddr()) {
		select {
		case <-tick.C:
		case <-deadline:
			return false
		}
	}
	return true
}

// stream sends slices of pattern (raw, or one frame each) until stop is
// closed, while checking the replies in another goroutine, then
// half-closes. It returns how many replies it checked.
func stream(c net.Conn, framed bool, id int, stop <-chan struct{}) (int, error) {
	sizes := make(chan int, 8) // sent and not yet checked: at most 8 in flight
	readerDone := make(chan struct{})
	checked := 0
	var reader group
	reader.Go(func() error {
		defer close(readerDone)
		off := 0
		for n := range sizes {
			want := upperPattern[off : off+n]
			var got []byte
			var err error
			if framed {
				got, err = readFrame(c)
			} else {
				got = make([]byte, n)
				_, err = io.ReadFull(c, got)
			}
			if err != nil {
				return fmt.Errorf("streamer %d: %w", id, err)
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("streamer %d: reply differs", id)
			}
			checked++
			off = (off + n) % (len(pattern) - 64<<10)
		}
		return nil
	})
	// end stops the reader and returns what it checked, and the first
	// error.
	end := func(err error) (int, error) {
		close(sizes)
		rerr := reader.Wait()
		if err == nil && rerr == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		return checked, errors.Join(rerr, err)
	}
	for i, off := 0, 0; ; i++ {
		n := 1 + (i*7919+id*104729)%(16<<10)
		var err error
		if framed {
			err = writeFrame(c, pattern[off:off+n])
		} else {
			_, err = c.Write(pattern[off : off+n])
		}
		if err != nil {
			return end(err)
		}
		select {
		case sizes <- n:
		case <-readerDone: // failed: end says why
			return end(nil)
		}
		off = (off + n) % (len(pattern) - 64<<10)
		select {
		case <-stop:
			return end(nil)
		default:
		}
	}
}

// TestParkedStaleEvent: an event of a registration whose connection has
// left its slot (here: taken out as IdleTimeout takes one, its socket
// still open until its goroutine closes it) must not wake the connection
// parked in that slot since. The slot is reused with a new generation,
// and the stale event carries the old one.
func TestParkedStaleEvent(t *testing.T) {
	t.Parallel()
	skipUnlessParking(t)
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			t.Parallel()
			s := &echo.Server{Framed: framed, Transform: echo.Upper, ParkAfter: parkAfter, IdleTimeout: testTimeout}
			addr := echotest.Start(t, s)
			witness := parkedClient(t, s, addr)
			old := parkedClient(t, s, addr)
			slot, gen, _ := echo.ParkedSlot(s, old.LocalAddr())
			end := echo.Unpark(s, old.LocalAddr())
			defer end()
			reuser := parkedClient(t, s, addr)
			slot2, gen2, _ := echo.ParkedSlot(s, reuser.LocalAddr())
			if slot2 != slot || gen2 == gen {
				t.Fatalf("the new connection parked in slot %d generation %d, want slot %d with a new generation (not %d)", slot2, gen2, slot, gen)
			}

			wakes := echo.Wakes(s)
			// The old connection's registration fires, then the
			// witness's, which the poller takes after it.
			if _, err := old.Write([]byte("stale")); err != nil {
				t.Fatal(err)
			}
			if err := exchange(witness, framed, []byte("witness")); err != nil {
				t.Fatal(err)
			}
			if got := echo.Wakes(s) - wakes; got != 1 {
				t.Errorf("%d connections woken, want 1 (the witness)", got)
			}
			if !echo.Parked(s, reuser.LocalAddr()) {
				t.Error("the connection parked in the reused slot was woken")
			}
		})
	}
}

// TestParkedCountInMaxConns: parked connections take their places under
// MaxConns, and give them up when they end.
func TestParkedCountInMaxConns(t *testing.T) {
	t.Parallel()
	skipUnlessParking(t)
	s := &echo.Server{Transform: echo.Upper, ParkAfter: parkAfter, MaxConns: 2}
	addr := echotest.Start(t, s)
	first := parkedClient(t, s, addr)
	parkedClient(t, s, addr)
	over := dial(t, "tcp", addr)
	readEOF(t, over)
	if st := s.Stats(); st.RejectedConns != 1 || st.ParkedConns != 2 {
		t.Fatalf("Stats: %d rejected, %d parked; want 1 and 2", st.RejectedConns, st.ParkedConns)
	}
	first.Close()
	waitFor(t, "a place to free up", func() bool { return s.Stats().ActiveConns == 1 })
	if err := exchange(dial(t, "tcp", addr), false, []byte("in")); err != nil {
		t.Fatal(err)
	}
}

// TestNeverPark: a negative ParkAfter keeps every connection's goroutine.
func TestNeverPark(t *testing.T) {
	t.Parallel()
	s := &echo.Server{Transform: echo.Upper, ParkAfter: -1, IdleTimeout: testTimeout}
	addr := echotest.Start(t, s)
	c := dial(t, "tcp", addr)
	if err := exchange(c, false, []byte("stay")); err != nil {
		t.Fatal(err)
	}
	// Ten default ParkAfters, measured by a timer: a connection that
	// could park would have.
	<-time.After(10 * echo.DefaultParkAfter)
	if st := s.Stats(); st.Parks != 0 || st.ParkedConns != 0 {
		t.Errorf("Stats: %d parks, %d parked; want none", st.Parks, st.ParkedConns)
	}
	if err := exchange(c, false, []byte("still here")); err != nil {
		t.Fatal(err)
	}
}
