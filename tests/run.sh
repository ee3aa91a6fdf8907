#!/usr/bin/env bash
# Runs every test: the unit tests and the integration scripts, against one build directory
# (default build/, or $1), then prints "N passed, N failed". Each script runs in its own process
# under a timeout; its TAP lines are counted. The unit tests get a PostgreSQL of their own
# (RUNBOX_TEST_PG_URL, for test_store's runs on PostgreSQL), stopped before the integration
# scripts, which start their own; one that does not start is a failure, never a skip.
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

CHILD=""
run_one() { # NAME TIMEOUT CMD...
    local name=$1 limit=$2 rc; shift 2
    echo "== $name"
    # In the background and waited for: bash runs a trap only once a foreground command has
    # ended, and timeout's own process group does not get a terminal's ^C, so an interrupt
    # would wait for the test. The EXIT trap stops it instead (stop_child).
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null &
    CHILD=$!
    wait "$CHILD"
    rc=$?
    CHILD=""
    cat "$log"
    count "$log"
    if [ $rc != 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "not ok - $name exited with status $rc"
        failed=$((failed + 1))
    fi
}

# pg_helper FUNCTION ARGS...: a PostgreSQL helper of tests/lib.sh (pg_start, pg_stop), in a
# shell of its own, so that lib.sh's temp dir and traps stay out of this script.
pg_helper() {
    bash -c '. "$0/tests/lib.sh" && "$@"' "$ROOT" "$@"
}

PG_DIR=""
pg_up() {
    local url reason
    # The postmaster runs as the user postgres, who must traverse the dir (lib.sh).
    PG_DIR=$(mktemp -d /tmp/runbox-unit-pg.XXXXXX) && chmod 755 "$PG_DIR" || {
        echo "not ok - postgresql did not start: cannot make a temp dir"
        failed=$((failed + 1))
        return
    }
    if url=$(pg_helper pg_start "$PG_DIR/pg" 2>"$PG_DIR/err"); then
        export RUNBOX_TEST_PG_URL=$url
        echo "# unit tests: PostgreSQL at $url"
    else
        reason=$(tr '\n' ' ' <"$PG_DIR/err" | sed 's/ *$//')
        echo "not ok - postgresql did not start: ${reason:-pg_start failed}"
        failed=$((failed + 1))
    fi
}
pg_down() {
    [ -n "$PG_DIR" ] || return 0
    pg_helper pg_stop "$PG_DIR/pg"
    rm -rf "$PG_DIR"
    PG_DIR=""
    unset RUNBOX_TEST_PG_URL
}
stop_child() {
    [ -n "$CHILD" ] || return 0
    kill -TERM "$CHILD" 2>/dev/null # timeout passes it on, and kills after 10 s
    wait "$CHILD" 2>/dev/null
    CHILD=""
}
trap 'stop_child; pg_down; rm -f "$log"' EXIT
trap 'exit 130' INT TERM

pg_up
for t in "$BUILD"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    # cmocka prints TAP with CMOCKA_MESSAGE_OUTPUT=TAP.
    CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit $(basename "$t")" 120 "$t"
done
pg_down
for t in tests/integration/[0-9]*.sh; do
    run_one "$(basename "$t")" 900 bash "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
