package program

import "net"

// IPv6Loopback reports whether [::1] can be listened on, and so dialed. A
// host can have IPv6 sockets and no usable IPv6 loopback (Linux with
// net.ipv6.conf.all.disable_ipv6=1), so the programs and tests that need
// ::1 ask this first and say why they skip it.
func IPv6Loopback() error {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return err
	}
	return ln.Close()
}
