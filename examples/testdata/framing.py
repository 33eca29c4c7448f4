# The chapter's "Handling Partial Data": recv_exactly, send_message and
# recv_message exactly as printed, driven by a few lines that connect to the
# host and port given on the command line (a loopback framed-server), send
# three messages (one empty, one far larger than a socket buffer) and print
# what comes back, one line each.
import socket
import struct
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])


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


with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    msgs = [b"hello, framing", b"", b"x" * 1_000_000]
    for m in msgs:
        send_message(s, m)
    for m in msgs:
        reply = recv_message(s)
        print(len(reply), reply[:20].decode())
