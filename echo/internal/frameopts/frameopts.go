// Package frameopts is how an echo.Server makes the options of its
// frame.Reader and frame.Writer out of its FrameOptions and
// MaxMessageSize, and checks them: one rule for package echo, which
// serves with them, and package echotest, which refuses a server that
// would refuse them before it starts it.
package frameopts

import (
	"errors"
	"fmt"

	"github.com/framesock/framesock/frame"
)

// Of returns the options of a framed server's frame.Reader and
// frame.Writer: opts (Server.FrameOptions), then maxSize
// (Server.MaxMessageSize) if set, which so overrides a WithMaxSize among
// them.
func Of(opts []frame.Option, maxSize int) []frame.Option {
	if maxSize != 0 {
		opts = append(opts[:len(opts):len(opts)], frame.WithMaxSize(maxSize))
	}
	return opts
}

// Check returns, for a server with Framed set, the error that every
// frame.Reader made with Of(opts, maxSize) would return (a Layout that
// cannot be right, a negative size, an Adjust above the maximum), so that
// the server reports it before serving rather than every connection
// failing with it. It matches [frame.ErrInvalidOption].
func Check(framed bool, opts []frame.Option, maxSize int) error {
	if !framed {
		return nil
	}
	// A Reader with no source fails its first read with the error of an
	// invalid option if there is one, and with frame.ErrNoStream if not.
	_, err := frame.NewReader(nil, Of(opts, maxSize)...).ReadMessage()
	if errors.Is(err, frame.ErrInvalidOption) {
		return fmt.Errorf("echo: Server.FrameOptions and MaxMessageSize: %w", err)
	}
	return nil
}
