package dualstack_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/framesock/framesock/dualstack"
)

func TestAddrPort(t *testing.T) {
	t.Parallel()
	var nilTCP *net.TCPAddr
	tests := []struct {
		name   string
		addr   net.Addr
		want   netip.AddrPort
		wantOK bool
	}{
		{"mapped TCP", &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 80}, mustAddrPort("127.0.0.1:80"), true},
		{"16-byte IPv4 TCP", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, mustAddrPort("10.0.0.1:1"), true},
		{"4-byte IPv4 TCP", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1).To4(), Port: 1}, mustAddrPort("10.0.0.1:1"), true},
		{"IPv6 TCP", &net.TCPAddr{IP: net.IPv6loopback, Port: 443}, mustAddrPort("[::1]:443"), true},
		{"IPv6 zone", &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 53, Zone: "eth0"}, mustAddrPort("[fe80::1%eth0]:53"), true},
		{"mapped UDP", &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 9}, mustAddrPort("192.0.2.1:9"), true},
		{"other type", stringAddr("[::ffff:192.0.2.1]:7"), mustAddrPort("192.0.2.1:7"), true},
		{"unix", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, netip.AddrPort{}, false},
		{"nil", nil, netip.AddrPort{}, false},
		{"nil TCPAddr", nilTCP, netip.AddrPort{}, false},
		{"no IP", &net.TCPAddr{Port: 80}, netip.AddrPort{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := dualstack.AddrPort(tt.addr)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("AddrPort(%v) = %v, %t; want %v, %t", tt.addr, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

type stringAddr string

func (a stringAddr) Network() string { return "test" }

func (a stringAddr) String() string { return string(a) }
