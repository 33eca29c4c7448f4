//go:build !linux

package echo_test

import "net"

// segmentWrites reports that UDP segmentation offload is not available:
// only Linux has UDP_SEGMENT.
func segmentWrites(*net.UDPConn, int) bool { return false }
