import sys

with open("/dev/stdin", "rb") as f:
    sys.stdout.buffer.write(f.read())
