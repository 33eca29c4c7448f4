package dualstack

import (
	"context"
	"net"
	"syscall"
)

// Hooks replaces the kernel as one ListenConfig sees it. A nil field keeps
// the real behaviour. Hooks live on the ListenConfig, not in package
// variables, so that tests using them can run in parallel with the rest.
type Hooks struct {
	Listen       func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.Listener, error)
	ListenPacket func(ctx context.Context, lc *net.ListenConfig, network, address string) (net.PacketConn, error)
	ClearV6Only  func(network, address string, c syscall.RawConn) error
}

// SetHooks makes lc use h.
func SetHooks(lc *ListenConfig, h Hooks) {
	s := *realSys
	if h.Listen != nil {
		s.listen = h.Listen
	}
	if h.ListenPacket != nil {
		s.listenPacket = h.ListenPacket
	}
	if h.ClearV6Only != nil {
		s.clearV6Only = h.ClearV6Only
	}
	lc.sys = &s
}

// MaxPortAttempts is the bound on same-port retries in TwoSockets mode.
const MaxPortAttempts = maxPortAttempts

// CurrentHooks returns the hooks lc uses now, the real ones included, so a
// test can wrap them.
func CurrentHooks(lc *ListenConfig) Hooks {
	s := lc.sys
	if s == nil {
		s = realSys
	}
	return Hooks{Listen: s.listen, ListenPacket: s.listenPacket, ClearV6Only: s.clearV6Only}
}
