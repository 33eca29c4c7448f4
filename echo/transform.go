package echo

import "encoding/binary"

// A Transform computes the reply to one unit of input: a chunk of a raw
// stream (as the kernel delivered it: chunk boundaries carry no meaning), a
// whole framed message, or a whole datagram.
//
// p is owned by the server and valid only during the call; the transform may
// rewrite it in place and return it (or a sub-slice), which costs no
// allocation, or return another slice, which the server writes before calling
// the transform again on the same connection. A nil return sends an empty
// reply. A Transform is called concurrently from many connections.
//
// For a [PacketServer], which reads and answers datagrams in batches, a
// returned slice must stay untouched until the batch is sent: return p,
// part of it, or fresh memory, not a buffer the transform reuses.
//
// On a raw stream a transform should be byte-wise (each output byte depends on
// one input byte, as [Upper]'s does), because the stream is cut into chunks
// wherever reads happen to end.
//
// A panic in a Transform closes the connection it ran for (for UDP: drops the
// datagram) and is logged with its stack; the server keeps serving.
type Transform func(p []byte) []byte

// Upper upper-cases the ASCII letters of p in place and returns p: the same
// bytes Python's bytes.upper() returns. Bytes outside 'a'..'z', UTF-8 included,
// are left alone, so the reply has the length of the request.
func Upper(p []byte) []byte {
	// Eight bytes at a time (SWAR). For each byte b, with h = b&0x7f:
	// h+0x1f sets bit 7 when h >= 'a', h+0x05 sets it when h > 'z'; no sum
	// carries into the next byte. Clearing bytes whose own bit 7 is set
	// (not ASCII) leaves bit 7 set exactly for 'a'..'z', and shifted to
	// bit 5 (0x20) it flips those letters to upper case. Random bytes
	// would make a per-byte branch mispredict one time in ten.
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		h := w &^ high
		lower := (h + (0x80-'a')*ones) &^ (h + (0x80-'z'-1)*ones) &^ w & high
		binary.LittleEndian.PutUint64(p[i:], w^lower>>2)
	}
	for ; i < len(p); i++ {
		// c-'a' wraps around for c < 'a', so one comparison covers the range.
		if c := p[i]; c-'a' < 26 {
			p[i] = c - ('a' - 'A')
		}
	}
	return p
}
