package dualstack_test

import (
	"testing"

	"github.com/framesock/framesock/dualstack"
)

func TestModeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode dualstack.Mode
		want string
	}{
		{dualstack.SingleSocket, "SingleSocket"},
		{dualstack.TwoSockets, "TwoSockets"},
		{dualstack.IPv4Only, "IPv4Only"},
		{dualstack.IPv6Only, "IPv6Only"},
		{dualstack.BothFamilies, "SingleSocket|TwoSockets"},
		{0, "Mode(0)"},
		{1 << 7, "Mode(128)"},
	}
	for _, tt := range tests {
		if got := tt.mode.String(); got != tt.want {
			t.Errorf("Mode(%d).String() = %q, want %q", uint8(tt.mode), got, tt.want)
		}
	}
}
