package dualstack_test

import (
	"testing"

	"github.com/framesock/framesock/dualstack"
)

func TestModeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode dualstack.Mode
		want string
	}{
		{"single socket", dualstack.SingleSocket, "SingleSocket"},
		{"two sockets", dualstack.TwoSockets, "TwoSockets"},
		{"IPv4 only", dualstack.IPv4Only, "IPv4Only"},
		{"IPv6 only", dualstack.IPv6Only, "IPv6Only"},
		{"both families", dualstack.BothFamilies, "SingleSocket|TwoSockets"},
		{"zero", 0, "Mode(0)"},
		{"no mode", 1 << 7, "Mode(128)"},
		{"a mode and no mode", dualstack.SingleSocket | 1<<6, "Mode(65)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.mode.String(); got != tt.want {
				t.Errorf("Mode(%d).String() = %q, want %q", uint8(tt.mode), got, tt.want)
			}
		})
	}
}
