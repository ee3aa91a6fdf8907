#!/usr/bin/env bash
# What /dev holds: the sorted names, on one line. Then try to make a device node.
# shellcheck disable=SC2046,SC2005,SC2012  # one line of names is the point
echo $(ls -A /dev | sort)
exec 2>&1
mknod /box/mem c 1 1 && echo "MKNOD WORKED"
ls /sys
