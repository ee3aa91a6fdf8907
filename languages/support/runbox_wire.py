"""runbox judge mode's values and lines (docs/judge.md), shared by both boxes' Python sides.

encode() turns plain data into JSON-ready values with the tags JSON lacks ($tuple, $set, $bytes,
$float, $map); anything else goes to the caller's @other (a reference, or a refusal). decode()
undoes it, handing tagged objects it does not know ($ref, $exc) to the caller's @tagged.
Lines are read from and written to raw fds, at most 16 MiB each.
"""

import base64
import math
import os

LINE_MAX = 16 << 20


def encode(v, other, depth=0):
    if depth > 500:
        raise ValueError("a value nested more than 500 deep")
    t = type(v)
    if v is None or t in (bool, str, int):
        return v
    if t is float:
        if math.isnan(v):
            return {"$float": "nan"}
        if math.isinf(v):
            return {"$float": "inf" if v > 0 else "-inf"}
        return v
    d = depth + 1
    if t is list:
        return [encode(x, other, d) for x in v]
    if t is tuple:
        return {"$tuple": [encode(x, other, d) for x in v]}
    if t in (set, frozenset):
        return {"$set": [encode(x, other, d) for x in v]}
    if t in (bytes, bytearray):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if t is dict:
        if all(type(k) is str for k in v):
            return {k: encode(x, other, d) for k, x in v.items()}
        return {"$map": [[encode(k, other, d), encode(x, other, d)] for k, x in v.items()]}
    return other(v, d)


def decode(v, tagged):
    if isinstance(v, list):
        return [decode(x, tagged) for x in v]
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if k == "$tuple":
                return tuple(decode(y, tagged) for y in x)
            if k == "$set":
                return {decode(y, tagged) for y in x}
            if k == "$bytes":
                return base64.b64decode(x)
            if k == "$float":
                return float(x)
            if k == "$map":
                return {decode(a, tagged): decode(b, tagged) for a, b in x}
            if k.startswith("$"):
                return tagged(k, x)
        return {k: decode(x, tagged) for k, x in v.items()}
    return v


def write_line(fd, line):
    data = (line + "\n").encode("utf-8", "surrogatepass")
    while data:
        n = os.write(fd, data)
        data = data[n:]


class LineReader:
    """Lines from @fd; None at its end or past LINE_MAX."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()

    def read(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > LINE_MAX:
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk
