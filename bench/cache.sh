#!/usr/bin/env bash
# Compile cache benchmark: one Rust exercise's test run (runbox test --lang rust), cold (an
# empty cache dir each run: rustc --test runs) vs cached (a warm dir: the compiled test binary
# comes from the cache, only the tests run), reported as medians and their ratio.
#
#   bench/cache.sh            full run (about 1 minute)
#   bench/cache.sh --quick    fewer runs (about 20 seconds)
#
# Needs root (runbox does), python3, the built tree (ninja -C build) and rustc where the rust
# language file points. Uses hyperfine when it is installed, otherwise a loop timed with
# date +%s%N. Environment: RUNBOX_BUILD=DIR (default: <repo>/build).
# The exercise is bench/data/rust-exercise/ (tests.rs is the crate root, solution.rs the
# student's file). Before timing, one check run of each kind must pass its tests and report
# compile.cached false (cold) and true (cached).
# This is a benchmark, not a test: it asserts nothing else. It exits 1 when a check run fails
# (its output is printed), 2 on a usage or setup error.
set -u -o pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

ARGS=$*
QUICK=0
for arg in "$@"; do
    case $arg in
    --quick) QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/cache.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RUNBOX_BUILD:-$ROOT/build}
[[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) # the bench runs from a temp dir
RUNBOX=$BUILD/runbox
PY=/usr/bin/python3
DATA=$ROOT/bench/data/rust-exercise
HYPERFINE=$(command -v hyperfine || true)

if [[ $(id -u) != 0 ]]; then
    echo "bench/cache.sh: runbox needs root; run as root" >&2
    exit 2
fi
for f in "$RUNBOX" "$PY"; do
    if [[ ! -x $f ]]; then
        echo "bench/cache.sh: $f is missing (build with: ninja -C $BUILD)" >&2
        exit 2
    fi
done
for f in "$DATA/tests.rs" "$DATA/solution.rs"; do
    [[ -f $f ]] || { echo "bench/cache.sh: $f is missing" >&2; exit 2; }
done

if ((QUICK)); then
    N_COLD=3 N_CACHED=10
else
    N_COLD=10 N_CACHED=30
fi

TMP=$(mktemp -d /tmp/runbox-bench-cache.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
cd "$TMP" || exit 2 # nothing the bench writes lands in the caller's directory
cp "$DATA/tests.rs" "$DATA/solution.rs" "$TMP/"
chmod 644 "$TMP/tests.rs" "$TMP/solution.rs"
COLD=$TMP/cache-cold
WARM=$TMP/cache-warm
# The command both contenders run; only the cache dir differs.
run_test() { "$RUNBOX" test --json --lang rust --tests "$TMP/tests.rs" "$TMP/solution.rs" --cache "$1"; }
cmd() { echo "$RUNBOX test --json --lang rust --tests $TMP/tests.rs $TMP/solution.rs --cache $1"; }

echo "== runbox compile cache bench$( ((QUICK)) && echo ' (--quick)') =="
echo "command:  bench/cache.sh${ARGS:+ $ARGS}"
echo "runbox:   $RUNBOX ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -r "$RUNBOX" '+%F %T'))"
echo "rustc:    $(/usr/bin/rustc --version 2>/dev/null || echo '?') (/usr/bin/rustc, languages/rust.json)"
echo "timer:    ${HYPERFINE:-date +%s%N loop}"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) before the bench"
echo

# One run; checks that the tests passed and whether the compile came from the cache.
check() { # label cache_dir want_cached
    local out
    out=$(run_test "$2" 2>&1)
    if ! "$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
want = sys.argv[2] == "true"
ok = d.get("status") == "success" and d.get("tests", {}).get("status") == "pass"
cached = d.get("compile", {}).get("cached")
sys.exit(0 if ok and cached == want else 1)' "$out" "$3" 2>/dev/null; then
        echo "  !! $1 check run failed (want tests passing, compile.cached $3):"
        echo "$out" | head -c 3000 | sed 's/^/     /'
        echo
        return 1
    fi
}

rm -rf "$COLD" "$WARM"
check cold "$COLD" false || exit 1
rm -rf "$COLD"
check "cache fill" "$WARM" false || exit 1
check cached "$WARM" true || exit 1

# Prints the median, min and max in ms of runs of @2 (a prepare command run before each, @3).
loop_times() { # n command prepare
    local n=$1 i t0 t1
    for ((i = 0; i < n; i++)); do
        [[ -n $3 ]] && eval "$3"
        t0=$(date +%s%N)
        $2 >/dev/null 2>&1
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
    done | sort -n | awk '{ a[n++] = $1 } END {
        m = n % 2 ? a[int(n/2)] : (a[n/2-1] + a[n/2]) / 2
        printf "%.1f %.1f %.1f\n", m / 1000, a[0] / 1000, a[n-1] / 1000 }'
}

hyperfine_times() { # n command prepare
    local json=$TMP/hf.json
    "$HYPERFINE" -N --style none --runs "$1" ${3:+--prepare "$3"} --export-json "$json" "$2" \
        >/dev/null 2>&1 || return 1
    "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.1f %.1f %.1f" % (r["median"] * 1000, r["min"] * 1000, r["max"] * 1000))' "$json"
}

time_runs() {
    if [[ -n $HYPERFINE ]]; then
        hyperfine_times "$@"
    else
        loop_times "$@"
    fi
}

echo "== runbox test --lang rust (4 tests): cold vs cached compile =="
cold=$(time_runs "$N_COLD" "$(cmd "$COLD")" "rm -rf $COLD") || { echo "  !! cold timing failed"; exit 1; }
cached=$(time_runs "$N_CACHED" "$(cmd "$WARM")" "") || { echo "  !! cached timing failed"; exit 1; }
read -r cold_med cold_min cold_max <<<"$cold"
read -r cached_med cached_min cached_max <<<"$cached"
printf '  %-8s %10s %10s %10s %6s\n' "" "median ms" "min ms" "max ms" runs
printf '  %-8s %10s %10s %10s %6d\n' cold "$cold_med" "$cold_min" "$cold_max" "$N_COLD"
printf '  %-8s %10s %10s %10s %6d\n' cached "$cached_med" "$cached_min" "$cached_max" "$N_CACHED"
awk -v c="$cold_med" -v w="$cached_med" 'BEGIN {
    printf "  ratio:   cached is %.1fx faster (%.0f ms saved per run)\n", c / w, c - w }'
echo "  cache:   $(du -sh "$WARM" | cut -f1) in $WARM after the runs"
echo
echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "notes:    cold = a fresh empty --cache dir per run (rustc --test compiles the crate);"
echo "          cached = one warm dir (the compile stage's files come from the cache, only the"
echo "          test binary runs). Both include runbox's start and the box for the test run."
exit 0
