package echo

// IsReset reports whether err is that of a connection the peer reset
// (ECONNRESET, or WSAECONNRESET on Windows), as the server judges it.
var IsReset = isReset

// SegmentedReplies is how many of s's replies left inside segmented runs
// (UDP_SEGMENT), for the tests of package echo_test.
func SegmentedReplies(s *PacketServer) uint64 { return s.segmented.Load() }

// SegmentRefusals is how many segmented runs of s's the kernel refused.
func SegmentRefusals(s *PacketServer) uint64 { return s.segRefused.Load() }

// BatchReads is how many batched reads (recvmmsg) of s's returned
// datagrams; zero where s read them one at a time.
func BatchReads(s *PacketServer) uint64 { return s.batchReads.Load() }

// GROReads is how many messages s read held datagrams the kernel
// coalesced (UDP_GRO).
func GROReads(s *PacketServer) uint64 { return s.groReads.Load() }

// TrackedSockets is how many listeners s tracks: bound by Listen and not
// yet closed, or being served.
func TrackedSockets(s *Server) int { return s.trackedSockets() }

// TrackedPacketSockets is TrackedSockets for a PacketServer.
func TrackedPacketSockets(s *PacketServer) int { return s.trackedSockets() }

func (lc *lifecycle) trackedSockets() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return len(lc.sockets)
}
