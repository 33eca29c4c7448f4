package echo

// SegmentedReplies is how many of s's replies left inside segmented runs
// (UDP_SEGMENT), for the tests of package echo_test.
func SegmentedReplies(s *PacketServer) uint64 { return s.segmented.Load() }

// SegmentRefusals is how many segmented runs of s's the kernel refused.
func SegmentRefusals(s *PacketServer) uint64 { return s.segRefused.Load() }
