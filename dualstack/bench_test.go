package dualstack_test

import (
	"context"
	"net"
	"testing"

	"github.com/framesock/framesock/dualstack"
)

// BenchmarkPacketConnEcho measures one 64-byte datagram echoed over IPv4
// loopback per iteration, through a plain *net.UDPConn (the baseline) and
// through a PacketConn in each mode, so the cost of the two-socket
// hand-off (a goroutine switch and a copy per datagram) reads as a ratio.
func BenchmarkPacketConnEcho(b *testing.B) {
	ctx := context.Background()
	conns := []struct {
		name   string
		listen func() (net.PacketConn, error)
	}{
		{"net.UDPConn", func() (net.PacketConn, error) { return net.ListenPacket("udp", ":0") }},
		{"SingleSocket", func() (net.PacketConn, error) { return dualstack.ListenPacket(ctx, "udp", ":0") }},
		{"SingleSocket/Unmap", func() (net.PacketConn, error) {
			return (&dualstack.ListenConfig{Unmap: true}).ListenPacket(ctx, "udp", ":0")
		}},
		{"TwoSockets", func() (net.PacketConn, error) {
			return (&dualstack.ListenConfig{Modes: dualstack.TwoSockets}).ListenPacket(ctx, "udp", ":0")
		}},
	}
	for _, bc := range conns {
		b.Run(bc.name, func(b *testing.B) {
			pc, err := bc.listen()
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 1500)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(buf[:n], from)
				}
			}()
			defer func() { pc.Close(); <-done }()
			_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
			c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", port))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg, buf := make([]byte, 64), make([]byte, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
