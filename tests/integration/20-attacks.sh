#!/usr/bin/env bash
# Attacks: every program in tests/attacks/ runs for real through runbox, and each test checks the
# status it must get and, where it matters, what the host looks like afterwards (processes,
# files, disk). Limits are short so the whole script takes a few seconds. Needs root (runbox
# does), jq, python3, gcc; setpriv (util-linux) for the uid-60000 host marker process.
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC2016  # jq programs in single quotes
. "$(dirname "$0")/../lib.sh"

A=$ROOT/tests/attacks
MARK=runbox-attack-$$ # in the argv of everything this script starts, box or host
SECRET=host-secret-$$-$RANDOM
export RUNBOX_HOST_SECRET=$SECRET
HOST_PIDS=()

cleanup() {
    for p in "${HOST_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    rm -rf "$TMP"
    rm -f /tmp/"$MARK"* /var/tmp/"$MARK"* /dev/shm/"$MARK"* 2>/dev/null
}
trap cleanup EXIT

# jqt NAME JSON_FILE JQ_EXPR: a test that passes when the jq expression is true for the file.
jqt() {
    local name=$1 f=$2 expr=$3
    if jq -e "$expr" <"$f" >/dev/null 2>&1; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "false: $expr"
        diag "$(head -c 1500 "$f")"
    fi
}

# rb_run and rb_exec as in lib.sh, plus a look for cgroups left by that runbox: a run's cgroups
# are named <runbox pid>-<seq>, and the next runbox start sweeps those of dead owners, so this
# must be checked at once.
LEAKED_CGROUPS=""
rb_cmd() {
    local out=$1 pid d; shift
    "$RUNBOX" "$@" >"$out" 2>"$out.err" </dev/null &
    pid=$!
    wait "$pid"
    RB_RC=$?
    # Every layout: v1/hybrid /sys/fs/cgroup/<controller>/runbox, pure v2 /sys/fs/cgroup/runbox.
    for d in $(runbox_cgroups "$pid"); do
        LEAKED_CGROUPS="$LEAKED_CGROUPS $d"
    done
}
rb_run() { local out=$1; shift; rb_cmd "$out" run --json "$@"; }
rb_exec() { local out=$1; shift; rb_cmd "$out" exec --json "$@"; }

# alive_with MARKER: true if a host process has MARKER in its command line.
alive_with() { pgrep -f -- "$1" >/dev/null; }

# A host process with the box's uid (so that only the pid namespace, not permissions, keeps the
# box from signalling it or reading its /proc), the secret in its environment, the marker as
# argv[0].
if command -v setpriv >/dev/null; then
    setpriv --reuid 60000 --regid 60000 --clear-groups \
        bash -c "exec -a $MARK-host sleep 300" </dev/null >/dev/null 2>&1 &
else
    bash -c "exec -a $MARK-host sleep 300" </dev/null >/dev/null 2>&1 &
    diag "no setpriv: the host marker runs as root"
fi
HOST_MARKER=$!
HOST_PIDS+=("$HOST_MARKER")

### 1. Fork bombs and the pids limit

rb_run "$TMP/bomb.json" --time 1 --wall 2 --pids 32 "$A/forkbomb.c" -- "$MARK-bomb"
expect "C fork bomb: timeout" "$TMP/bomb.json" status timeout
[ "$RB_RC" = 124 ]
tap $? "C fork bomb: runbox exits 124 (got $RB_RC)"
! alive_with "$MARK-bomb"
tap $? "C fork bomb: no bomb process left on the host"
rb_run "$TMP/after.json" --time 1 --wall 2 "$ROOT/tests/programs/c/hello.c"
jqt "C fork bomb: the next box runs normally" "$TMP/after.json" \
    '.status == "success" and .output == "Hello, World!\n"'

rb_run "$TMP/forkcount.json" --time 1 --wall 2 --pids 16 "$A/forkcount.c"
expect "fork count: status success" "$TMP/forkcount.json" status success
jqt "fork count: forks stop at the pids limit (8 <= forked < 16, EAGAIN)" "$TMP/forkcount.json" \
    '(.output | capture("forked (?<n>[0-9]+)").n | tonumber) as $n
     | $n >= 8 and $n < 16 and (.output | test("stopped by EAGAIN"))'

rb_run "$TMP/threads.json" --time 1 --wall 2 --pids 16 "$A/threadcount.c"
jqt "thread count: threads count against the pids limit (8 <= threads < 16)" \
    "$TMP/threads.json" \
    '.status == "success" and ((.output | capture("threads (?<n>[0-9]+)").n | tonumber) as $n
     | $n >= 8 and $n < 16)'

### 2. Python fork bomb

rb_run "$TMP/pybomb.json" --time 3 --wall 5 --pids 16 "$A/forkbomb.py" -- "$MARK-pybomb"
expect "Python fork bomb: timeout" "$TMP/pybomb.json" status timeout
jqt "Python fork bomb: the box never holds more than 16 processes (it saw 2..16)" \
    "$TMP/pybomb.json" \
    '[.output | scan("peak ([0-9]+)") | .[0] | tonumber] as $p
     | ($p | length) > 0 and ($p | max) >= 2 and ($p | max) <= 16'
! alive_with "$MARK-pybomb"
tap $? "Python fork bomb: no bomb process left on the host"

### 3. Memory bombs

rb_run "$TMP/mem-c.json" --time 2 --wall 4 --memory 64 "$A/membomb.c"
expect "C memory bomb: memory_limit" "$TMP/mem-c.json" status memory_limit
jqt "C memory bomb: reason memory, peak <= 80 MB, runbox exits 137" "$TMP/mem-c.json" \
    ".reason == \"memory\" and .memory_bytes <= 80*1048576 and $RB_RC == 137"
rb_run "$TMP/mem-py.json" --time 2 --wall 4 --memory 64 "$A/membomb.py"
expect "Python memory bomb: memory_limit" "$TMP/mem-py.json" status memory_limit
jqt "Python memory bomb: reason memory, peak <= 80 MB" "$TMP/mem-py.json" \
    '.reason == "memory" and .memory_bytes <= 80*1048576'

# Memory that is no process's RSS (inodes, socket buffers, tmpfs pages): the OOM killer must take
# the program (oom_score_adj +1000), not the box's init (-1000), and the run is memory_limit.
# Sockets under 32 MB: with Debian's default net.core.wmem_max (208 KB a socket) the 256 fds a
# box may open hold ~55 MB at most, under a 64 MB limit (seen on the pure-v2 Debian 12 VM).
for m in inodes sockets tmpfs; do
    mem=64
    [ "$m" = sockets ] && mem=32
    rb_run "$TMP/kmem-$m.json" --time 5 --wall 10 --memory "$mem" "$A/kmem-bomb.c" -- "$m"
    jqt "kernel-memory bomb ($m): memory_limit, not internal_error" "$TMP/kmem-$m.json" \
        ".status == \"memory_limit\" and .reason == \"memory\" and .signal == 9 and $RB_RC == 137
         and (.output | test(\"(files|queued)\\n\"))"
done
rb_exec "$TMP/oomscore.json" --time 2 --wall 5 -- /bin/sh -c \
    'cat /proc/self/oom_score_adj; echo -1000 >/proc/self/oom_score_adj || echo refused'
jqt "the program's oom_score_adj is 1000; -1000 (init's) is refused to it" "$TMP/oomscore.json" \
    '.output == "1000\nrefused\n"'

### 4. CPU

rb_run "$TMP/busy.json" --time 1 --wall 5 "$A/busyloop.c"
expect "busy loop: timeout" "$TMP/busy.json" status timeout
expect "busy loop: reason cpu_time" "$TMP/busy.json" reason cpu_time
jqt "busy loop: cpu_time near the 1 s limit (0.9..1.8 s), before the 5 s wall" "$TMP/busy.json" \
    '.cpu_time >= 0.9 and .cpu_time <= 1.8 and .execution_time < 4.5'
rb_run "$TMP/busytree.json" --time 1 --wall 5 "$A/busyloop-tree.c"
jqt "4-process busy loop: the tree's CPU is limited (cpu_time, 0.9..1.8 s)" \
    "$TMP/busytree.json" \
    '.status == "timeout" and .reason == "cpu_time" and .cpu_time >= 0.9 and .cpu_time <= 1.8'

### 5. Sleep forever

rb_exec "$TMP/sleep.json" --time 1 --wall 1 -- /bin/sleep 1000
expect "sleep 1000: timeout" "$TMP/sleep.json" status timeout
expect "sleep 1000: reason wall_time" "$TMP/sleep.json" reason wall_time
jqt "sleep 1000: killed within seconds, runbox exits 124" "$TMP/sleep.json" \
    ".execution_time >= 0.9 and .execution_time < 5 and $RB_RC == 124"

# A program that never reads a large stdin must not hold the supervisor (and so its limits).
head -c 4000000 /dev/zero >"$TMP/big.in"
timeout -s KILL 20 "$RUNBOX" exec --json --time 1 --wall 1 --stdin "$TMP/big.in" -- \
    /bin/bash -c "exec -a $MARK-stdin sleep 1000" >"$TMP/stdin-sleep.json" 2>/dev/null </dev/null
jqt "4 MB of stdin never read, sleep 1000: still a wall_time timeout within seconds" \
    "$TMP/stdin-sleep.json" \
    '.status == "timeout" and .reason == "wall_time" and .execution_time < 5'
timeout -s KILL 20 "$RUNBOX" exec --json --time 2 --wall 4 --stdin "$TMP/big.in" -- \
    /bin/sh -c 'head -c 300000 /dev/zero | tr "\0" a' >"$TMP/stdin-out.json" 2>/dev/null </dev/null
jqt "4 MB of stdin never read, 300 KB written: no deadlock, success" "$TMP/stdin-out.json" \
    '.status == "success" and (.output | length) == 300000'
rb_run "$TMP/stop.json" --time 1 --wall 1 "$A/stop-self.sh"
jqt "SIGSTOP to itself: wall_time timeout" "$TMP/stop.json" \
    '.status == "timeout" and .reason == "wall_time" and .execution_time < 5'

### 6. Output floods

rb_run "$TMP/flood.json" --time 2 --wall 4 --output 64 "$A/outflood.c"
expect "output flood: output_limit" "$TMP/flood.json" status output_limit
expect "output flood: output_truncated" "$TMP/flood.json" output_truncated true
jqt "output flood: 0 < captured output <= 64 KB, runbox exits 141" "$TMP/flood.json" \
    "(.output | length) > 0 and (.output | length) <= 65536 and $RB_RC == 141"
rb_exec "$TMP/errflood.json" --time 2 --wall 4 --output 64 -- /bin/sh -c 'yes flood >&2'
jqt "stderr flood: output_limit, stdout+stderr <= 64 KB" "$TMP/errflood.json" \
    '.status == "output_limit" and .output_truncated
     and (.output | length) + (.error | length) <= 65536'

### 7. Filling the disk

used() { df -k --output=used / | tail -1; }
before=$(used)
rb_run "$TMP/fill.json" --time 3 --wall 5 "$A/fill-tmp.py" -- "$MARK-fill" /tmp /dev/shm
after=$(used)
jqt "fill /tmp: ENOSPC at its 128 MB size" "$TMP/fill.json" \
    '.status == "success"
     and (.output | test("(^|\n)/tmp: ENOSPC \\(No space left on device\\) after 12[0-9] MB"))'
jqt "fill /dev/shm: ENOSPC" "$TMP/fill.json" \
    '.output | test("(^|\n)/dev/shm: ENOSPC \\(No space left on device\\)")'
leaked=$(ls -d /tmp/"$MARK"* /var/tmp/"$MARK"* /dev/shm/"$MARK"* 2>/dev/null)
[ -z "$leaked" ]
tap $? "fill /tmp: no file of the box on the host"
[ -n "$leaked" ] && diag "$leaked"
[ $((after - before)) -lt 65536 ]
tap $? "fill /tmp: host disk usage grew by less than 64 MB ($(((after - before) / 1024)) MB)"
rb_run "$TMP/fill-dd.json" --time 3 --wall 5 "$A/fill-tmp.sh" -- "$MARK-dd"
jqt "dd into /tmp: 'No space left on device'" "$TMP/fill-dd.json" \
    '.status == "success"
     and (.output | test("dd failed at file [0-9]+: .*No space left on device"))'
rb_run "$TMP/fill-box.json" --time 3 --wall 5 "$A/fill-tmp.py" -- "$MARK-box" /box
jqt "fill /box: stopped by ENOSPC or the memory limit" "$TMP/fill-box.json" \
    '.status == "memory_limit" or (.output | test("(^|\n)/box: ENOSPC"))'

### 8. Network

mkdir -p "$TMP/www"
(cd "$TMP/www" && exec python3 "$A/host-server.py" "$TMP/port" "$MARK-uds") >/dev/null 2>&1 &
HOST_SERVER=$!
HOST_PIDS+=("$HOST_SERVER")
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port" 2>/dev/null)
if [ -n "$PORT" ]; then
    rb_run "$TMP/net.json" --time 2 --wall 5 "$A/net-connect.py" -- "$PORT" "$MARK-uds"
    jqt "connect to the host's 127.0.0.1:$PORT: refused" "$TMP/net.json" \
        '.status == "success" and (.output | test("(^|\n)tcp failed: ECONNREFUSED"))'
    jqt "connect to the host's abstract unix socket: refused" "$TMP/net.json" \
        '.output | test("(^|\n)unix failed: ECONNREFUSED")'
    # The control: the same program with the host network reaches both listeners.
    rb_run "$TMP/net-shared.json" --net --time 2 --wall 5 "$A/net-connect.py" -- "$PORT" "$MARK-uds"
    jqt "control: with --net the same program connects to both" "$TMP/net-shared.json" \
        '(.output | test("tcp connected: HTTP/1.0 200"))
         and (.output | test("unix connected: hello"))'
else
    skip "connect to the host's 127.0.0.1: refused" "the host listener did not start"
    skip "connect to the host's abstract unix socket: refused" "the host listener did not start"
    skip "control: with --net the same program connects to both" "the host listener did not start"
fi
kill "$HOST_SERVER" 2>/dev/null
wait "$HOST_SERVER" 2>/dev/null
rb_run "$TMP/loop.json" --time 2 --wall 5 "$A/net-loopback.py"
jqt "TCP server and client inside the box on 127.0.0.1" "$TMP/loop.json" \
    '.status == "success" and .output == "pong:ping\n"'

### 9. Secrets: /etc/shadow, other processes' environments, the box's init

alive_with "$MARK-host"
tap $? "the host marker (uid 60000, secret in its env) runs"
rb_run "$TMP/snoop.json" --time 2 --wall 5 "$A/proc-snoop.sh"
rb_exec "$TMP/snoop-exec.json" --time 2 --wall 5 -- /bin/sh -c \
    'for f in /proc/[0-9]*/environ; do tr "\0" "\n" <"$f"; done; cat /proc/self/environ'
jqt "snoop: the program could read environments (PATH= seen)" "$TMP/snoop.json" \
    '.output | test("PATH=/usr/local/bin")'
! grep -q -- "$SECRET" "$TMP/snoop.json" "$TMP/snoop-exec.json"
tap $? "snoop: the host's environment (RUNBOX_HOST_SECRET) appears nowhere"
jqt "snoop: only the box's own processes in /proc (at most 4)" "$TMP/snoop.json" \
    '(.output | capture("== processes:(?<p>[ 0-9]*)\n").p | [scan("[0-9]+")] | length) as $n
     | $n >= 1 and $n <= 4'
jqt "snoop: /proc/1 (the box's init) is not readable" "$TMP/snoop.json" \
    '(.output | test("/proc/1/environ: No such file or directory"))
     and (.output | test("/proc/1/status: No such file or directory"))
     and (.output | test("Uid:") | not)'
jqt "snoop: /etc/shadow does not exist, /etc/ssl/private is not readable" "$TMP/snoop.json" \
    '(.output | test("cat: /etc/shadow: No such file or directory"))
     and (.output | test("/etc/ssl/private.: (Permission denied|No such file)"))'
jqt "snoop: no /run, /var, /home, /srv, /mnt, /media, /sys in the box" "$TMP/snoop.json" \
    '[.output | scan("ls: cannot access .(/[a-z]+).: No such file or directory") | .[0]] | sort
     == ["/home", "/media", "/mnt", "/run", "/srv", "/sys", "/var"]'
rb_run "$TMP/include.json" --time 2 --wall 5 "$A/compile-include.c"
jqt "#include \"/etc/shadow\": the compiler cannot see it either" "$TMP/include.json" \
    '.status == "compile_error"
     and (.compile.error | test("/etc/shadow: No such file or directory"))'

### 10. Writing the read-only system

rb_run "$TMP/write.json" --time 2 --wall 5 "$A/write-system.sh" -- "$MARK-w"
jqt "write /usr, /etc, /, /lib: every write refused" "$TMP/write.json" \
    '(.output | test("WROTE|REMOVED") | not) and (.output | test("\ndone\n$"))
     and ([.output | scan("Read-only file system|Permission denied")] | length) >= 9'
jqt "write /usr and /etc: 'Read-only file system'" "$TMP/write.json" \
    "(.output | test(\"/usr/$MARK-w: Read-only file system\"))
     and (.output | test(\"/etc/$MARK-w: Read-only file system\"))"
left=$(ls -d /usr/"$MARK"* /usr/bin/"$MARK"* /etc/"$MARK"* /"$MARK"* /lib/"$MARK"* 2>/dev/null)
[ -z "$left" ] && [ -e /usr/bin/env ] && ! grep -q '^hacker:' /etc/passwd
tap $? "write the system: nothing created, changed or removed on the host"

### 11. kill(-1, SIGKILL)

rb_run "$TMP/killall.json" --time 2 --wall 5 "$A/kill-all.c"
jqt "kill(-1, SIGKILL): the program itself survives and exits 0" "$TMP/killall.json" \
    '.status == "success" and (.output | test("still alive"))'
kill -0 "$HOST_MARKER" 2>/dev/null
tap $? "kill(-1, SIGKILL): the host's uid-60000 marker process is still alive"

### 12. Daemons

rb_run "$TMP/daemon.json" --time 2 --wall 5 "$A/daemon.c" -- "$MARK-daemon"
jqt "double-forked daemon: runbox returns when the program exits" "$TMP/daemon.json" \
    '.status == "success" and .output == "daemon started\n" and .execution_time < 4'
! alive_with "$MARK-daemon"
tap $? "double-forked daemon: gone from the host"

### 13. Kernel surfaces and privileges

rb_run "$TMP/sys.json" --time 2 --wall 5 "$A/syscalls.c"
expect "syscalls: the program ran" "$TMP/sys.json" status success
jq -r .output <"$TMP/sys.json" >"$TMP/sys.txt"
for want in mount:EPERM umount2:EPERM unshare:EPERM setns:EPERM ptrace:EPERM bpf:EPERM \
    sethostname:EPERM keyctl:EPERM add_key:EPERM io_uring_setup:EPERM perf_event_open:EPERM \
    userfaultfd:EPERM socket_vsock:EAFNOSUPPORT socketpair_vsock:EAFNOSUPPORT clone3:ENOSYS \
    clone_newuser:EPERM chroot:EPERM setuid0:EPERM open_dev_kvm:ENOENT open_dev_vsock:ENOENT; do
    line="${want%%:*}: ${want#*:}"
    if grep -qx -- "$line" "$TMP/sys.txt"; then
        tap 0 "syscall $line"
    else
        tap 1 "syscall $line"
        diag "got: $(grep -- "^${want%%:*}:" "$TMP/sys.txt")"
    fi
done

# Netlink: only NETLINK_ROUTE (getifaddrs) opens; uevents, audit, sock_diag, netfilter, xfrm,
# generic and the rest fail as if the kernel had no such protocol, also with junk in the upper
# halves of the registers.
rb_run "$TMP/netlink.json" --time 2 --wall 5 "$A/netlink.c"
jq -r .output <"$TMP/netlink.json" >"$TMP/netlink.txt"
for p in kobject_uevent audit sock_diag netfilter xfrm generic selinux connector crypto rdma; do
    for v in "$p" "${p}_dgram"; do
        grep -qx -- "$v: EPROTONOSUPPORT" "$TMP/netlink.txt"
        tap $? "netlink $v: EPROTONOSUPPORT" || diag "got: $(grep -- "^$v:" "$TMP/netlink.txt")"
    done
done
for v in kobject_uevent_highbits kobject_uevent_protocol_highbits; do
    grep -qx -- "$v: EPROTONOSUPPORT" "$TMP/netlink.txt"
    tap $? "netlink $v: EPROTONOSUPPORT" || diag "got: $(grep -- "^$v:" "$TMP/netlink.txt")"
done
jqt "netlink: NETLINK_ROUTE still opens and getifaddrs() lists lo" "$TMP/netlink.json" \
    '.status == "success" and (.output | test("\nroute: ALLOWED\nroute_dgram: ALLOWED\n"))
     and (.output | test("\ngetifaddrs: lo\ndone\n$"))'

rb_run "$TMP/id.json" --time 2 --wall 5 "$A/identity.sh"
jq -r .output <"$TMP/id.json" >"$TMP/id.txt"
for want in "uid: 60000" "gid: 60000" "groups: 60000" "CapEff: 0000000000000000" \
    "CapPrm: 0000000000000000" "CapBnd: 0000000000000000" "CapAmb: 0000000000000000" \
    "NoNewPrivs: 1" "Seccomp: 2" "hostname: runbox" "suid mounts:"; do
    if grep -qx -- "$want" "$TMP/id.txt"; then
        tap 0 "identity: $want"
    else
        tap 1 "identity: $want"
        diag "got: $(grep -- "^${want%%:*}:" "$TMP/id.txt")"
    fi
done

rb_run "$TMP/i386.json" --time 2 --wall 5 "$A/i386-syscall.c"
jqt "int 0x80 (i386 syscall ABI): the process is killed with SIGSYS" "$TMP/i386.json" \
    '.status == "runtime_error" and .signal == 31 and (.output | test("returned") | not)'

rb_run "$TMP/x32.json" --time 2 --wall 5 "$A/x32-syscall.c"
jqt "x32 ABI unshare: killed with SIGSYS or refused, never allowed" "$TMP/x32.json" \
    '(.output | test("ALLOWED") | not) and (.output | test("trying x32"))
     and (.signal == 31 or (.output | test("x32 unshare: E[A-Z]+\n")))'

### 14. /dev

rb_run "$TMP/dev.json" --time 2 --wall 5 "$A/dev-list.sh"
jqt "/dev holds only fd full null random shm stderr stdin stdout tty urandom zero" "$TMP/dev.json" \
    '.output | split("\n")[0] == "fd full null random shm stderr stdin stdout tty urandom zero"'
jqt "mknod fails, /sys is absent" "$TMP/dev.json" \
    '(.output | test("MKNOD WORKED") | not) and (.output | test("mknod: .*Operation not permitted"))
     and (.output | test("/sys.: No such file or directory"))'

### 15. Fail closed

rb_exec "$TMP/noexec.json" -- /nonexistent
expect "exec /nonexistent: internal_error" "$TMP/noexec.json" status internal_error
[ "$RB_RC" = 125 ]
tap $? "exec /nonexistent: runbox exits 125 (got $RB_RC)"
rb_exec "$TMP/noexec2.json" -- /etc/passwd
jqt "exec of a file that is not executable: internal_error, exit 125" "$TMP/noexec2.json" \
    ".status == \"internal_error\" and .reason == \"setup_failed\" and $RB_RC == 125"
rb_exec "$TMP/noexec3.json" -- no-such-command-$$
jqt "exec of a command not on PATH: internal_error, exit 125" "$TMP/noexec3.json" \
    ".status == \"internal_error\" and $RB_RC == 125"

### 16. Hostile output

rb_run "$TMP/closed.json" --time 2 --wall 5 "$A/close-stdio.c"
jqt "closed stdout/stderr: valid JSON, success, output before the close" "$TMP/closed.json" \
    '.status == "success" and .output == "before\n" and .error == ""'
rb_run "$TMP/bin.json" --time 2 --wall 5 "$A/binary-output.c"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 2)' >"$TMP/bin.want"
printf '\377\376\000\303(\n' >"$TMP/bin-err.want"
jq -r '.output_base64 // empty' <"$TMP/bin.json" | base64 -d >"$TMP/bin.got" 2>/dev/null
jq -r '.error_base64 // empty' <"$TMP/bin.json" | base64 -d >"$TMP/bin-err.got" 2>/dev/null
jqt "binary output: valid JSON, success" "$TMP/bin.json" '.status == "success"'
cmp -s "$TMP/bin.want" "$TMP/bin.got"
tap $? "binary output: output_base64 has the exact bytes"
cmp -s "$TMP/bin-err.want" "$TMP/bin-err.got"
tap $? "binary output: error_base64 has the exact bytes"

### Nothing left behind

kill "$HOST_MARKER" 2>/dev/null
wait "$HOST_MARKER" 2>/dev/null
left=$(pgrep -af -- "$MARK")
[ -z "$left" ]
tap $? "no process of this script's attacks is left"
[ -n "$left" ] && diag "$left"
# The leak check can fail on this layout: while a box runs, it sees the box's cgroup.
"$RUNBOX" exec --wall 4 -- /bin/sleep 10 </dev/null >/dev/null 2>&1 &
pid=$!
seen=""
for _ in $(seq 100); do seen=$(runbox_cgroups "$pid"); [ -n "$seen" ] && break; sleep 0.05; done
wait "$pid"
[ -n "$seen" ]
tap $? "the leak check sees a running box's cgroups ($(wc -w <<<"$seen") of them: $(tr '\n' ' ' <<<"${seen:-none}"))"
[ -z "$LEAKED_CGROUPS" ]
tap $? "no run left a cgroup behind (checked right after each runbox exit)"
[ -n "$LEAKED_CGROUPS" ] && diag "$LEAKED_CGROUPS"

done_testing
