package echo_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"unsafe"

	"github.com/framesock/framesock/echo"
	"golang.org/x/sys/unix"
)

// TestPeerDecode: the batched loop turns the socket addresses recvmmsg
// writes into the netip.AddrPort values echo reports peers as (IPv4-mapped
// addresses unmapped, scope IDs named as net names them), and allocates
// nothing doing it once a zone's name is known. Not parallel:
// AllocsPerRun counts the whole process's allocations.
func TestPeerDecode(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("skipping, no lo interface: %v", err)
	}
	const noSuchInterface = 1<<31 - 1
	in4 := func(a [4]byte, port uint16) *unix.RawSockaddrInet6 {
		var sa unix.RawSockaddrInet6
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		sa4.Family, sa4.Addr = unix.AF_INET, a
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], port)
		return &sa
	}
	in6 := func(a string, port uint16, scope uint32) *unix.RawSockaddrInet6 {
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.MustParseAddr(a).As16(), Scope_id: scope}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		return &sa
	}
	tests := []struct {
		name string
		sa   *unix.RawSockaddrInet6
		want netip.AddrPort
	}{
		{name: "IPv4", sa: in4([4]byte{192, 0, 2, 1}, 9000), want: netip.MustParseAddrPort("192.0.2.1:9000")},
		{name: "IPv6", sa: in6("2001:db8::1", 443, 0), want: netip.MustParseAddrPort("[2001:db8::1]:443")},
		{name: "IPv4-mapped", sa: in6("::ffff:127.0.0.1", 65535, 0), want: netip.MustParseAddrPort("127.0.0.1:65535")},
		{name: "link-local on lo", sa: in6("fe80::1", 1, uint32(lo.Index)),
			want: netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone(lo.Name), 1)},
		{name: "scope of no interface", sa: in6("fe80::2", 2, noSuchInterface),
			want: netip.AddrPortFrom(netip.MustParseAddr("fe80::2").WithZone(strconv.Itoa(noSuchInterface)), 2)},
		{name: "unknown family", sa: &unix.RawSockaddrInet6{Family: unix.AF_UNIX}, want: netip.AddrPort{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d echo.PeerDecoder
			if got := d.Decode(tt.sa); got != tt.want {
				t.Errorf("decoded %v, want %v", got, tt.want)
			}
			if allocs := testing.AllocsPerRun(100, func() { d.Decode(tt.sa) }); allocs != 0 {
				t.Errorf("%v allocations per decode, want 0", allocs)
			}
		})
	}
}
