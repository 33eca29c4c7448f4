package echo

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// zoneNames turns raw socket addresses into the [netip.AddrPort] values
// echo reports peers as, without allocating: IPv4-mapped addresses
// unmapped, and an IPv6 scope ID named as net names it (the interface's
// name, or its index in decimal). It caches those names, which come from a
// netlink query; a scope ID is the index of an interface the datagram
// arrived on, so the cache holds one name per interface at most.
type zoneNames map[uint32]string

// maxZoneNames bounds the cache for a host whose interfaces come and go:
// past it, the cache starts again.
const maxZoneNames = 64

// addrPort decodes sa, a sockaddr_in or sockaddr_in6 the kernel wrote.
func (z *zoneNames) addrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr).Unmap()
		if sa.Scope_id != 0 && a.Is6() {
			a = a.WithZone(z.name(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

func (z *zoneNames) name(id uint32) string {
	if name, ok := (*z)[id]; ok {
		return name
	}
	if *z == nil || len(*z) >= maxZoneNames {
		*z = make(zoneNames)
	}
	name := strconv.FormatUint(uint64(id), 10)
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		name = ifi.Name
	}
	(*z)[id] = name
	return name
}
