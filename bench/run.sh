#!/usr/bin/env bash
# runbox start-to-exit and throughput benchmark: runbox next to the bare program and bwrap,
# measured side by side in one run (paired, alternating), reported as medians and ratios.
#
#   bench/run.sh            full run (about 1-2 minutes, plus about 5 for section 7, and
#                           a minute for section 10's image the first time it is built)
#   bench/run.sh --quick    fewer rounds (about 1 minute)
#
# Needs root (runbox does), python3 at /usr/bin/python3, the built tree (ninja -C build);
# bwrap, node and cc are optional (their lines are skipped when absent).
# Environment: RUNBOX_BUILD=DIR (default: <repo>/build).
#
# Every contender is started the same way by bench/timer.py: os.posix_spawn + waitpid from one
# Python process, stdio on /dev/null, no inherited fds, and the environment of
# `env -i PATH=/usr/bin:/bin`. Bare language runs also get the variables and flags the box
# gives the program (LANG/LC_ALL=C.UTF-8, HOME=/tmp, the language's env and flags from
# languages/*.json), so the program does the same work inside and outside the box.
# This is a benchmark, not a test: it asserts nothing. It exits 1 only when a contender could
# not run at all (its error is printed), 2 on a usage or setup error.
set -u -o pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

ARGS=$*
QUICK=0
for arg in "$@"; do
    case $arg in
    --quick) QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RUNBOX_BUILD:-$ROOT/build}
RUNBOX=$BUILD/runbox
SBX_LOOP=$BUILD/sbx_loop
PY=/usr/bin/python3
TIMER=$ROOT/bench/timer.py
BWRAP=$(command -v bwrap || true)
NODE=/usr/bin/node
UNSHARE=/usr/bin/unshare

if [[ $(id -u) != 0 ]]; then
    echo "bench/run.sh: runbox needs root; run as root" >&2
    exit 2
fi
for f in "$RUNBOX" "$SBX_LOOP" "$PY"; do
    if [[ ! -x $f ]]; then
        echo "bench/run.sh: $f is missing (build with: ninja -C $BUILD)" >&2
        exit 2
    fi
done

if ((QUICK)); then
    N_B2B=80 N_GAP=25          # paired rounds: back to back, 50 ms apart
    LOOP_CHUNKS=2 LOOP_B2B=100 LOOP_GAP=20
    N_PY=20 N_JS=10
    TP_RUNS=60 TP_ROUNDS=2 WARMUP=3
else
    N_B2B=300 N_GAP=100
    LOOP_CHUNKS=4 LOOP_B2B=200 LOOP_GAP=25
    N_PY=60 N_JS=30
    TP_RUNS=200 TP_ROUNDS=2 WARMUP=5
fi
GAP_MS=50

TMP=$(mktemp -d /tmp/runbox-bench.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
cd "$TMP" || exit 2 # nothing the bench writes lands in the caller's directory
RES=$TMP/results.tsv
: >"$RES"
printf 'print("Hello")\n' >"$TMP/hello.py"
printf 'console.log("Hello")\n' >"$TMP/hello.js"
chmod 644 "$TMP/hello.py" "$TMP/hello.js"

FAILED=0
T0=$(date +%s.%N)

# What the box gives every program (src/sandbox/box.c default_env), for the bare runs.
BOXENV="HOME=/tmp LANG=C.UTF-8 LC_ALL=C.UTF-8"
PYENV="$BOXENV PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8"
JSENV="$BOXENV NODE_DISABLE_COLORS=1 NO_UPDATE_NOTIFIER=1"
BWRAP_ARGS="--unshare-all --die-with-parent --new-session --ro-bind /usr /usr
  --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin
  --proc /proc --dev /dev --tmpfs /tmp --uid 60000 --gid 60000 --cap-drop ALL"
BWRAP_ARGS=$(echo $BWRAP_ARGS)

# Status 3: a contender failed its check run (printed); anything else non-zero: the timer broke.
timer() { "$PY" "$TIMER" "$@" --out "$RES" || FAILED=1; }

favordynmods() {
    if grep -q ' /sys/fs/cgroup/unified cgroup2 .*favordynmods' /proc/mounts; then
        echo on
    elif grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts; then
        echo off
    else
        echo "n/a (no /sys/fs/cgroup/unified)"
    fi
}

# User CPU time (USER_HZ ticks) of every process on the machine; minus our own children's at
# the end, it says how much foreign work ran during the bench (noise).
user_ticks() { awk '/^cpu / { print $2 + $3 }' /proc/stat; }
# `times` must run in this shell (a $(...) subshell has no reaped children of its own).
children_user_s() { awk 'NR == 2 { split($1, a, /[ms]/); print a[1] * 60 + a[2] }' "$1"; }
TICKS_BEFORE=$(user_ticks)
times >"$TMP/times0"

FDM_BEFORE=$(favordynmods)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== runbox bench$( ((QUICK)) && echo ' (--quick)') =="
echo "command:  bench/run.sh${ARGS:+ $ARGS}"
echo "runbox:   $RUNBOX ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(
    [[ -n $(git -C "$ROOT" status --porcelain -- src meson.build 2>/dev/null) ]] && echo ', src has uncommitted changes'
), built $(date -r "$RUNBOX" '+%F %T'))"
echo "load:     $LOAD_BEFORE (1/5/15 min) before the bench"
if awk -v l="${LOAD_BEFORE%% *}" 'BEGIN { exit !(l > 0.5) }'; then
    echo "          warning: the machine is not idle; expect noisy figures"
fi
echo

# 1. ---------------------------------------------------------------------------------------
echo "== 1. start to exit, back to back: runbox exec vs bare vs bwrap (and unshare, the ns floor) =="
set -- bare "/bin/true" runbox "$RUNBOX exec -- /bin/true"
[[ -n $BWRAP ]] && set -- "$@" bwrap "$BWRAP $BWRAP_ARGS /bin/true"
# The kernel's floor for the same namespaces, with one extra exec like the others: no mounts,
# no cgroups, no seccomp.
[[ -x $UNSHARE ]] && set -- "$@" unshare "$UNSHARE --fork --pid --mount --ipc --uts --net /bin/true"
timer paired --section "1 /bin/true back-to-back" --n "$N_B2B" --warmup "$WARMUP" "$@"
echo

# 2. ---------------------------------------------------------------------------------------
echo "== 2. start to exit, runs arriving ${GAP_MS} ms apart (idle between runs) =="
timer paired --section "2 /bin/true ${GAP_MS}ms apart" --n "$N_GAP" --warmup "$WARMUP" \
    --gap-ms "$GAP_MS" "$@"
echo

# 3. ---------------------------------------------------------------------------------------
echo "== 3. in-process (server-like): build/sbx_loop vs a bare posix_spawn loop =="
echo "  sbx_loop: kept warm as a server would (sbx_host_keep_warm); sbx_loop_cold: SBX_LOOP_COLD=1,"
echo "  every box built from scratch, as in one 'runbox exec'"
BARE_LOOP=
if command -v cc >/dev/null && cc -O2 -o "$TMP/bare_loop" "$ROOT/bench/bare_loop.c" 2>"$TMP/cc.err"; then
    BARE_LOOP=$TMP/bare_loop
else
    echo "  (no C compiler or it failed: the bare in-process line is skipped)"
    cat "$TMP/cc.err" 2>/dev/null | head -5
fi
# Alternate chunks of the two loops; report the median of the chunk medians and p90s.
inproc() { # section n_per_chunk gap_ms
    local section=$1 n=$2 gap=$3 i name out bare_med=
    declare -A meds=() p90s=() fails=()
    local names=(sbx_loop sbx_loop_cold)
    [[ -n $BARE_LOOP ]] && names=(bare_loop sbx_loop sbx_loop_cold)
    for ((i = 0; i < LOOP_CHUNKS; i++)); do
        for name in "${names[@]}"; do
            if [[ $name == sbx_loop ]]; then
                out=$("$SBX_LOOP" "$n" "$gap" /bin/true 2>&1)
            elif [[ $name == sbx_loop_cold ]]; then
                out=$(SBX_LOOP_COLD=1 "$SBX_LOOP" "$n" "$gap" /bin/true 2>&1)
            else
                out=$("$BARE_LOOP" "$n" "$gap" /bin/true 2>&1)
            fi
            if [[ $out =~ median_us\ ([0-9]+)\ p90_us\ ([0-9]+) ]]; then
                meds[$name]+="${BASH_REMATCH[1]} "
                p90s[$name]+="${BASH_REMATCH[2]} "
            else
                fails[$name]=$((${fails[$name]:-0} + 1))
                echo "  !! $name failed: $out" | head -3
            fi
        done
    done
    printf '  %-14s %8s %8s %16s %7s   (ms; %d chunks of %d runs, %s)\n' contender median p90 \
        "+ over bare_loop" ratio "$LOOP_CHUNKS" "$n" "$([[ $gap == 0 ]] && echo 'back to back' || echo "$gap ms apart")"
    for name in "${names[@]}"; do
        [[ -z ${meds[$name]:-} ]] && { FAILED=1; continue; }
        local med p90
        med=$(tr ' ' '\n' <<<"${meds[$name]}" | sort -n | awk 'NF { a[n++] = $1 } END { print (n % 2 ? a[int(n/2)] : (a[n/2-1] + a[n/2]) / 2) / 1000 }')
        p90=$(tr ' ' '\n' <<<"${p90s[$name]}" | sort -n | awk 'NF { a[n++] = $1 } END { print (n % 2 ? a[int(n/2)] : (a[n/2-1] + a[n/2]) / 2) / 1000 }')
        [[ $name == bare_loop ]] && bare_med=$med
        local plus=0 ratio=1
        if [[ -n $bare_med && $name != bare_loop ]]; then
            plus=$(awk -v a="$med" -v b="$bare_med" 'BEGIN { printf "%.4f", a - b }')
            ratio=$(awk -v a="$med" -v b="$bare_med" 'BEGIN { printf "%.4f", a / b }')
        fi
        awk -v n="$name" -v m="$med" -v p="$p90" -v d="$plus" -v r="$ratio" -v b="$bare_med" \
            'BEGIN { printf "  %-14s %8.3f %8.3f %+16.3f %6.2fx\n", n, m, p, (b == "" ? 0 : d), r }'
        printf 'inproc\t%s\t%s\t%d\t%s\t-\t%s\t%s\t-\t-\t%s\t%d\t%s\t%s\n' "$section" "$name" \
            $((n * LOOP_CHUNKS)) "$med" "$p90" "$plus" "$ratio" "${fails[$name]:-0}" \
            "${bare_med:+bare_loop}" "$(case $name in sbx_loop) echo "$SBX_LOOP N GAP /bin/true" ;; sbx_loop_cold) echo "SBX_LOOP_COLD=1 $SBX_LOOP N GAP /bin/true" ;; *) echo "bench/bare_loop.c N GAP /bin/true" ;; esac)" >>"$RES"
    done
}
inproc "3 in-process back-to-back" "$LOOP_B2B" 0
inproc "3 in-process ${GAP_MS}ms apart" "$LOOP_GAP" "$GAP_MS"
echo "  sbx_loop setup (sbx_host_new, once): $("$SBX_LOOP" 1 0 /bin/true | awk '{ printf "%.2f ms", $2 / 1000 }')"
echo

# 4. ---------------------------------------------------------------------------------------
echo "== 4. a real program: runbox run hello.py / hello.js vs the interpreter =="
timer paired --section "4 hello.py" --n "$N_PY" --warmup "$WARMUP" --expect Hello \
    python3 "$PYENV $PY -u $TMP/hello.py" "runbox run .py" "$RUNBOX run $TMP/hello.py"
echo
if [[ -x $NODE ]]; then
    timer paired --section "4 hello.js" --n "$N_JS" --warmup 2 --expect Hello \
        node "$JSENV $NODE $TMP/hello.js" "runbox run .js" "$RUNBOX run $TMP/hello.js"
else
    echo "  (no $NODE: hello.js skipped)"
fi
echo

# 5. ---------------------------------------------------------------------------------------
echo "== 5. throughput with every core busy ($(nproc) CPUs): runs/s of K parallel loops =="
for k in 2 4; do
    timer throughput --section "5 python -c pass, K=$k" --k "$k" --runs "$TP_RUNS" \
        --rounds "$TP_ROUNDS" \
        "python3 -c pass" "$BOXENV $PY -c pass" \
        "runbox exec python3" "$RUNBOX exec -- $PY -c pass"
    timer throughput --section "5 hello.py, K=$k" --k "$k" --runs "$TP_RUNS" \
        --rounds "$TP_ROUNDS" --expect Hello \
        "python3 hello.py" "$PYENV $PY -u $TMP/hello.py" \
        "runbox run hello.py" "$RUNBOX run $TMP/hello.py"
    echo
done

echo "== 6. throughput in one process per core (server-like workers): K loops of sbx_loop vs bare_loop =="
# What runbox serve's workers will see: no runbox exec per run, namespaces prepared ahead.
inproc_tp() { # K RUNS CMD...: runs/s of K parallel loops of RUNS runs each
    local k=$1 runs=$2 t0 t1 i; shift 2
    t0=$(date +%s.%N)
    for ((i = 0; i < k; i++)); do "$@" "$runs" 0 $PY -c pass >/dev/null & done
    wait
    t1=$(date +%s.%N)
    awk -v n=$((k * runs)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
TP6_RUNS=$(((QUICK)) && echo 30 || echo 100)
for k in 2; do
    [[ -n $BARE_LOOP ]] || break
    inproc_tp "$k" 5 "$BARE_LOOP" >/dev/null # warm the page cache for both
    inproc_tp "$k" 5 "$SBX_LOOP" >/dev/null
    bare6=$(inproc_tp "$k" "$TP6_RUNS" "$BARE_LOOP")
    sbx6=$(inproc_tp "$k" "$TP6_RUNS" "$SBX_LOOP")
    bare6b=$(inproc_tp "$k" "$TP6_RUNS" "$BARE_LOOP")
    sbx6b=$(inproc_tp "$k" "$TP6_RUNS" "$SBX_LOOP")
    awk -v k="$k" -v b1="$bare6" -v s1="$sbx6" -v b2="$bare6b" -v s2="$sbx6b" 'BEGIN {
        b = (b1 + b2) / 2; s = (s1 + s2) / 2
        printf "  K=%d python3 -c pass: bare_loop %.1f/s, sbx_loop %.1f/s: %.2fx (two alternating rounds)\n", k, b, s, s / b }'
done
echo

# 7. ---------------------------------------------------------------------------------------
echo "== 7. the HTTP service: bench/serve.sh (execute hello.py through runbox serve vs bare python3) =="
if ((QUICK)); then
    export SERVE_REQUESTS=${SERVE_REQUESTS:-300} SERVE_BARE_RUNS=${SERVE_BARE_RUNS:-150}
    export SERVE_MEMORY_REQUESTS=${SERVE_MEMORY_REQUESTS:-1000}
fi
RUNBOX_BUILD=$BUILD "$ROOT/bench/serve.sh" 2>&1 | sed 's/^/  /' || FAILED=1
echo

# 8. ---------------------------------------------------------------------------------------
echo "== 8. the compile cache: bench/cache.sh (a Rust exercise's test run, cold vs cached) =="
QUICK_ARG=(); ((QUICK)) && QUICK_ARG=(--quick)
RUNBOX_BUILD=$BUILD "$ROOT/bench/cache.sh" "${QUICK_ARG[@]}" 2>&1 | sed 's/^/  /' || FAILED=1
echo

# 9. ---------------------------------------------------------------------------------------
echo "== 9. the browser page: bench/web.sh (Run to output, on the server and in the browser) =="
if [ -d "$ROOT/web/dist" ] && [ -x /usr/bin/chromium ]; then
    RUNBOX_BUILD=$BUILD BENCH_N=$([ -n "${QUICK_ARG[*]}" ] && echo 5 || echo 15) \
        "$ROOT/bench/web.sh" 2>&1 | sed 's/^/  /' || FAILED=1
else
    echo "  skipped: needs web/dist (bash web/build.sh) and /usr/bin/chromium"
fi
echo

# 10. --------------------------------------------------------------------------------------
echo "== 10. images: bench/images.sh (hello.py and a course test on an image, on Docker, on the host) =="
RUNBOX_BUILD=$BUILD "$ROOT/bench/images.sh" "${QUICK_ARG[@]}" 2>&1 | sed 's/^/  /' || FAILED=1
echo

# Summary ----------------------------------------------------------------------------------
T1=$(date +%s.%N)
times >"$TMP/times1"
FOREIGN=$(awk -v t0="$TICKS_BEFORE" -v t1="$(user_ticks)" -v c0="$(children_user_s "$TMP/times0")" \
    -v c1="$(children_user_s "$TMP/times1")" -v hz="$(getconf CLK_TCK)" -v w0="$T0" -v w1="$T1" \
    'BEGIN { f = (t1 - t0) / hz - (c1 - c0); if (f < 0) f = 0
             busy = f / (w1 - w0) > 0.05
             printf "%.1f CPU-s of user time (%.0f%% of one CPU)%s", f, 100 * f / (w1 - w0),
                 (busy ? ": other work competed; figures are noisy" : "") }')
echo "== summary =="
"$PY" "$TIMER" summary "$RES"
echo
echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kernel:   $(uname -srm)"
"$RUNBOX" doctor 2>/dev/null | sed -n '/^cgroups:/,/^seccomp:/p' | sed '$d' | sed 's/^/          /'
echo "favordynmods on /sys/fs/cgroup/unified: $FDM_BEFORE before the bench, $(favordynmods) after"
echo "          ($(grep ' /sys/fs/cgroup/unified ' /proc/mounts || echo 'not mounted'))"
echo "versions: $("$PY" --version 2>&1), node $("$NODE" --version 2>/dev/null || echo absent), $("${BWRAP:-false}" --version 2>/dev/null || echo 'bwrap absent')"
echo "notes:    bwrap here = namespaces + mounts + uid/caps only (no cgroups, seccomp or rlimits);"
echo "          unshare = util-linux unshare -f with runbox's namespaces, nothing else (the floor);"
echo "          runbox = the same plus v2 (+v1 memory/pids) cgroups per run, seccomp, rlimits,"
echo "          a generated /etc and lo up. '+ms' = median of the per-round paired differences"
echo "          (sections 1, 2, 4) or difference of medians (3). Ratios are of medians."
echo "load:     $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "others:   processes outside the bench used $FOREIGN"
echo "command:  bench/run.sh${ARGS:+ $ARGS}   (took $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.0f", b - a }') s)"
exit $((FAILED ? 1 : 0))
