#!/usr/bin/env bash
# The Docker runner (src/docker/): `runbox exec --docker IMAGE` on a dockerd of the tests' own
# (tests/lib.sh dockerd_start: its socket in DOCKER_HOST for every docker and runbox call), with
# images made without a registry (test_docker_images: a debootstrap root imported, and a course
# image built on it). What a container may do and see, the attacks and limits, the report that
# runbox-docker-init writes (which the program cannot forge), and that nothing is left behind:
# not after normal runs, not after runbox is SIGKILLed mid-run.
. "$(dirname "$0")/../lib.sh"

need_tools "docker runner" dockerd docker gcc
trap 'dockerd_stop; srv_cleanup' EXIT
if ! dockerd_start 2>"$TMP/dockerd.err"; then
    skip "docker runner" "no test engine: $(tail -1 "$TMP/dockerd.err")"
    done_testing
    exit
fi
if ! test_docker_images 2>"$TMP/images.err"; then
    skip "docker runner" "no test images: $(tail -1 "$TMP/images.err")"
    done_testing
    exit
fi
I=$TEST_IMAGE_BASE
MARK=runbox-docker-test-$$

# jqt NAME JSON_FILE FILTER: one TAP line, the filter must hold.
jqt() {
    if jq -e "$3" "$2" >/dev/null 2>&1; then
        tap 0 "$1"
    else
        tap 1 "$1"
        diag "expected $3 (runbox exited $RB_RC)"
        diag "$(head -c 1500 "$2") $(head -c 500 "$2.err" 2>/dev/null)"
    fi
}

# dx NAME OUT [LIMITS...] -- CMD...: runbox exec --json --docker $I; rc in RB_RC.
dx() {
    local out=$1; shift
    rb_exec "$out" --docker "$I" "$@"
}

# Our containers (all, or those of runbox pid $1).
containers() { docker ps -aq --filter label=runbox=1 ${1:+--filter "label=runbox.pid=$1"}; }
ws_left() { ls -d /run/runbox-docker/"${1:-}"* 2>/dev/null; grep -F /run/runbox-docker/"${1:-}" /proc/self/mountinfo; }

### 1. What a program gets: output, exit codes, stdin, environment

dx "$TMP/hello.json" -- sh -c 'echo out; echo err >&2; exit 3'
jqt "exit code 3, stdout and stderr apart" "$TMP/hello.json" \
    '.status == "runtime_error" and .exit_code == 3 and .output == "out\n" and .error == "err\n"'
[ "$RB_RC" = 3 ]
tap $? "runbox exits with the program's code (got $RB_RC)"
jqt "the report's measures come back: CPU time, peak memory, wall time" "$TMP/hello.json" \
    '.cpu_time > 0 and .memory_bytes > 0 and .execution_time > 0 and .execution_time < 5'

dx "$TMP/ok.json" -- /bin/true
jqt "/bin/true: success" "$TMP/ok.json" '.status == "success" and .exit_code == 0'
[ "$RB_RC" = 0 ]
tap $? "/bin/true: runbox exits 0 (got $RB_RC)"

dx "$TMP/segv.json" -- sh -c 'kill -SEGV $$'
jqt "a signal: runtime_error, signal 11, runbox exits 139" "$TMP/segv.json" \
    ".status == \"runtime_error\" and .reason == \"signaled\" and .signal == 11 and $RB_RC == 139"

printf 'line one\nline two\n' >"$TMP/in.txt"
dx "$TMP/stdin.json" --stdin "$TMP/in.txt" -- sh -c 'tac; echo done'
jqt "stdin reaches the program, then EOF" "$TMP/stdin.json" \
    '.status == "success" and .output == "line two\nline one\ndone\n"'
head -c 3000000 /dev/urandom >"$TMP/big.bin"
dx "$TMP/bigin.json" --stdin "$TMP/big.bin" -- sha256sum
want=$(sha256sum <"$TMP/big.bin")
jqt "3 MB of stdin arrive whole" "$TMP/bigin.json" ".output == \"$want\n\""

dx "$TMP/env.json" -- sh -c 'echo "$HOME|$LANG|$PATH|${RUNBOX_INIT_KEY-unset}|$(pwd)"'
jqt "the sandbox's environment, workdir /box, and no report key" "$TMP/env.json" \
    '.output == "/tmp|C.UTF-8|/usr/local/bin:/usr/bin:/bin|unset|/box\n"'

### 2. Isolation: identity, capabilities, network, filesystem

dx "$TMP/id.json" -- sh -c 'id -u; id -g; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
jqt "uid and gid 60000, no capabilities, NoNewPrivs, seccomp" "$TMP/id.json" \
    '.output | test("^60000\n60000\nCapPrm:\t0+\nCapEff:\t0+\nCapBnd:\t0+\nNoNewPrivs:\t1\nSeccomp:\t2\n$")'

dx "$TMP/net.json" -- python3 -c '
import socket
print(sorted(n for _, n in socket.if_nameindex()))
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("1.1.1.1", 80)); print("connected")
except OSError as e:
    print("refused", e.errno)'
jqt "only lo, and no way out" "$TMP/net.json" \
    '.status == "success" and (.output | startswith("[\u0027lo\u0027]\nrefused"))'

dx "$TMP/rlimits.json" --cpus 0.5 --pids 40 --memory 100 -- sh -c 'ulimit -n; ulimit -c; ulimit -f;
    cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null ||
    cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max'
jqt "the sandbox's rlimits (256 files, no core, 64 MB files) and the cgroup's CPU, pids, memory" \
    "$TMP/rlimits.json" '.output | test("^256\n0\n131072\n(50000|50000 100000)\n40\n104857600\n$")'

dx "$TMP/netflag.json" --net -- sh -c 'ls /sys/class/net | wc -l'
jqt "--net: the host's network (its $(ls /sys/class/net | wc -l) interfaces)" "$TMP/netflag.json" \
    ".status == \"success\" and (.output | tonumber) == $(ls /sys/class/net | wc -l)"

dx "$TMP/ro.json" -- sh -c 'touch /etc/x /usr/x 2>&1; echo a >/tmp/a && echo b >/box/b && cat /tmp/a /box/b;
    cp /bin/true /tmp/t && /tmp/t && echo tmp-exec-ok'
jqt "read-only root; /tmp and /box writable; /tmp allows exec" "$TMP/ro.json" \
    '(.output | test("/etc/x.*Read-only file system")) and (.output | test("/usr/x.*Read-only"))
     and (.output | endswith("a\nb\ntmp-exec-ok\n"))'

dx "$TMP/init.json" -- sh -c 'awk "\$5 == \"/.runbox/init\" { print \$6 }" /proc/self/mountinfo;
    cat /proc/1/environ 2>&1; kill -9 1; echo still-here'
jqt "init is mounted read-only, its environment unreadable, it cannot be killed" "$TMP/init.json" \
    '.status == "success" and (.output | test("^ro,")) and
     (.output | test("environ: Permission denied")) and (.output | endswith("still-here\n"))'

### 3. Languages in the image

dx "$TMP/py.json" -- python3 -c 'print(6 * 7)'
jqt "python3 in the image" "$TMP/py.json" '.status == "success" and .output == "42\n"'

dx "$TMP/c.json" -- sh -c 'printf "#include <stdio.h>\nint main(void) { puts(\"hi from C\"); return 0; }\n" >/box/h.c &&
    gcc -O1 -o /box/h /box/h.c && /box/h'
jqt "C: gcc compiles in /box, the program runs" "$TMP/c.json" \
    '.status == "success" and .output == "hi from C\n"'

rb_exec "$TMP/course.json" --docker "$TEST_IMAGE_COURSE" -- python3 -m pytest --version
jqt "the course image (docker build on the imported one) has pytest" "$TMP/course.json" \
    '.status == "success" and ((.output + .error) | test("pytest [0-9]"))'

### 4. Attacks and limits

gcc -O1 -o "$TMP/forkbomb" "$ROOT/tests/attacks/forkbomb.c"
gcc -O1 -o "$TMP/forkcount" "$ROOT/tests/attacks/forkcount.c"
# A program from the host, fed on stdin, run from /tmp under a marker name.
from_stdin="cat >/tmp/p && chmod +x /tmp/p && exec -a $MARK-prog /tmp/p"

start=$(date +%s%N)
dx "$TMP/bomb.json" --pids 32 --time 1 --wall 5 --stdin "$TMP/forkbomb" -- bash -c "$from_stdin"
secs=$((($(date +%s%N) - start) / 1000000000))
jqt "fork bomb: a CPU timeout, runbox exits 124" "$TMP/bomb.json" \
    ".status == \"timeout\" and .reason == \"cpu_time\" and $RB_RC == 124"
[ "$secs" -lt 5 ]
tap $? "fork bomb: the box ends, well before the wall limit (${secs} s)"
! pgrep -f "$MARK-prog" >/dev/null
tap $? "fork bomb: no bomb process left" || diag "$(pgrep -af "$MARK-prog" | head -5)"

dx "$TMP/forkcount.json" --pids 16 --time 2 --stdin "$TMP/forkcount" -- bash -c "$from_stdin"
jqt "fork count: forks stop at the pids limit (8 <= forked < 16, EAGAIN)" "$TMP/forkcount.json" \
    '(.output | capture("forked (?<n>[0-9]+)").n | tonumber) as $n
     | .status == "success" and $n >= 8 and $n < 16 and (.output | test("stopped by EAGAIN"))'

dx "$TMP/mem.json" --memory 64 --time 5 -- python3 -c '
a = []
while True:
    a.append(bytearray(1 << 20))'
jqt "memory bomb: memory_limit, peak 40..80 MB, runbox exits 137" "$TMP/mem.json" \
    ".status == \"memory_limit\" and .reason == \"memory\" and .memory_bytes >= 40*1048576
     and .memory_bytes <= 80*1048576 and $RB_RC == 137"

dx "$TMP/cpu.json" --time 1 --wall 10 -- sh -c 'while :; do :; done'
jqt "CPU loop: timeout for CPU time at 1..1.5 s, runbox exits 124" "$TMP/cpu.json" \
    ".status == \"timeout\" and .reason == \"cpu_time\" and .cpu_time >= 1 and .cpu_time < 1.5
     and $RB_RC == 124"

dx "$TMP/sleep.json" --wall 1 -- sleep 30
jqt "sleep: timeout for wall time, within 1..2 s" "$TMP/sleep.json" \
    '.status == "timeout" and .reason == "wall_time" and .execution_time >= 1 and .execution_time < 2'

dx "$TMP/flood.json" --output 64 -- sh -c 'while :; do echo flood flood flood; done'
jqt "output flood: output_limit at 64 KB, runbox exits 141" "$TMP/flood.json" \
    ".status == \"output_limit\" and .stdout_bytes == 65536 and .output_truncated and $RB_RC == 141"

for dir in /tmp /box; do
    dx "$TMP/fill.json" --time 10 --wall 20 -- sh -c "for i in 1 2 3 4; do
        dd if=/dev/zero of=$dir/f\$i bs=1M count=60 2>&1 | grep -i 'no space'; done; du -sm $dir"
    jqt "a write flood of $dir stops at its 128 MB tmpfs" "$TMP/fill.json" \
        '(.output | test("No space left on device")) and
         (.output | capture("(?<mb>[0-9]+)\t").mb | tonumber) <= 129'
done

### 5. The report cannot be forged

fake='runbox-docker-report 1\nkey 00000000000000000000000000000000\nwstatus 0\nexec_errno 0\nkilled none\ncpu_us 1\nwall_us 1\nmemory_bytes 1\noom_kills 0\n'
dx "$TMP/forge.json" -- sh -c "printf '$fake' >/.runbox/report/report; printf '$fake' >/.runbox/report/.report.tmp; exit 7"
jqt "a planted report (success) does not count: exit 7 stays 7" "$TMP/forge.json" \
    '.status == "runtime_error" and .exit_code == 7 and .memory_bytes > 1'
dx "$TMP/forge2.json" -- bash -c "(while :; do printf '$fake' >/.runbox/report/r.\$BASHPID; mv -f /.runbox/report/r.\$BASHPID /.runbox/report/report; done) &
    mkdir -p /.runbox/report/d/e; chmod 0 /.runbox/report/d; sleep 0.3; exit 9"
jqt "a process rewriting the report while init ends: exit 9 stays 9" "$TMP/forge2.json" \
    '.status == "runtime_error" and .exit_code == 9'
dx "$TMP/forge4.json" -- sh -c "mkdir -p /.runbox/report/report/x /.runbox/report/.report.tmp; chmod 0 /.runbox/report/report /.runbox/report/.report.tmp; exit 8"
jqt "directories in the report's place, unreadable: exit 8 and the measures come back" \
    "$TMP/forge4.json" '.status == "runtime_error" and .exit_code == 8 and .cpu_time > 0'
dx "$TMP/forge3.json" -- sh -c "dd if=/dev/zero of=/.runbox/report/fill bs=1k count=100 2>/dev/null; exit 6"
jqt "a full report dir: init empties it, exit 6 and the measures come back" "$TMP/forge3.json" \
    '.status == "runtime_error" and .exit_code == 6 and .cpu_time > 0'

### 6. Interrupted, killed: nothing is left

"$RUNBOX" exec --json --docker "$I" -- bash -c "exec -a $MARK-term sleep 60" >"$TMP/term.json" 2>&1 </dev/null &
pid=$!
for _ in $(seq 100); do [ -n "$(containers "$pid")" ] && pgrep -f "$MARK-term" >/dev/null && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
RB_RC=$?
jqt "SIGTERM to runbox: interrupted, runbox exits 143" "$TMP/term.json" \
    ".status == \"internal_error\" and .reason == \"interrupted\" and $RB_RC == 143"
[ -z "$(containers "$pid")" ] && [ -z "$(ws_left "$pid-")" ] && ! pgrep -f "$MARK-term" >/dev/null
tap $? "SIGTERM to runbox: its container, workspace and processes are gone" ||
    diag "$(containers "$pid") $(ws_left "$pid-") $(pgrep -af "$MARK-term")"

"$RUNBOX" exec --docker "$I" -- bash -c "exec -a $MARK-kill sleep 60" >/dev/null 2>&1 </dev/null &
pid=$!
for _ in $(seq 100); do [ -n "$(containers "$pid")" ] && pgrep -f "$MARK-kill" >/dev/null && break; sleep 0.1; done
[ -n "$(containers "$pid")" ]
tap $? "SIGKILL to runbox: its container runs" || diag "no container of $pid"
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
dx "$TMP/next.json" -- /bin/true
jqt "SIGKILL to runbox: the next run works" "$TMP/next.json" '.status == "success"'
[ -z "$(containers "$pid")" ] && [ -z "$(ws_left "$pid-")" ]
tap $? "SIGKILL to runbox: the next start's sweep removed its container and workspace" ||
    diag "$(containers "$pid") $(ws_left "$pid-")"
for _ in $(seq 50); do pgrep -f "$MARK-kill" >/dev/null || break; sleep 0.1; done
! pgrep -f "$MARK-kill" >/dev/null
tap $? "SIGKILL to runbox: no process of its container is left" || diag "$(pgrep -af "$MARK-kill")"

# runbox serve sweeps at its start too.
"$RUNBOX" exec --docker "$I" -- sleep 60 >/dev/null 2>&1 </dev/null &
pid=$!
for _ in $(seq 100); do [ -n "$(containers "$pid")" ] && break; sleep 0.1; done
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
mkdir -p "$TMP/data"
if srv_start "$TMP/data" --no-auth; then
    [ -z "$(containers "$pid")" ] && [ -z "$(ws_left "$pid-")" ]
    tap $? "runbox serve: its start removed what a SIGKILLed runbox left" ||
        diag "$(containers "$pid") $(ws_left "$pid-") $(cat "$TMP/srv.err")"
    srv_stop
else
    tap 1 "runbox serve: its start removed what a SIGKILLed runbox left"
fi

### 7. The engine fails: internal_error with its reason

rb_exec "$TMP/noimg.json" --docker runbox-test/no-such-image:v0 -- true
jqt "a missing image: internal_error naming it, runbox exits 125" "$TMP/noimg.json" \
    ".status == \"internal_error\" and (.message | test(\"No such image: runbox-test/no-such-image:v0\"))
     and .error == \"\" and $RB_RC == 125"

DOCKER_HOST=unix:///run/runbox-test-no-engine.sock rb_exec "$TMP/noengine.json" --docker "$I" -- true
jqt "an unreachable engine: internal_error, the CLI's reason, runbox exits 125" "$TMP/noengine.json" \
    ".status == \"internal_error\" and (.message | test(\"Cannot connect to the Docker daemon\")) and $RB_RC == 125"

dx "$TMP/noexec.json" -- /no/such/program
jqt "a missing command: internal_error, cannot execute" "$TMP/noexec.json" \
    '.status == "internal_error" and (.message | test("cannot execute \u0027/no/such/program\u0027: No such file"))'

"$RUNBOX" doctor >"$TMP/doctor.txt" 2>&1
rc_with=$?
grep -Eq '^  \[ ok \] engine +Docker [0-9]' "$TMP/doctor.txt"
tap $? "doctor: the engine and its version" || diag "$(tail -4 "$TMP/doctor.txt")"
DOCKER_HOST=unix:///run/runbox-test-no-engine.sock "$RUNBOX" doctor >"$TMP/doctor2.txt" 2>&1
rc_without=$?
grep -Eq '^  \[ -- \] engine +Cannot connect' "$TMP/doctor2.txt" && [ "$rc_with" = "$rc_without" ]
tap $? "doctor: no engine is said, and is no failure (exit $rc_with, then $rc_without)" ||
    diag "$(tail -4 "$TMP/doctor2.txt")"

### 8. Nothing left, and nothing said by a sanitizer

reports=$(grep -lE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP"/*.err "$TMP"/term.json 2>/dev/null)
[ -z "$reports" ]
tap $? "no sanitizer report from any runbox run" || diag "$(head -c 1500 $reports)"

[ -z "$(containers)" ]
tap $? "no runbox container is left in the engine" || diag "$(docker ps -a)"
[ -z "$(ws_left)" ]
tap $? "no workspace or mount is left under /run/runbox-docker" || diag "$(ws_left)"

done_testing
