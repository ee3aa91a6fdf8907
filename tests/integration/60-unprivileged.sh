#!/usr/bin/env bash
# runbox started by an ordinary user: it makes a user namespace of its own, the sandbox holds
# (namespaces, no capabilities, seccomp, read-only system, wall/CPU/output limits), limits it
# cannot enforce without cgroups are reported, and a cgroup delegated to the user is used.
. "$(dirname "$0")/../lib.sh"

user=rbtest$$
if ! useradd -M -s /bin/sh "$user" 2>/dev/null; then
    skip "unprivileged mode" "cannot create a test user"
    done_testing
    exit
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
# A copy the user can read: the checkout may sit under a directory it cannot enter.
dir=$(mktemp -d /tmp/runbox-unpriv.XXXXXX)
deleg=""
cleanup() {
    [ -n "$deleg" ] && find "$deleg" -depth -type d -exec rmdir {} + 2>/dev/null
    pkill -KILL -u "$user" 2>/dev/null
    for _ in $(seq 100); do pgrep -u "$user" >/dev/null || break; sleep 0.05; done
    userdel "$user" 2>/dev/null
    rm -rf "$dir" "$TMP"
}
trap cleanup EXIT
mkdir -p "$dir/build"
cp "$RUNBOX" "$dir/build/runbox"
# `runbox serve` is runbox-service's, found beside runbox.
[ -x "$(dirname "$RUNBOX")/runbox-service" ] && cp "$(dirname "$RUNBOX")/runbox-service" "$dir/build/"
cp -r "$ROOT/languages" "$dir/languages"
cp "$PROGS/c/hello.c" "$PROGS/python/echo.py" "$dir/"
chmod -R a+rX "$dir"
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env "$@" </dev/null; }
rb="$dir/build/runbox"
f=$TMP/u.json

as_user "$rb" exec --json -- /bin/sh -c 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status' >"$f"
expect "as a user: the box runs" "$f" status success
[ "$(jq -r .output "$f")" = "$(printf '60000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2')" ]
tap $? "as a user: box uid, no capabilities, no_new_privs, seccomp" || diag "$(cat "$f")"
jq -e '.limits_unenforced | index("memory") != null' "$f" >/dev/null
tap $? "as a user without delegated cgroups: the result says memory is not enforced"

as_user "$rb" run --json "$dir/hello.c" >"$f"
expect "as a user: C compiles and runs" "$f" output "Hello, World!"
printf 'abc\n' >"$dir/in"; chmod a+r "$dir/in"
as_user "$rb" run --json --stdin "$dir/in" "$dir/echo.py" >"$f"
expect "as a user: stdin reaches the program" "$f" output abc

as_user "$rb" exec --json -- /bin/sh -c 'touch /usr/x 2>&1; touch /etc/x 2>&1; cat /etc/shadow 2>&1; unshare -U true 2>&1; echo' >"$f"
jq -e '.output | test("Read-only file system") and test("No such file") and test("Operation not permitted")' "$f" >/dev/null
tap $? "as a user: system read-only, shadow invisible, no nested namespaces" || diag "$(cat "$f")"
as_user "$rb" exec --json --wall 0.5 -- /bin/sleep 10 >"$f"
jq -e '.status == "timeout" and .reason == "wall_time"' "$f" >/dev/null
tap $? "as a user: the wall limit holds"
as_user "$rb" exec --json --time 0.3 -- /usr/bin/python3 -c 'while True: pass' >"$f"
expect "as a user: the CPU limit holds" "$f" status timeout
as_user "$rb" exec --json --output 8 -- /usr/bin/yes >"$f"
expect "as a user: the output limit holds" "$f" status output_limit

# SIGKILL of an unprivileged runbox leaves nothing either. runbox's own command line holds the
# marker too, so match the payload's whole command line: "MARKER 300" (exec -a), nothing else.
marker=rb-unpriv-$$
payload() { pgrep -f "^$marker 300\$" >/dev/null; }
# Not through as_user: $! must be runbox itself, not a subshell.
setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env \
    "$rb" exec --wall 60 -- /bin/bash -c "exec -a $marker sleep 300" </dev/null &
pid=$!
for _ in $(seq 200); do payload && break; sleep 0.05; done
payload
tap $? "as a user: the box's process runs"
kill -KILL "$pid"; wait "$pid" 2>/dev/null
for _ in $(seq 200); do pgrep -f "$marker" >/dev/null || break; sleep 0.05; done
! pgrep -f "$marker" >/dev/null
tap $? "as a user: SIGKILL of runbox takes the box along" || diag "$(ps -eo pid,ppid,stat,args | grep -e "$marker" | grep -v grep)"
# ... at any moment of its start-up too (see 40-leftovers.sh).
for _ in $(seq 150); do
    setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env \
        "$rb" exec --wall 60 -- /bin/bash -c "exec -a $marker sleep 300" </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep "0.00$((RANDOM % 10))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
done
for _ in $(seq 100); do pgrep -f "$marker" >/dev/null || break; sleep 0.05; done
! pgrep -f "$marker" >/dev/null
tap $? "as a user: SIGKILL at random moments of start-up (150 times): no box process left" ||
    diag "$(ps -eo pid,ppid,stat,args | grep -e "$marker" | grep -v grep)"

# A cgroup delegated to the user (as systemd's user@.service and Delegate=yes do) gives CPU
# accounting of the whole tree and cgroup.kill, and the controllers the delegator handed down:
# on pure v2 memory, pids and cpu, which runbox can switch on for its boxes only after moving
# itself out of that cgroup (a cgroup with processes hands no domain controller down). After
# it, the cgroup is as it was.
v2=""
if grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then v2=/sys/fs/cgroup
elif grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts; then v2=/sys/fs/cgroup/unified; fi
# in_deleg CMD...: CMD as the user, alone in the delegated cgroup $deleg.
in_deleg() {
    sh -c 'd=$1 u=$2 g=$3; shift 3; echo $$ >"$d/cgroup.procs" &&
        exec setpriv --reuid="$u" --regid="$g" --clear-groups --reset-env "$@"' \
        _ "$deleg" "$uid" "$gid" "$@" </dev/null
}
as_found() { [ -z "$(find "$deleg" -mindepth 1 -type d)" ] && [ -z "$(cat "$deleg/cgroup.subtree_control")" ]; }
not_found() { diag "children: $(find "$deleg" -mindepth 1 -type d | tr '\n' ' '); subtree_control: $(cat "$deleg/cgroup.subtree_control")"; }
if [ -z "$v2" ]; then
    skip "delegated cgroup" "no cgroup2 hierarchy"
else
    deleg=$v2/rbdeleg$$
    mkdir "$deleg" && chown -R "$uid:$gid" "$deleg"
    in_deleg "$rb" exec --json --time 0.3 -- /usr/bin/python3 -c "while True: pass" >"$f"
    jq_is '.status == "timeout" and .reason == "cpu_time" and (.limits_unenforced | index("cpu_time_of_tree") == null)' "$f"
    tap $? "as a user in a delegated cgroup: CPU time of the tree is measured and enforced" || diag "$(cat "$f")"
    as_found
    tap $? "as a user in a delegated cgroup: the cgroup is left as found (no child, no controller on)" || not_found
    if grep -qw memory "$deleg/cgroup.controllers"; then
        in_deleg "$rb" exec --json --memory 64 -- /usr/bin/python3 -c 'x = bytearray(256 << 20); print(len(x))' >"$f"
        jq_is '.status == "memory_limit" and (.limits_unenforced | index("memory") == null)' "$f"
        tap $? "as a user in a delegated cgroup with memory: the memory limit holds" || diag "$(cat "$f")"
        in_deleg "$rb" exec --json --memory 64 --pids 16 --cpus 0.5 -- /bin/echo hi >"$f"
        jq_is '.status == "success" and .limits_unenforced == []' "$f"
        tap $? "as a user in a delegated cgroup with memory, pids, cpu: every limit is enforced" || diag "$(cat "$f")"
        in_deleg "$rb" doctor >"$TMP/doctor" 2>&1
        grep -q '\[ ok \] trial run' "$TMP/doctor" && grep -q '\[ ok \] memory (--memory) *enforced' "$TMP/doctor"
        tap $? "as a user in a delegated cgroup: doctor's trial run works, memory enforced" || diag "$(cat "$TMP/doctor")"
        as_found
        tap $? "as a user in a delegated cgroup: left as found after those runs" || not_found
        # Not alone there: the run still works, without the limits, and says why.
        sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 60' _ "$deleg" </dev/null &
        other=$!
        sleep 0.2
        in_deleg "$rb" exec --json --memory 64 -- /bin/echo hi >"$f"
        jq_is '.status == "success" and (.limits_unenforced | index("memory") != null)' "$f"
        tap $? "as a user in a delegated cgroup shared with another process: the run works, memory unenforced" || diag "$(cat "$f")"
        in_deleg "$rb" doctor >"$TMP/doctor" 2>&1
        grep -q 'NOT enforced: .*holds other processes' "$TMP/doctor" && grep -q '\[ ok \] trial run' "$TMP/doctor"
        tap $? "as a user in a shared delegated cgroup: doctor says why memory is not enforced" || diag "$(cat "$TMP/doctor")"
        kill "$other"; wait "$other" 2>/dev/null
        as_found
        tap $? "as a user in a shared delegated cgroup: left as found" || not_found
    fi
fi

# Under systemd itself (pure v2 hosts with systemd as init): a service with Delegate=yes and
# User=, and a scope and a service of the user's own manager (systemd-run --user).
if [ "$v2" = /sys/fs/cgroup ] && [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
    out=$(systemd-run -q -p Delegate=yes -p User="$user" --wait --pipe "$rb" exec --json --memory 64 -- /usr/bin/python3 -c 'x = bytearray(256 << 20)' </dev/null 2>&1)
    jq_is '.status == "memory_limit"' <<<"$out"
    tap $? "systemd-run -p Delegate=yes -p User=: the memory limit holds" || diag "$out"
    out=$(systemd-run -q -p Delegate=yes -p User="$user" --wait --pipe "$rb" doctor </dev/null 2>&1)
    grep -q '\[ ok \] trial run' <<<"$out" && ! grep -q 'NOT enforced' <<<"$out"
    tap $? "systemd-run -p Delegate=yes -p User=: doctor's trial run works, every limit enforced" || diag "$out"
    # runbox serve so (hosts in worker threads, cgroups made ahead): a job over the API.
    unit=rbtest-serve-$$ port=$((20000 + $$ % 20000))
    systemd-run -q -p Delegate=yes -p User="$user" -p StateDirectory="$unit" --unit "$unit" \
        "$rb" serve --listen "127.0.0.1:$port" --no-auth --data "/var/lib/$unit" --workers 1 </dev/null
    for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
    out=$(curl -s --max-time 120 -H 'Content-Type: application/json' \
        -d '{"language":"python","code":"x = bytearray(256 << 20)","limits":{"memory_mb":64}}' \
        "http://127.0.0.1:$port/api/v1/code/execute")
    jq_is '.status == "memory_limit" and .limits_unenforced == []' <<<"$out"
    tap $? "runbox serve in a Delegate=yes service with User=: the memory limit holds" ||
        diag "$out $(journalctl -u "$unit" --no-pager -n 10)"
    systemctl stop "$unit" 2>/dev/null
    rm -rf "/var/lib/$unit" "/var/lib/private/$unit"
    if loginctl enable-linger "$user" 2>/dev/null && systemctl start "user@$uid.service" 2>/dev/null; then
        user_env=(XDG_RUNTIME_DIR=/run/user/$uid DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$uid/bus)
        out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env env "${user_env[@]}" \
            systemd-run --user -q --scope -p Delegate=yes "$rb" exec --json --memory 64 --pids 16 -- /bin/echo hi </dev/null 2>&1)
        jq_is '.status == "success" and (.limits_unenforced | index("memory") == null)' <<<"$out"
        tap $? "systemd-run --user --scope -p Delegate=yes: the run works, memory enforced" || diag "$out"
        out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env env "${user_env[@]}" \
            systemd-run --user -q --wait --pipe -p Delegate=yes "$rb" exec --json --memory 64 -- /usr/bin/python3 -c 'x = bytearray(256 << 20)' </dev/null 2>&1)
        jq_is '.status == "memory_limit"' <<<"$out"
        tap $? "systemd-run --user -p Delegate=yes (a user service): the memory limit holds" || diag "$out"
        left=$(find "/sys/fs/cgroup/user.slice/user-$uid.slice" -type d -name 'runbox*' 2>/dev/null)
        [ -z "$left" ]
        tap $? "systemd-run --user: no runbox cgroup left in the user's tree" || diag "$left"
    else
        skip "systemd-run --user" "cannot start user@$uid.service"
    fi
    loginctl disable-linger "$user" 2>/dev/null
    systemctl stop "user@$uid.service" 2>/dev/null
else
    not_here "under systemd" "not a pure-v2 host with systemd as init"
fi

done_testing
