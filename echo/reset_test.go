package echo_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/framesock/framesock/echo"
	"github.com/framesock/framesock/faultnet"
)

// TestResetMidMessage: a connection reset in the middle of a message
// ends that connection alone. faultnet resets every connection the
// server accepts once it has read resetAt bytes of it, which the
// victim's 200-byte message crosses: the server's read fails with
// ECONNRESET, which it logs as the end of a connection (at Debug, not as
// an error), and the victim's side receives an RST. A client connected
// before, which sends less, and one connected after are served on.
func TestResetMidMessage(t *testing.T) {
	t.Parallel()
	const resetAt = 100
	for _, framed := range []bool{false, true} {
		t.Run(fmt.Sprintf("framed=%v", framed), func(t *testing.T) {
			t.Parallel()
			rec := new(recorder)
			s := &echo.Server{Framed: framed, Transform: echo.Upper, Logger: slog.New(rec)}
			addr := serveFaulty(t, s, faultnet.Inbound(faultnet.ResetAfter(resetAt)))

			before := dial(t, "tcp", addr)
			if err := exchange(before, framed, []byte("before")); err != nil {
				t.Fatal(err)
			}
			victim := dial(t, "tcp", addr)
			msg := pattern[:2*resetAt]
			if framed {
				msg = binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
				msg = append(msg, pattern[:2*resetAt]...)
			}
			if _, err := victim.Write(msg); err != nil {
				t.Fatal(err)
			}
			// A raw server may echo what it read before the reset,
			// unless the RST overtakes it; nothing more.
			n, err := io.Copy(io.Discard, victim)
			if !isReset(err) || n > resetAt || framed && n != 0 {
				t.Errorf("victim read %d bytes, then %v; want at most %d (none framed), then a reset", n, err, resetAt)
			}
			waitFor(t, "the victim's connection to end", func() bool { return s.Stats().ActiveConns == 1 })
			// A framed server meets the reset reading the message, and
			// logs it (before the connection leaves ActiveConns). A raw
			// one first echoes what it read, and its write meets the
			// socket faultnet closed with the RST: it ends quietly.
			if errs := rec.attrs("connection ended", "err"); framed && (len(errs) != 1 || !isReset(errs[0].(error))) {
				t.Errorf("logged the end of connections with %v, want one reset", errs)
			}
			for _, level := range []slog.Level{slog.LevelWarn, slog.LevelError} {
				if msgs := rec.messages(level); len(msgs) != 0 {
					t.Errorf("logged at %v: %q", level, msgs)
				}
			}

			if err := exchange(before, framed, []byte("after")); err != nil {
				t.Errorf("the client connected before: %v", err)
			}
			if err := exchange(dial(t, "tcp", addr), framed, []byte("new")); err != nil {
				t.Errorf("a client connected after: %v", err)
			}
			if st := s.Stats(); st.TotalConns != 3 || st.Panics != 0 {
				t.Errorf("Stats: %d connections served, %d panics; want 3 and 0", st.TotalConns, st.Panics)
			}
		})
	}
}
