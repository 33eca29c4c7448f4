package program

import "flag"

// Client is the command line every client example shares: -addr, the
// server to talk to.
type Client struct {
	// The flag set holds -addr; a program adds its own flags to it
	// before calling Parse.
	*flag.FlagSet
	// Addr is -addr: the server's host:port.
	Addr string
}

// NewClient returns the command line of the named client example, whose
// -addr defaults to addr, the chapter's port 9000 on this host. Like
// NewServer's, its flag set returns errors instead of exiting.
func NewClient(name, addr string) *Client {
	c := &Client{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.StringVar(&c.Addr, "addr", addr, "server `host:port`")
	return c
}
