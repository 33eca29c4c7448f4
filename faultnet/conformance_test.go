package faultnet_test

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/framesock/framesock/faultnet"
)

// TestPipeConformance runs nettest.TestConn, the net.Conn conformance
// suite (deadlines, concurrent use, close semantics), on a Pipe without
// faults, and on Pipes whose faults change no byte and no deadline: the
// suite must not notice them.
func TestPipeConformance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []faultnet.Option
	}{
		{name: "plain"},
		{name: "small buffer", opts: []faultnet.Option{faultnet.Buffer(100)}},
		{name: "fragments and short reads", opts: []faultnet.Option{
			faultnet.Seed(7), faultnet.RandomFragments(300), faultnet.RandomReads(200),
		}},
		{name: "one byte reads", opts: []faultnet.Option{faultnet.MaxRead(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				c1, c2 = faultnet.Pipe(tt.opts...)
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}
