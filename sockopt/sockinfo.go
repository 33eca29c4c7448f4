package sockopt

import (
	"errors"
	"net"
	"syscall"
)

// sockInfo is what the platform code learns about a socket from the
// kernel before setting anything.
type sockInfo struct {
	family    int  // 4, 6, or 0 for a family without IP options
	stream    bool // SOCK_STREAM: TCP (or MPTCP, IPPROTO_MPTCP = 262)
	listening bool // SO_ACCEPTCONN, asked only when port is 0 (see set)
	port      int  // local port, 0 when unbound
}

func (si sockInfo) network() string {
	if si.family == 0 {
		return ""
	}
	var n string
	if si.stream {
		n = "tcp"
	} else {
		n = "udp"
	}
	if si.family == 4 {
		return n + "4"
	}
	return n + "6"
}

// knownInfo describes the sockets of net's own types without asking the
// kernel, which saves Apply two system calls per call on the hot path of
// Listener.Accept: a *net.TCPConn or *net.UDPConn is bound (net binds
// or connects it), a *net.TCPListener listens. The family is only used
// to tell IP sockets from others: V6Only, the one option that needs the
// real family, is before-bind and so refused on these sockets first.
func knownInfo(c syscall.Conn) *sockInfo {
	switch c := c.(type) {
	case *net.TCPConn:
		return &tcpConnInfo
	case *net.TCPListener:
		return &tcpListenerInfo
	case *net.UDPConn:
		return &udpConnInfo
	case *Listener:
		if sc, ok := c.Listener.(syscall.Conn); ok {
			return knownInfo(sc)
		}
	}
	return nil
}

// Read-only; set copies them.
var (
	tcpConnInfo     = sockInfo{family: 6, stream: true, port: 1}
	tcpListenerInfo = sockInfo{family: 6, stream: true, listening: true, port: 1}
	udpConnInfo     = sockInfo{family: 6, port: 1}
)

var errSkip = errors.New("skip")

// applicable decides whether o can be set on the socket described by si.
func applicable(o option, si sockInfo, strict bool) error {
	switch {
	case strict && o.phase() == BeforeBind && (si.listening || si.port != 0):
		// After bind(2), SO_REUSEADDR and SO_REUSEPORT are accepted by
		// Linux but change nothing, and IPV6_V6ONLY fails with EINVAL
		// (ipv6(7)); refuse all of them alike so no call silently does
		// nothing.
		return ErrTooLate
	case o.tcpOnly() && (!si.stream || si.family == 0), o.kind == kindV6Only && si.family != 6:
		if strict {
			return ErrNotApplicable
		}
		return errSkip
	}
	return nil
}
