# Shared helpers for the integration tests (TAP). Source it; then call plan/ok/... .
# RUNBOX is the binary under test (tests/run.sh sets it; defaults to build/runbox).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNBOX=${RUNBOX:-$ROOT/build/runbox}
PROGS=$ROOT/tests/programs
T_NUM=0
T_FAILED=0
TMP=$(mktemp -d /tmp/runbox-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ok CONDITION_EXIT_CODE NAME: print a TAP line.
tap() {
    local rc=$1; shift
    T_NUM=$((T_NUM + 1))
    if [ "$rc" = 0 ]; then
        echo "ok $T_NUM - $*"
    else
        echo "not ok $T_NUM - $*"
        T_FAILED=$((T_FAILED + 1))
    fi
    return "$rc" # so that `tap $? NAME || diag ...` prints the diagnostic
}

# skip NAME REASON: a skip, which is a failure when SBX_MUST_WORK=1.
skip() {
    T_NUM=$((T_NUM + 1))
    if [ "${SBX_MUST_WORK:-0}" = 1 ]; then
        echo "not ok $T_NUM - $1 # SBX_MUST_WORK set, but: $2"
        T_FAILED=$((T_FAILED + 1))
    else
        echo "ok $T_NUM - $1 # SKIP $2"
    fi
}

diag() { sed 's/^/# /' <<<"$*"; }

# field JSON_FILE KEY...: print a field of a JSON object (nested keys allowed) with jq.
field() {
    local f=$1; shift
    local path=""
    for k in "$@"; do path="$path.$k"; done
    jq -r "$path" <"$f"
}

# expect NAME JSON_FILE KEY EXPECTED: check one field, with a diagnostic on failure.
expect() {
    local name=$1 f=$2 key=$3 want=$4 got
    got=$(jq -r ".$key" <"$f" 2>/dev/null)
    if [ "$got" = "$want" ]; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "expected $key=$want, got $key=$got"
        diag "$(head -c 1500 "$f")"
    fi
}

# rb_run OUT_JSON [runbox run args...]: runbox run --json, result into OUT_JSON, rc in RB_RC.
rb_run() {
    local out=$1; shift
    "$RUNBOX" run --json "$@" >"$out" 2>"$out.err" </dev/null
    RB_RC=$?
}

# rb_exec OUT_JSON [runbox exec args...]
rb_exec() {
    local out=$1; shift
    "$RUNBOX" exec --json "$@" >"$out" 2>"$out.err" </dev/null
    RB_RC=$?
}

done_testing() {
    echo "1..$T_NUM"
    [ "$T_FAILED" = 0 ]
}
