# Attack: reach a service on the host's 127.0.0.1:PORT. Prints "connected: <first line of the
# reply>" or "failed: ERRNAME (message)".
import errno
import socket
import sys

port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    reply = s.recv(200).split(b"\r\n")[0].decode("ascii", "replace")
    print("connected:", reply)
except OSError as e:
    name = errno.errorcode.get(e.errno, "timeout" if isinstance(e, TimeoutError) else "?")
    print(f"failed: {name} ({e})")
