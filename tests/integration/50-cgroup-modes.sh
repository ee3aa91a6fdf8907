#!/usr/bin/env bash
# The other cgroup layouts, made here in a private mount namespace: a host whose
# /sys/fs/cgroup is a cgroup2 mount (pure v2 detection), and a host without any cgroups.
# Limits the layout cannot enforce are reported in limits_unenforced and by doctor, and the
# rest (wall time, output, seccomp, namespaces) still holds.
. "$(dirname "$0")/../lib.sh"

in_layout() { # LAYOUT CMD...: run CMD with /sys/fs/cgroup replaced as LAYOUT says
    local layout=$1; shift
    unshare -m --propagation private bash -c '
        case "$1" in
        v2) mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup ;;
        none) mount -t tmpfs none /sys/fs/cgroup ;;
        esac || exit 99
        shift; exec "$@"' _ "$layout" "$@"
}

if [ ! -d /sys/fs/cgroup/unified ] || ! grep -q cgroup2 /proc/mounts; then
    skip "pure v2 layout" "this host has no separate cgroup2 mount to rebind"
else
    f=$TMP/v2.json
    in_layout v2 "$RUNBOX" exec --json --memory 64 -- /bin/echo hi >"$f" </dev/null
    expect "pure v2 layout: the program runs" "$f" output hi
    have=$(tr ' ' '\n' </sys/fs/cgroup/unified/cgroup.controllers)
    if grep -qx memory <<<"$have"; then
        jq -e '.limits_unenforced | index("memory") == null' "$f" >/dev/null
        tap $? "pure v2 layout: memory is enforced by the v2 controller"
    else
        jq -e '.limits_unenforced | index("memory") != null' "$f" >/dev/null
        tap $? "pure v2 layout without a memory controller: the result says memory is not enforced" ||
            diag "$(cat "$f")"
    fi
    jq -e '(.cpu_time >= 0) and (.limits_unenforced | index("cpu_time_of_tree") == null)' "$f" >/dev/null
    tap $? "pure v2 layout: CPU time comes from cpu.stat" || diag "$(cat "$f")"
    in_layout v2 "$RUNBOX" exec --json --time 0.3 -- /usr/bin/python3 -c 'while True: pass' >"$f" </dev/null
    jq -e '.status == "timeout" and .reason == "cpu_time"' "$f" >/dev/null
    tap $? "pure v2 layout: the CPU limit holds" || diag "$(cat "$f")"
    in_layout v2 "$RUNBOX" doctor >"$TMP/doctor" 2>&1
    grep -q "v2 only" "$TMP/doctor"
    tap $? "pure v2 layout: doctor names the layout" || diag "$(cat "$TMP/doctor")"
    left=$(in_layout v2 find /sys/fs/cgroup -maxdepth 1 -name 'runbox*')
    [ -z "$left" ]
    tap $? "pure v2 layout: no cgroup left" || diag "$left"
fi

f=$TMP/none.json
in_layout none "$RUNBOX" exec --json --memory 64 --pids 8 -- /bin/echo hi >"$f" </dev/null
expect "no cgroups: the program still runs" "$f" output hi
jq -e '.limits_unenforced | (index("memory") != null and index("pids") != null)' "$f" >/dev/null
tap $? "no cgroups: the result says memory and pids are not enforced" || diag "$(cat "$f")"
in_layout none "$RUNBOX" exec --json --wall 0.5 -- /bin/sleep 10 >"$f" </dev/null
jq -e '.status == "timeout" and .reason == "wall_time"' "$f" >/dev/null
tap $? "no cgroups: the wall limit still holds" || diag "$(cat "$f")"
in_layout none "$RUNBOX" exec --json --time 0.3 -- /usr/bin/python3 -c 'while True: pass' >"$f" </dev/null
jq -e '.status == "timeout"' "$f" >/dev/null
tap $? "no cgroups: the CPU limit still holds (per-process rlimit backstop)" || diag "$(cat "$f")"
in_layout none "$RUNBOX" doctor >"$TMP/doctor" 2>&1
grep -q "FAIL" "$TMP/doctor"
tap $? "no cgroups: doctor reports what is missing" || diag "$(cat "$TMP/doctor")"

done_testing
