#!/bin/sh
# The runbox image's entrypoint, run by tini (PID 1): prepares the container's cgroup for the
# sandbox, then execs the command (by default `runbox serve ...`).
#
# Why: runbox, as root, makes each run's cgroup under the top of the cgroup2 hierarchy it sees
# (src/sandbox/cgroup.c: /sys/fs/cgroup/runbox/<pid>-<seq> when /sys/fs/cgroup is cgroup2 and
# writable) and enables the memory, pids and cpu controllers in /sys/fs/cgroup's
# cgroup.subtree_control. In a container with its own cgroup namespace (--cgroupns=private,
# Kubernetes on cgroup v2) /sys/fs/cgroup is the container's cgroup, which holds the container's
# processes; cgroup v2's "no internal processes" rule refuses controllers in subtree_control of
# a cgroup that has processes of its own (EBUSY), and the runs would get no memory, pids or CPU
# limits. So every process here (tini, this shell) moves to the child cgroup /sys/fs/cgroup/init
# first; runbox inherits it, and its runs' cgroups become siblings of init.
#
# Nothing to do on cgroup v1 or hybrid hosts (controllers at /sys/fs/cgroup/<name>), or when the
# hierarchy is read-only (not privileged: `runbox doctor` then says what is missing). Nothing
# either unless this process is at the root of its cgroup namespace ("0::/"): with the host's
# cgroup namespace (a privileged container without --cgroupns=private) /sys/fs/cgroup is the
# host's whole hierarchy, whose processes are none of ours to move.
set -eu

cg=/sys/fs/cgroup
if [ "$(stat -f -c %T "$cg" 2>/dev/null)" = cgroup2fs ] && [ -w "$cg/cgroup.procs" ] &&
    grep -qx '0::/' /proc/self/cgroup; then
    mkdir -p "$cg/init"
    # Processes may start while we move them (none should, but a `docker exec` can): go round
    # until the top cgroup is empty, a few times at most.
    for _ in 1 2 3 4 5; do
        moved=0
        while read -r pid; do
            # A process that exited meanwhile cannot be moved: not an error.
            echo "$pid" >"$cg/init/cgroup.procs" 2>/dev/null || true
            moved=1
        done <"$cg/cgroup.procs"
        [ "$moved" = 0 ] && break
    done
    if [ -s "$cg/cgroup.procs" ]; then
        echo "runbox-entrypoint: warning: processes left in $cg: runs may get no cgroup limits" >&2
    fi
    # Hand the controllers down now, so that a failure shows at start (runbox tries again).
    for c in memory pids cpu; do
        if grep -qw "$c" "$cg/cgroup.controllers" &&
            ! echo "+$c" >"$cg/cgroup.subtree_control" 2>/dev/null; then
            echo "runbox-entrypoint: warning: cannot enable the $c controller in $cg" >&2
        fi
    done
fi

if [ "$#" -eq 0 ]; then
    set -- runbox serve --listen 0.0.0.0:8080 --data /var/lib/runbox
fi
exec "$@"
