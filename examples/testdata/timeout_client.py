# The chapter's "Setting Timeouts", adapted only in host and port: the
# chapter's example.com:80 becomes the host and port given on the command
# line. Against a loopback server that never answers, recv raises
# socket.timeout after 5 seconds and the script prints the chapter's line.
import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.settimeout(5.0)  # 5-second timeout
    try:
        s.connect((HOST, PORT))
        s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        data = s.recv(4096)
    except socket.timeout:
        print("Connection timed out!")
