package dualstack

import (
	"context"
	"net"
	"net/netip"
	"strconv"
)

// target is the network and address of one Listen call.
type target struct {
	network, address string // as given
	host             string
	ip               netip.Addr // the host, if it is an IP address
	port             int
	// addr is the address as a *net.TCPAddr or *net.UDPAddr, for errors;
	// for a host name, what net resolved it to, once it has.
	addr net.Addr
}

// parseTarget checks the network and splits the address as net does for a
// listen: "" means any host and port 0, and the port may be a service
// name.
func parseTarget(ctx context.Context, proto, network, address string) (target, error) {
	switch network {
	case proto, proto + "4", proto + "6":
	default:
		return target{}, net.UnknownNetworkError(network)
	}
	t := target{network: network, address: address}
	if address != "" {
		host, service, err := net.SplitHostPort(address)
		if err != nil {
			return target{}, err
		}
		if t.port, err = net.DefaultResolver.LookupPort(ctx, proto, service); err != nil {
			return target{}, err
		}
		t.host = host
	}
	var ip net.IP
	if t.host != "" {
		// netip, unlike net.ParseIP, keeps a zone.
		var err error
		if t.ip, err = netip.ParseAddr(t.host); err != nil {
			return t, nil // a host name, for net to resolve
		}
		ip = t.ip.AsSlice()
	}
	if proto == "udp" {
		t.addr = &net.UDPAddr{IP: ip, Port: t.port, Zone: t.ip.Zone()}
	} else {
		t.addr = &net.TCPAddr{IP: ip, Port: t.port, Zone: t.ip.Zone()}
	}
	return t, nil
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
