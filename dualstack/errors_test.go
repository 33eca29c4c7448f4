package dualstack_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/framesock/framesock/dualstack"
	"github.com/framesock/framesock/sockopt"
)

// TestListenErrors checks the errors of Listen and ListenPacket that do
// not depend on the kernel.
func TestListenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		network, address string
		modes            dualstack.Mode
		opts             []sockopt.Option
		wantIs           error
		wantText         string
	}{
		{name: "unknown network", network: "unix", address: "/tmp/x", wantText: "unknown network unix"},
		{name: "other protocol", network: "udp", address: ":0", wantText: "unknown network udp"},
		{name: "no port", network: "tcp", address: "127.0.0.1", wantText: "missing port"},
		{name: "bad port", network: "tcp", address: ":65536", wantText: "invalid port"},
		{name: "V6Only option", network: "tcp", address: ":0", opts: []sockopt.Option{sockopt.V6Only(true)}, wantIs: dualstack.ErrV6Only},
		{name: "V6Only(false) option", network: "tcp6", address: ":0", opts: []sockopt.Option{sockopt.ReusePort(true), sockopt.V6Only(false)}, wantIs: dualstack.ErrV6Only},
		{name: "out of range option", network: "tcp", address: ":0", opts: []sockopt.Option{sockopt.ReadBuffer(-1)}, wantIs: sockopt.ErrRange},
		{name: "invalid modes", network: "tcp", address: ":0", modes: 1 << 6, wantText: "invalid ListenConfig.Modes"},
		{name: "tcp4 not allowed", network: "tcp4", address: ":0", modes: dualstack.BothFamilies, wantIs: dualstack.ErrMode},
		{name: "IPv6 host not allowed", network: "tcp", address: "[::1]:0", modes: dualstack.IPv4Only, wantIs: dualstack.ErrMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lc := dualstack.ListenConfig{Modes: tt.modes}
			l, err := lc.Listen(context.Background(), tt.network, tt.address, tt.opts...)
			if err == nil {
				l.Close()
				t.Fatalf("Listen(%q, %q) succeeded, want an error", tt.network, tt.address)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Listen error %q does not match %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Listen error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}
