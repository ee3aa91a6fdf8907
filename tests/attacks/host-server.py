# Host side of the network attacks (runs on the host, not in the box): an HTTP server on a free
# port of 127.0.0.1 and a listener on the abstract unix socket "\0NAME" that says "hello".
# Writes the port to PORTFILE once both listen. Usage: host-server.py PORTFILE NAME
import http.server
import os
import socket
import sys
import threading

srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
uds = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
uds.bind("\0" + sys.argv[2])
uds.listen(4)


def serve_unix():
    while True:
        c, _ = uds.accept()
        c.sendall(b"hello")
        c.close()


threading.Thread(target=serve_unix, daemon=True).start()
with open(sys.argv[1] + ".new", "w") as f:
    f.write(str(srv.server_port))
os.rename(sys.argv[1] + ".new", sys.argv[1])
srv.serve_forever()
