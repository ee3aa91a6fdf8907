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
