# The chapter's "TCP Client", adapted only in host and port: it connects to
# the host and port given on the command line (the chapter's example.com:80
# becomes a loopback tcp-server) and sends the same request bytes.
import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])

# Create a TCP socket
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    response = s.recv(4096)
    print(response.decode())
