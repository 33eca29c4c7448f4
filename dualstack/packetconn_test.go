package dualstack_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framesock/framesock/dualstack"
)

// TestListenPacketServesBothFamilies is TestListenServesBothFamilies for
// UDP: one PacketConn receives from both loopbacks and each reply leaves
// through the socket of its destination's family.
func TestListenPacketServesBothFamilies(t *testing.T) {
	runBothFamilyCases(t, func(t *testing.T, tc bothFamilyCase) {
		lc := tc.lc()
		pc := mustListenPacket(t, lc, "udp", ":0")
		p := checkSockets(t, tc, "udp", pc, pc.LocalAddr())
		from4 := packetRoundTrip(t, pc, loopback("127.0.0.1", p))
		packetRoundTrip(t, pc, loopback("::1", p))

		// ReadFrom hands out the mapped form exactly when net would
		// and Unmap is not set.
		raw := from4.(*net.UDPAddr).AddrPort().Addr()
		wantMapped := tc.wantMode == dualstack.SingleSocket && !lc.Unmap
		if raw.Is4In6() != wantMapped {
			t.Errorf("ReadFrom address %v mapped %t, want mapped %t", raw, raw.Is4In6(), wantMapped)
		}
	})
}

// TestPacketConnDeadlinesAndClose checks that Close unblocks ReadFrom, later calls
// fail with net.ErrClosed, and read deadlines wake a pending ReadFrom, in
// every mode.
func TestPacketConnDeadlinesAndClose(t *testing.T) {
	runBothFamilyCases(t, func(t *testing.T, tc bothFamilyCase) {
		pc := mustListenPacket(t, tc.lc(), "udp", ":0")
		buf := make([]byte, 64)

		// A deadline in the past fails at once with a timeout.
		pc.SetReadDeadline(time.Now().Add(-time.Second))
		_, _, err := pc.ReadFrom(buf)
		var ne net.Error
		if !errors.Is(err, errDeadline) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("ReadFrom past deadline = %v, want a timeout matching os.ErrDeadlineExceeded", err)
		}

		// Moving the deadline into the past wakes a pending ReadFrom.
		pc.SetReadDeadline(time.Now().Add(time.Hour))
		errc := goBlocked(t, "dualstack.(*PacketConn).ReadFrom", func() error {
			_, _, err := pc.ReadFrom(buf)
			return err
		})
		pc.SetReadDeadline(time.Now())
		select {
		case err := <-errc:
			if !errors.Is(err, errDeadline) {
				t.Errorf("pending ReadFrom after SetReadDeadline(now) = %v, want timeout", err)
			}
		case <-time.After(ioTimeout):
			t.Fatal("SetReadDeadline(now) did not wake ReadFrom")
		}

		// Clearing the deadline makes the socket usable again.
		pc.SetReadDeadline(time.Time{})
		p := portOf(t, pc.LocalAddr())
		packetRoundTrip(t, pc, loopback("127.0.0.1", p))

		// Close unblocks a pending ReadFrom.
		errc = goBlocked(t, "dualstack.(*PacketConn).ReadFrom", func() error {
			_, _, err := pc.ReadFrom(buf)
			return err
		})
		if err := pc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("pending ReadFrom after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(ioTimeout):
			t.Fatal("Close did not unblock ReadFrom")
		}
		if _, err := pc.WriteTo(buf, &net.UDPAddr{IP: net.IPv6loopback, Port: p}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteTo after Close = %v, want net.ErrClosed", err)
		}
		if err := pc.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close = %v, want net.ErrClosed", err)
		}
	})
}

// TestPacketConnTwoSockets covers what only the two-socket PacketConn
// does itself: truncating to the caller's buffer and refusing an address
// that is not UDP.
func TestPacketConnTwoSockets(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	pc, err := (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	defer pc.Close()
	p := portOf(t, pc.LocalAddr())
	cli, err := net.Dial("udp", loopback("::1", p))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 4)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "0123" {
		t.Errorf("ReadFrom into 4 bytes = %q, %v; want %q", buf[:n], err, "0123")
	}
	if _, err := pc.WriteTo([]byte("x"), &net.UnixAddr{Name: "/x", Net: "unix"}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("WriteTo(UnixAddr) = %v, want EINVAL", err)
	}
}

// TestPacketConnUDPConn checks that UDPConn gives the one socket of a
// single-socket PacketConn, whose reads report an IPv4 peer as the kernel
// does (mapped), and nothing in TwoSockets mode.
func TestPacketConnUDPConn(t *testing.T) {
	requireBothStacks(t)
	t.Parallel()
	pc, err := (&dualstack.ListenConfig{Modes: dualstack.SingleSocket, Unmap: true}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	defer pc.Close()
	uc := pc.UDPConn()
	if uc == nil {
		t.Fatal("UDPConn() = nil in SingleSocket mode")
	}
	if diff := cmp.Diff(addrStrings(pc.Addrs()), []string{uc.LocalAddr().String()}); diff != "" {
		t.Errorf("UDPConn's address is not the PacketConn's (-want +got):\n%s", diff)
	}
	cli, err := net.Dial("udp", loopback("127.0.0.1", portOf(t, pc.LocalAddr())))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	uc.SetReadDeadline(time.Now().Add(ioTimeout))
	_, from, err := uc.ReadFromUDPAddrPort(make([]byte, 8))
	if err != nil {
		t.Fatalf("ReadFromUDPAddrPort: %v", err)
	}
	if !from.Addr().Is4In6() || from.Addr().Unmap() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("peer read from the raw socket = %v, want ::ffff:127.0.0.1", from)
	}

	two, err := (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).ListenPacket(context.Background(), "udp", ":0")
	if err != nil {
		t.Fatalf("ListenPacket TwoSockets: %v", err)
	}
	defer two.Close()
	if got := two.UDPConn(); got != nil {
		t.Errorf("UDPConn() in TwoSockets mode = %v, want nil", got.LocalAddr())
	}
}
