#!/usr/bin/env bash
# Runs last: after the whole suite, nothing of runbox is left on the host.
. "$(dirname "$0")/../lib.sh"

left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name 'runbox*' 2>/dev/null)
[ -z "$left" ]
tap $? "no runbox cgroup is left" || diag "$left"
! grep -q runbox /proc/self/mountinfo
tap $? "no runbox mount is left" || diag "$(grep runbox /proc/self/mountinfo)"
# Processes get a moment to finish exiting. A zombie holds nothing but its pid; whether it is
# reaped is up to whoever inherited it (the machine's init), so zombies are not counted.
for _ in $(seq 40); do
    procs=$(ps -eo uid=,stat=,comm= | awk '$2 !~ /^Z/ && ($1 == 60000 || $3 ~ /^runbox/)')
    [ -z "$procs" ] && break
    sleep 0.05
done
[ -z "$procs" ]
tap $? "no runbox process and no process of the box user is left" || diag "$procs"
tmps=$(find /tmp -maxdepth 1 -name 'runbox-test.*' ! -path "$TMP" 2>/dev/null)
[ -z "$tmps" ]
tap $? "no test temp dir is left" || diag "$tmps"

done_testing
