#!/usr/bin/env python3
"""Hostile clients against a runbox server on loopback, as a botnet would be: many source
addresses (127.0.x.y, each bound before connecting), each holding a few sockets.

  hostile-clients.py URL hold IDLE SLOW WS       hold IDLE idle sockets, SLOW slowloris
      sockets (a header byte a second) and WS idle WebSockets (?access_token= from $TOKEN),
      then time GET /healthz and one run while they are held; prints one JSON object.
  hostile-clients.py URL per-ip N                 N sockets from one address: how many the
      server keeps open after a second.
  hostile-clients.py URL idle-close SECONDS       one silent socket: seconds until it is closed
      (or null after SECONDS).
  hostile-clients.py URL ws-big MB                a WebSocket frame announcing MB megabytes:
      the close code the server answers with, and how long it took.
  hostile-clients.py URL drip head|body SECONDS   a request whose headers (or, after whole
      headers, whose body) come a byte a second, never idle long: seconds until the server
      closes it (or null after SECONDS).

Bounded: every loop has a deadline, and everything is closed at exit."""
import base64
import json
import os
import resource
import selectors
import socket
import sys
import time
import urllib.request

URL = sys.argv[1].rstrip("/")
HOST, PORT = URL.split("//")[1].split(":")
PORT = int(PORT)
TOKEN = os.environ.get("TOKEN", "")
SOCKS = []

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def source(i):
    """The i-th source address: 127.0.x.y, never 127.0.0.1 (the test's own)."""
    i += 256
    return "127.0.%d.%d" % (i // 250 % 250, i % 250 + 2)


def connect(src, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((HOST, PORT))
    SOCKS.append(s)
    return s


def open_many(n, per_addr, first, send=None):
    out = []
    for i in range(n):
        s = connect(source(first + i // per_addr))
        if send:
            s.sendall(send)
        out.append(s)
    return out


def ws_handshake(s):
    key = base64.b64encode(os.urandom(16)).decode()
    q = "?access_token=" + TOKEN if TOKEN else ""
    s.sendall(("GET /api/v1/code/interactive%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (q, HOST, PORT, key)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def timed_get(path, body=None):
    t = time.monotonic()
    req = urllib.request.Request(URL + path, data=body, method="POST" if body else "GET")
    req.add_header("Content-Type", "application/json")
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            code = r.status
    except Exception as e:  # noqa: BLE001 (reported, not raised)
        text, code = str(e), None
    return {"code": code, "seconds": round(time.monotonic() - t, 3), "body": text[:300]}


def hold(idle, slow, ws):
    res = {}
    t = time.monotonic()
    open_many(idle, 15, 0)
    slow_socks = open_many(slow, 10, 1000, b"GET /healthz HTTP/1.1\r\n")
    ws_status = {}
    for i in range(ws):
        s = connect(source(2000 + i // 10))
        st = ws_handshake(s)
        ws_status[st] = ws_status.get(st, 0) + 1
    res["opened_s"] = round(time.monotonic() - t, 2)
    res["ws_status"] = ws_status
    # The slowloris keep dripping while we measure.
    for s in slow_socks:
        try:
            s.send(b"X")
        except OSError:
            pass
    res["healthz"] = timed_get("/healthz")
    res["run"] = timed_get("/api/v1/code/execute",
                           json.dumps({"language": "python", "code": "print(6*7)"}).encode())
    for s in slow_socks:
        try:
            s.send(b"Y")
        except OSError:
            pass
    # How many of each are still open (the server closed none of them that early).
    sel = selectors.DefaultSelector()
    for s in SOCKS:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = sum(1 for k, _ in sel.select(timeout=0.2) if peek_closed(k.fileobj))
    res["closed_by_server"] = closed
    res["held"] = len(SOCKS)
    return res


def peek_closed(s):
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def per_ip(n):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect("127.0.9.9"))
        except OSError:
            pass
    time.sleep(1)
    alive = 0
    for s in socks:
        s.setblocking(False)
        alive += 0 if peek_closed(s) else 1
    return {"opened": len(socks), "kept": alive}


def idle_close(limit):
    s = connect("127.0.9.10", timeout=limit)
    t = time.monotonic()
    try:
        data = s.recv(1)
    except socket.timeout:
        return {"closed_after": None}
    except OSError:
        data = b""
    return {"closed_after": round(time.monotonic() - t, 2), "data": data.decode(errors="replace")}


def ws_big(mb):
    s = connect("127.0.9.11", timeout=10)
    status = ws_handshake(s)
    n = mb * 1024 * 1024
    # A masked text frame header announcing n bytes (64-bit length), then a little of it.
    header = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big") + b"\0\0\0\0"
    t = time.monotonic()
    s.sendall(header + b"a" * 65536)
    code = None
    buf = b""
    deadline = time.monotonic() + 10
    try:
        while code is None and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 2:  # whole frames from the server (never masked)
                n, off = buf[1] & 0x7F, 2
                if n == 126:
                    n, off = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    n, off = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) < off + n:
                    break
                if buf[0] & 0x0F == 8:
                    code = int.from_bytes(buf[off:off + 2], "big") if n >= 2 else 1005
                buf = buf[off + n:]
    except OSError:
        pass
    return {"handshake": status, "close_code": code, "seconds": round(time.monotonic() - t, 2)}


def drip(what, limit):
    s = connect("127.0.9.12", timeout=2)
    if what == "body":
        s.sendall(b"POST /api/v1/code/execute HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    else:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
    s.setblocking(False)
    t = time.monotonic()
    while time.monotonic() - t < limit:
        try:
            s.send(b"{" if what == "body" else b"X")
            if s.recv(1, socket.MSG_DONTWAIT) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        time.sleep(1)
    else:
        return {"closed_after": None}
    return {"closed_after": round(time.monotonic() - t, 1)}


def main():
    what = sys.argv[2]
    if what == "hold":
        out = hold(int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif what == "per-ip":
        out = per_ip(int(sys.argv[3]))
    elif what == "idle-close":
        out = idle_close(float(sys.argv[3]))
    elif what == "drip":
        out = drip(sys.argv[3], float(sys.argv[4]))
    elif what == "ws-big":
        out = ws_big(int(sys.argv[3]))
    else:
        raise SystemExit("unknown mode " + what)
    print(json.dumps(out))
    for s in SOCKS:
        s.close()


main()
