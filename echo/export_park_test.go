package echo

import "net"

// ParkSupported reports whether connections park on this platform.
const ParkSupported = parkSupported

// ParkedSlot returns the poller slot and its generation that hold s's
// connection from the client at remote, if it is parked.
func ParkedSlot(s *Server, remote net.Addr) (slot int32, gen uint32, ok bool) {
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p == nil {
		return 0, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.tab.n {
		if sl := p.tab.at(i); sl.c != nil && sl.c.nc.RemoteAddr().String() == remote.String() {
			return i, sl.gen, true
		}
	}
	return 0, 0, false
}

// Parked reports whether s's connection from the client at remote is
// parked.
func Parked(s *Server, remote net.Addr) bool {
	_, _, ok := ParkedSlot(s, remote)
	return ok
}

// Wakes is how many connections s's poller has woken for input.
func Wakes(s *Server) uint64 {
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wakes
}

// Unpark takes s's parked connection from the client at remote out of
// the poller as the poller takes one that IdleTimeout cuts, and leaves it
// as that one is until the goroutine that ends it runs: open, with its
// registration armed. It returns the function that ends it.
func Unpark(s *Server, remote net.Addr) (end func()) {
	i, _, ok := ParkedSlot(s, remote)
	if !ok {
		return nil
	}
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	p.mu.Lock()
	c := p.tab.take(i)
	p.mu.Unlock()
	return c.expire
}
