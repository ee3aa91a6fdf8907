# Attack: fill writable directories until the kernel says no. Usage: fill-tmp.py TAG DIR...
# Writes files TAG-0, TAG-1, ... of 16 MB each (RLIMIT_FSIZE caps a single file) and prints one
# line per directory: "DIR: ENOSPC (No space left on device) after N MB", or "DIR: no error
# after N MB" at the cap of 1 GiB per directory (so that a sandbox without size limits cannot
# eat the host disk). The files are left in place: the test looks for them on the host.
import errno
import os
import sys

tag = sys.argv[1]
chunk = b"\0" * (1 << 20)
for d in sys.argv[2:]:
    written = 0
    outcome = "no error"
    n = 0
    try:
        while written < (1 << 30):
            path = os.path.join(d, f"{tag}-{n}")
            n += 1
            with open(path, "wb", buffering=0) as f:
                for _ in range(16):
                    written += f.write(chunk)
    except OSError as e:
        outcome = errno.errorcode.get(e.errno, str(e.errno)) + " (" + e.strerror + ")"
    print(f"{d}: {outcome} after {written >> 20} MB", flush=True)
