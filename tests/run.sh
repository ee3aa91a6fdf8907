#!/usr/bin/env bash
# Runs every test: the unit tests and the integration scripts, against one build directory
# (default build/, or $1), then prints "N passed, N failed". Each script runs in its own process
# under a timeout; its TAP lines are counted.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
export RUNBOX=$BUILD/runbox
cd "$ROOT"
passed=0
failed=0
log=$(mktemp /tmp/runbox-tests.XXXXXX)

count() { # count TAP lines of the file $1 (ok / not ok), and any crash of the script itself
    local p f
    p=$(grep -c '^ok ' "$1")
    f=$(grep -c '^not ok ' "$1")
    passed=$((passed + p))
    failed=$((failed + f))
}

run_one() { # NAME TIMEOUT CMD...
    local name=$1 limit=$2; shift 2
    echo "== $name"
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    count "$log"
    if [ $rc != 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "not ok - $name exited with status $rc"
        failed=$((failed + 1))
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    # cmocka prints TAP with CMOCKA_MESSAGE_OUTPUT=TAP.
    CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit $(basename "$t")" 120 "$t"
done
for t in tests/integration/[0-9]*.sh; do
    run_one "$(basename "$t")" 900 bash "$t"
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
