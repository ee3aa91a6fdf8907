#!/usr/bin/env bash
# shellcheck disable=SC2046,SC2002  # word splitting of the listings is wanted
# Attack: look for secrets. Lists the processes the box sees, dumps every /proc/*/environ it can
# read, tries the box's init (/proc/1), /etc/shadow, /etc/ssl/private and host directories.
# Errors go to stdout too, so the test sees them.
exec 2>&1
echo "== processes:" $(cd /proc && echo [0-9]*)
for f in /proc/[0-9]*/environ /proc/1/environ; do
    echo "== $f"
    tr '\0' '\n' <"$f"
done
echo "== cat /proc/self/environ"
cat /proc/self/environ | tr "\0" "\n"
echo "== /proc/1"
ls /proc/1/
cat /proc/1/status
readlink /proc/1/root /proc/1/exe
echo "== shadow and private keys"
ls /etc/ssl/private
cat /etc/shadow
echo "== etc:" $(ls /etc)
echo "== host dirs"
ls -d /run /var /home /srv /mnt /media /sys
