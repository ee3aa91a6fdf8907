#!/usr/bin/env bash
# Nothing is left behind: not after normal runs, not after runbox itself is SIGKILLed or
# interrupted mid-run (the box dies with it; its cgroups are swept at the next start).
. "$(dirname "$0")/../lib.sh"

cgroups() { find /sys/fs/cgroup -maxdepth 3 -type d -path '*/runbox/*' 2>/dev/null; }
box_procs() { pgrep -f "$1" || true; }

marker=runbox-leftover-$$
printf 'import time, os\nos.system("sleep 300 %s &")\ntime.sleep(300)\n' "$marker" >"$TMP/hang.py"
# sleep with a marker argument: `sleep 300 MARKER` fails; use sh -c with the marker as $0.
printf 'import os, time\nif os.fork() == 0:\n    os.execv("/bin/sh", ["%s", "-c", "sleep 300"])\ntime.sleep(300)\n' "$marker" >"$TMP/hang.py"

for sig in KILL TERM INT; do
    "$RUNBOX" run --wall 60 "$TMP/hang.py" </dev/null >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -n "$(box_procs "$marker")" ] && break; sleep 0.05; done
    [ -n "$(box_procs "$marker")" ]
    tap $? "SIG$sig: the box is running" || diag "no box process seen"
    kill -"$sig" "$pid"
    wait "$pid" 2>/dev/null
    for _ in $(seq 100); do [ -z "$(box_procs "$marker")" ] && break; sleep 0.05; done
    [ -z "$(box_procs "$marker")" ]
    tap $? "SIG$sig to runbox: every process of the box is gone" || diag "$(ps -ef | grep "$marker")"
    # The workspace lived in runbox's private mount namespace: nothing on the host.
    ! grep -q runbox /proc/self/mountinfo
    tap $? "SIG$sig to runbox: no mount left on the host" || diag "$(grep runbox /proc/self/mountinfo)"
    # The next start sweeps the dead runbox's cgroups.
    "$RUNBOX" exec -- /bin/true </dev/null
    left=$(cgroups | grep "/$pid-" || true)
    [ -z "$left" ]
    tap $? "SIG$sig to runbox: its cgroups are gone after the next start" || diag "$left"
done

# SIGKILL at any moment of start-up, even before the box's init has armed its parent-death
# signal: 150 kills at random points of the first 10 ms, then no box process is left. (A race:
# init cloned, "go" sent, runbox killed before init's prctl; the box then ran on, orphaned.)
early=runbox-early-$$
for _ in $(seq 150); do
    "$RUNBOX" exec --wall 60 -- /bin/bash -c "exec -a $early sleep 300" </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep "0.00$((RANDOM % 10))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
done
for _ in $(seq 100); do pgrep -f "^$early" >/dev/null || break; sleep 0.05; done
! pgrep -f "^$early" >/dev/null
tap $? "SIGKILL at random moments of start-up (150 times): no box process left" ||
    diag "$(ps -eo pid,ppid,stat,args | grep -e "$early" | grep -v grep)"
pkill -KILL -f "^$early" 2>/dev/null
"$RUNBOX" exec -- /bin/true </dev/null # sweeps the killed runs' cgroups
! grep -q runbox /proc/self/mountinfo
tap $? "SIGKILL at random moments of start-up: no mount left on the host"

# Many runs, then nothing: no cgroups, mounts, processes or temp dirs.
before=$(ls /tmp | wc -l)
for i in $(seq 20); do "$RUNBOX" exec -- /bin/sh -c 'echo x > /box/f; echo y > /tmp/g' </dev/null; done
[ -z "$(cgroups)" ]
tap $? "after 20 runs no runbox cgroup remains" || diag "$(cgroups)"
[ "$(ls /tmp | wc -l)" = "$before" ]
tap $? "after 20 runs no temp dir remains on the host"
! grep -q runbox /proc/self/mountinfo
tap $? "after 20 runs no runbox mount is visible on the host"

done_testing
