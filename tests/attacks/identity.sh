#!/usr/bin/env bash
# shellcheck disable=SC2046  # the mount list is one line on purpose
# Who the program is: ids and the privilege fields of /proc/self/status, one "key: value" a line.
echo "uid: $(id -u)"
echo "gid: $(id -g)"
echo "groups: $(id -G)"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status |
    tr -d '\t' | sed 's/:/: /'
echo "hostname: $(cat /proc/sys/kernel/hostname)"
# Mount points where a set-uid/file-capability binary would work (mountinfo field 6 lacks nosuid).
echo "suid mounts:" $(awk '$6 !~ /(^|,)nosuid(,|$)/ {print $5}' /proc/self/mountinfo)
