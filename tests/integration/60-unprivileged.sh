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
    [ -n "$deleg" ] && rmdir "$deleg/runbox" "$deleg" 2>/dev/null
    pkill -KILL -u "$user" 2>/dev/null
    for _ in $(seq 100); do pgrep -u "$user" >/dev/null || break; sleep 0.05; done
    userdel "$user" 2>/dev/null
    rm -rf "$dir" "$TMP"
}
trap cleanup EXIT
mkdir -p "$dir/build"
cp "$RUNBOX" "$dir/build/runbox"
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

# A cgroup delegated to the user (as systemd's user@.service does) gives CPU accounting of the
# whole tree and cgroup.kill, and whatever controllers the delegator enabled.
v2=""
if grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then v2=/sys/fs/cgroup
elif grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts; then v2=/sys/fs/cgroup/unified; fi
if [ -z "$v2" ]; then
    skip "delegated cgroup" "no cgroup2 hierarchy"
else
    deleg=$v2/rbdeleg$$
    mkdir "$deleg" && chown -R "$uid:$gid" "$deleg"
    sh -c 'echo $$ > "$1/cgroup.procs" && exec setpriv --reuid="$2" --regid="$3" --clear-groups --reset-env "$4" exec --json --time 0.3 -- /usr/bin/python3 -c "while True: pass"' \
        _ "$deleg" "$uid" "$gid" "$rb" >"$f" </dev/null
    jq -e '.status == "timeout" and .reason == "cpu_time" and (.limits_unenforced | index("cpu_time_of_tree") == null)' "$f" >/dev/null
    tap $? "as a user in a delegated cgroup: CPU time of the tree is measured and enforced" || diag "$(cat "$f")"
    left=$(find "$deleg" -mindepth 1 -type d)
    [ -z "$left" ] || [ "$left" = "$deleg/runbox" ] && [ -z "$(find "$deleg/runbox" -mindepth 1 -type d 2>/dev/null)" ]
    tap $? "as a user in a delegated cgroup: no run cgroup left" || diag "$left"
fi

done_testing
