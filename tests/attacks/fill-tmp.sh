#!/usr/bin/env bash
# Attack: dd zeros into /tmp, 32 MB per file (a single file is capped by RLIMIT_FSIZE), until dd
# fails, then print dd's complaint. Stops after 64 files (2 GiB) in any case. Usage: TAG
i=0
while [ $i -lt 64 ]; do
    if ! err=$(dd if=/dev/zero of="/tmp/$1-$i" bs=1M count=32 2>&1); then
        echo "dd failed at file $i: $err"
        exit 0
    fi
    i=$((i + 1))
done
echo "dd never failed"
