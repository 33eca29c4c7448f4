//go:build !linux

package frame

import (
	"errors"
	"io"
)

// receiveDirect moves bytes between descriptors without a copy through
// user space only on Linux; elsewhere the body copies them through the
// Reader's buffer.
func receiveDirect(io.Writer, io.Reader, int64) (int64, error, bool) { return 0, nil, false }

// canSendDirect is false: elsewhere a Writer copies a streamed payload
// through a pooled buffer.
func canSendDirect(io.Writer, io.Reader) bool { return false }

// sendDirect is not reached where canSendDirect is false.
func sendDirect(io.Writer, io.Reader, int64) (int64, error) { return 0, errors.ErrUnsupported }
