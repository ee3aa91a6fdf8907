# Attack: reach services of the host. Usage: net-connect.py PORT [ABSTRACT_NAME]
# Connects to the host's 127.0.0.1:PORT (an HTTP server) and, if given, to the abstract unix
# socket "\0ABSTRACT_NAME" (abstract sockets belong to the network namespace, like the
# loopback). Prints "tcp connected: <first line of the reply>" or "tcp failed: ERRNAME (...)",
# and the same with "unix" for the abstract socket.
import errno
import socket
import sys


def fail(kind, e):
    name = errno.errorcode.get(e.errno, "timeout" if isinstance(e, TimeoutError) else "?")
    print(f"{kind} failed: {name} ({e})", flush=True)


try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    print("tcp connected:", s.recv(200).split(b"\r\n")[0].decode("ascii", "replace"), flush=True)
except OSError as e:
    fail("tcp", e)

if len(sys.argv) > 2:
    try:
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.settimeout(2)
        u.connect("\0" + sys.argv[2])
        print("unix connected:", u.recv(200).decode("ascii", "replace"), flush=True)
    except OSError as e:
        fail("unix", e)
