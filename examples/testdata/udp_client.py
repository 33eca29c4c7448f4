# The chapter's "UDP Client", adapted only in host and port (taken from the
# command line instead of the chapter's 127.0.0.1:9001).
import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.sendto(b"Hello, UDP!", (HOST, PORT))
    data, addr = s.recvfrom(1024)
    print(f"Received from {addr}: {data.decode()}")
