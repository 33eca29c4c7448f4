package frame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/framesock/framesock/frame"
)

// TestConnFrames: SendFrame and RecvFrame carry header fields over TCP;
// Send and SendBatch, which write none, refuse a layout that has some and
// leave the Conn usable; frames sent from many goroutines at once never
// interleave, each arriving with its own header.
func TestConnFrames(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	a := frame.NewConn(client, frame.WithLayout(pgTyped))
	b := frame.NewConn(server, frame.WithLayout(pgTyped))
	ctx := context.Background()

	if err := a.Send(ctx, []byte("x")); !errors.Is(err, frame.ErrLayoutMismatch) || !strings.Contains(err.Error(), "Conn.SendFrame") {
		t.Errorf("Send = %v, want ErrLayoutMismatch naming Conn.SendFrame", err)
	}
	if err := a.SendBatch(ctx, []byte("x")); !errors.Is(err, frame.ErrLayoutMismatch) {
		t.Errorf("SendBatch = %v, want ErrLayoutMismatch", err)
	}
	if err := a.SendFrame(ctx, []byte("QQ"), []byte("x")); !errors.Is(err, frame.ErrLayoutMismatch) {
		t.Errorf("SendFrame with 2 bytes of fields = %v, want ErrLayoutMismatch", err)
	}
	if err := a.SendFrame(ctx, []byte("Q"), []byte("select 1\x00")); err != nil {
		t.Fatal(err)
	}
	hdr, m, err := b.RecvFrame(ctx)
	if err != nil || string(hdr) != "Q\x00\x00\x00\x0d" || string(m) != "select 1\x00" {
		t.Fatalf("RecvFrame = % x, %q, %v; want the Query with its header", hdr, m, err)
	}

	// Each sender's frames carry its type byte in the header and in
	// the payload: a frame whose two differ was interleaved.
	const senders, each = 4, 50
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			typ := byte('a' + s)
			for i := range each {
				p := bytes.Repeat([]byte{typ}, 1+i*97%3000)
				if err := a.SendFrame(ctx, []byte{typ}, p); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	counts := map[byte]int{}
	for range senders * each {
		hdr, m, err := b.RecvFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 || bytes.Count(m, m[:1]) != len(m) || hdr[0] != m[0] {
			t.Fatalf("frame with header % x and payload %q...: interleaved", hdr, m[:min(len(m), 8)])
		}
		counts[hdr[0]]++
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "map[97:50 98:50 99:50 100:50]" {
		t.Errorf("frames per sender: %v, want 50 each", counts)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if hdr, m, err := b.RecvFrame(cctx); err != context.Canceled || hdr != nil || m != nil {
		t.Errorf("RecvFrame with a cancelled context = % x, %q, %v; want nil, nil, context.Canceled", hdr, m, err)
	}
}
