# Not an attack: a TCP server and client, both inside the box, on 127.0.0.1. Prints the reply.
import socket
import threading

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]


def serve():
    conn, _ = srv.accept()
    with conn:
        conn.sendall(b"pong:" + conn.recv(100))


t = threading.Thread(target=serve)
t.start()
with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
    c.sendall(b"ping")
    c.shutdown(socket.SHUT_WR)
    print(c.recv(100).decode())
t.join()
