#!/usr/bin/env bash
# The cgroup layouts: pure v2 (the host's own on a pure-v2 host such as Debian 12 or Ubuntu
# 24.04; elsewhere a hybrid host's cgroup2 mount bound over /sys/fs/cgroup in a private mount
# namespace), and a host without any cgroups (a tmpfs there). Limits the layout cannot enforce
# are reported in limits_unenforced and by doctor, and the rest (wall time, output, seccomp,
# namespaces) still holds.
. "$(dirname "$0")/../lib.sh"

# Which layout this host has: v2 (pure), hybrid, v1.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then HOST_LAYOUT=v2
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then HOST_LAYOUT=hybrid
else HOST_LAYOUT=v1; fi
diag "this host's cgroup layout: $HOST_LAYOUT"

in_layout() { # LAYOUT CMD...: run CMD with /sys/fs/cgroup as LAYOUT says
    local layout=$1; shift
    if [ "$layout" = v2 ] && [ "$HOST_LAYOUT" = v2 ]; then "$@"; return; fi
    unshare -m --propagation private bash -c '
        case "$1" in
        v2) mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup ;;
        none) mount -t tmpfs none /sys/fs/cgroup ;;
        esac || exit 99
        shift; exec "$@"' _ "$layout" "$@"
}

if [ "$HOST_LAYOUT" = v1 ]; then
    skip "pure v2 layout" "this host has no cgroup2 hierarchy"
else
    V2=/sys/fs/cgroup
    [ "$HOST_LAYOUT" = hybrid ] && V2=/sys/fs/cgroup/unified
    what="pure v2 layout ($([ "$HOST_LAYOUT" = v2 ] && echo "this host's" || echo "$V2 rebound"))"
    f=$TMP/v2.json
    in_layout v2 "$RUNBOX" exec --json --memory 64 -- /bin/echo hi >"$f" </dev/null
    expect "$what: the program runs" "$f" output hi
    have=$(tr ' ' '\n' <$V2/cgroup.controllers)
    if grep -qx memory <<<"$have"; then
        jq_is '.limits_unenforced | index("memory") == null' "$f"
        tap $? "$what: memory is enforced by the v2 controller" || diag "$(cat "$f")"
        in_layout v2 "$RUNBOX" exec --json --memory 64 -- /usr/bin/python3 -c 'x = bytearray(256 << 20); print(len(x))' >"$f" </dev/null
        jq_is '.status == "memory_limit"' "$f"
        tap $? "$what: the memory limit holds (256 MB asked, 64 MB given)" || diag "$(cat "$f")"
    else
        jq_is '.limits_unenforced | index("memory") != null' "$f"
        tap $? "$what without a memory controller: the result says memory is not enforced" ||
            diag "$(cat "$f")"
    fi
    if grep -qx pids <<<"$have"; then
        in_layout v2 "$RUNBOX" exec --json --pids 16 -- /bin/sh -c 'for i in $(seq 40); do sleep 2 & done; wait; echo done' >"$f" </dev/null
        jq_is '(.limits_unenforced | index("pids") == null) and ((.output + (.error // "")) | test("fork|Resource temporarily unavailable|retry"))' "$f"
        tap $? "$what: the pids limit holds (40 children asked, 16 pids given)" || diag "$(cat "$f")"
    fi
    if grep -qx cpu <<<"$have"; then
        in_layout v2 "$RUNBOX" exec --json --cpus 0.5 --wall 4 -- /bin/sh -c 'while :; do :; done' >"$f" </dev/null
        jq_is '(.limits_unenforced | index("cpus") == null) and .reason == "wall_time" and .cpu_time > 0.5 and .cpu_time < 2.6' "$f"
        tap $? "$what: --cpus 0.5 holds (CPU time $(jq -r .cpu_time "$f") s in 4 s)" || diag "$(cat "$f")"
    fi
    jq_is '(.cpu_time >= 0) and (.limits_unenforced | index("cpu_time_of_tree") == null)' "$f"
    tap $? "$what: CPU time comes from cpu.stat" || diag "$(cat "$f")"
    in_layout v2 "$RUNBOX" exec --json --time 0.3 -- /usr/bin/python3 -c 'while True: pass' >"$f" </dev/null
    jq_is '.status == "timeout" and .reason == "cpu_time"' "$f"
    tap $? "$what: the CPU limit holds" || diag "$(cat "$f")"
    in_layout v2 "$RUNBOX" doctor >"$TMP/doctor" 2>&1
    grep -q "v2 only" "$TMP/doctor"
    tap $? "$what: doctor names the layout" || diag "$(cat "$TMP/doctor")"
    grep -q '\[ ok \] trial run' "$TMP/doctor"
    tap $? "$what: doctor's trial run works" || diag "$(cat "$TMP/doctor")"
    left=$(in_layout v2 find /sys/fs/cgroup -maxdepth 1 -name 'runbox*')
    [ -z "$left" ]
    tap $? "$what: no cgroup left" || diag "$left"
fi

f=$TMP/none.json
in_layout none "$RUNBOX" exec --json --memory 64 --pids 8 -- /bin/echo hi >"$f" </dev/null
expect "no cgroups: the program still runs" "$f" output hi
jq_is '.limits_unenforced | (index("memory") != null and index("pids") != null)' "$f"
tap $? "no cgroups: the result says memory and pids are not enforced" || diag "$(cat "$f")"
in_layout none "$RUNBOX" exec --json --wall 0.5 -- /bin/sleep 10 >"$f" </dev/null
jq_is '.status == "timeout" and .reason == "wall_time"' "$f"
tap $? "no cgroups: the wall limit still holds" || diag "$(cat "$f")"
in_layout none "$RUNBOX" exec --json --time 0.3 -- /usr/bin/python3 -c 'while True: pass' >"$f" </dev/null
jq_is '.status == "timeout"' "$f"
tap $? "no cgroups: the CPU limit still holds (per-process rlimit backstop)" || diag "$(cat "$f")"
in_layout none "$RUNBOX" doctor >"$TMP/doctor" 2>&1
grep -q "FAIL" "$TMP/doctor"
tap $? "no cgroups: doctor reports what is missing" || diag "$(cat "$TMP/doctor")"

done_testing
