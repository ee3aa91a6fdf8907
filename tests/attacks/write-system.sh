#!/usr/bin/env bash
# Attack: write into the read-only system directories. Usage: TAG. Errors go to stdout.
exec 2>&1
for f in "/usr/$1" "/usr/bin/$1" "/etc/$1" "/$1" "/lib/$1" "/proc/$1" "/dev/$1"; do
    echo "x" >"$f" && echo "WROTE $f"
done
mkdir "/usr/$1.d" && echo "WROTE /usr/$1.d"
echo "hacker::0:0::/:/bin/sh" >>/etc/passwd && echo "WROTE /etc/passwd"
rm -f /usr/bin/env && echo "REMOVED /usr/bin/env"
echo "done"
