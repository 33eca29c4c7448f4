package frame

import (
	"io"
	"net"
	"os"
)

// canSendDirect reports whether sendDirect can move bytes from src to
// dst without a copy through user space: (*net.TCPConn).ReadFrom does,
// given src inside an [io.LimitedReader], with sendfile(2) from a
// regular file and splice(2) from a TCP or Unix stream socket
// (net/sendfile_linux.go, net/splice_linux.go). From any other file, such
// as a pipe, it would fall back to a copy of its own.
func canSendDirect(dst io.Writer, src io.Reader) bool {
	if _, ok := dst.(*net.TCPConn); !ok {
		return false
	}
	if f, ok := src.(*os.File); ok {
		fi, err := f.Stat()
		return err == nil && fi.Mode().IsRegular()
	}
	return spliceSource(src)
}

// sendDirect moves n bytes from src to dst, for which canSendDirect
// holds. It returns fewer than n without an error if src ends first.
func sendDirect(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return dst.(*net.TCPConn).ReadFrom(&io.LimitedReader{R: src, N: n})
}

// receiveDirect moves n bytes from src to dst without copying them
// through user space, where Linux can: from a TCP or Unix stream socket
// into a regular file, which (*os.File).ReadFrom does with splice(2) when
// given the socket inside an [io.LimitedReader] (os/zero_copy_linux.go).
// The file must be regular so that the only side that can time out is
// the socket's, which splice(2) leaves untouched when it does: a pipe or
// socket as dst could fail after bytes left src, losing them. handled is
// false, with nothing done, for other pairs.
func receiveDirect(dst io.Writer, src io.Reader, n int64) (written int64, err error, handled bool) {
	f, ok := dst.(*os.File)
	if !ok || !spliceSource(src) {
		return 0, nil, false
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, nil, false
	}
	written, err = f.ReadFrom(&io.LimitedReader{R: src, N: n})
	return written, err, true
}

// spliceSource reports whether splice(2) may read src: the net package's
// stream sockets (net/splice_linux.go takes the same). For a socket that
// is not a stream, os falls back to a plain copy.
func spliceSource(src io.Reader) bool {
	switch src.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}
