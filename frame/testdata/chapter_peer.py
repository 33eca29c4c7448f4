#!/usr/bin/env python3
"""A peer built from the chapter's framing functions, copied verbatim.

Usage: python3 chapter_peer.py PORT
Connects to 127.0.0.1:PORT, echoes every message it receives, and when the
other side shuts down its write half, sends b"done N" (N = messages echoed)
and closes. The Go test interop_test.go drives it.
"""
import socket
import struct
import sys


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Receive exactly n bytes from a socket."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("Connection closed")
        data += chunk
    return data


def send_message(sock, msg: bytes) -> None:
    """Send a length-prefixed message."""
    length = struct.pack("!I", len(msg))
    sock.sendall(length + msg)


def recv_message(sock) -> bytes:
    """Receive a length-prefixed message."""
    raw_len = recv_exactly(sock, 4)
    msg_len = struct.unpack("!I", raw_len)[0]
    return recv_exactly(sock, msg_len)


def main() -> None:
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    count = 0
    while True:
        try:
            msg = recv_message(sock)
        except ConnectionError:
            break
        send_message(sock, msg)
        count += 1
    send_message(sock, b"done %d" % count)
    sock.close()


if __name__ == "__main__":
    main()
