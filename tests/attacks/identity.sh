#!/usr/bin/env bash
# Who the program is: ids and the privilege fields of /proc/self/status, one "key: value" a line.
echo "uid: $(id -u)"
echo "gid: $(id -g)"
echo "groups: $(id -G)"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status |
    tr -d '\t' | sed 's/:/: /'
echo "hostname: $(cat /proc/sys/kernel/hostname)"
