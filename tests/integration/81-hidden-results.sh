#!/usr/bin/env bash
# Hidden tests stay hidden in results (issue 18, item 3), and every test the instructor wrote
# runs and is counted (item 5). A failing submission to a pytest and a C course exercise through
# `runbox serve`: the result, the event stream and the history entry hold each test's name,
# status and assertion message ("assert 6 == 5", "expected 5, got 6") and no line of the hidden
# test file; a course with "show_test_code" shows it. Rust: every test file is compiled, #[ignore]d
# tests run (or are reported skipped with "ignored": "skip"), "optimize" builds with -O.
. "$(dirname "$0")/../lib.sh"

need_tools "hidden test results" curl jq python3
DATA=$TMP/data

# course DIR LANG EXTRA_JSON: an empty course with one exercise "ex" (files added after)
course() {
    mkdir -p "$1/exercises/ex/tests"
    echo "{\"name\": \"$(basename "$1")\", \"language\": \"$2\"$3}" >"$1/course.json"
    echo "# Ex" >"$1/exercises/ex/README.md"
}

course "$TMP/pyhid" python ""
cat >"$TMP/pyhid/exercises/ex/tests/test_add.py" <<'EOF'
from solution import add


def test_add_small():
    expected_total = 5
    assert add(2, 3) == expected_total


def test_add_zero():
    assert add(0, 0) == 0, "adding zeros"


def test_nothing_secret():
    hidden_marker_value = 40 + 2
    assert hidden_marker_value == 42
EOF
cp -r "$TMP/pyhid" "$TMP/pyshow"
echo '{"name": "pyshow", "language": "python", "show_test_code": true}' >"$TMP/pyshow/course.json"
PY_STUDENT='def add(a, b):
    print("student says hi")
    return a + b + 1
'
course "$TMP/chid" c ""
cat >"$TMP/chid/exercises/ex/tests/test_add.c" <<'EOF'
#include "runbox_test.h"
int add(int a, int b);

TEST(add_small) {
    ASSERT_EQ_INT(5, add(2, 3));
}

TEST(add_true) {
    ASSERT(add(0, 0) == 0);
}
EOF
C_STUDENT='#include <stdio.h>
int add(int a, int b) { printf("student says hi\n"); return a + b + 1; }
'

"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin" || diag "$(cat "$TMP/e")"
srv_start_or_end "the server starts with the courses" "$DATA" --workers 2 \
    --courses "$TMP/pyhid" --courses "$TMP/pyshow" --courses "$TMP/chid"
SRV_TOKEN=$(srv_login admin password123)

# leaks TEXT_FILE TEST_FILE: print the non-trivial lines (8 characters or more once trimmed) of
# TEST_FILE found in TEXT_FILE; nothing when none is.
leaks() {
    local line
    while IFS= read -r line; do
        line=$(sed 's/^[[:space:]]*//; s/[[:space:];{]*$//' <<<"$line")
        [ ${#line} -ge 8 ] || continue
        grep -qF -- "$line" "$1" && echo "$line"
    done <"$2"
}
# strings JSON_FILE: every string in it, decoded, one per line (what a client reads)
strings() { jq -r '.. | strings' "$1" 2>/dev/null; }

# hidden NAME COURSE TESTFILE STUDENT_FILE CODE MESSAGE0: a failing run of COURSE's exercise,
# synchronous and streamed; the result, the stream and the history hold no line of TESTFILE,
# and test 0's message is MESSAGE0.
hidden() {
    local name=$1 cid=$2 tf=$3 sf=$4 code=$5 msg=$6 body id l
    body=$(jq -nc --arg n "$sf" --arg c "$code" '{files: [{name: $n, content: $c}]}')
    api_json POST "/api/v1/courses/$cid/exercises/ex/test" "$body"
    api_check "$name: the failing run's result" 200 \
        ".status == \"test_failure\" and .tests.failed >= 1 and .tests.tests[0].message == \"$msg\"
         and all(.tests.tests[]; has(\"test_code\") | not)"
    strings "$R" >"$TMP/text"
    l=$(leaks "$TMP/text" "$tf")
    [ -z "$l" ]
    tap $? "$name: the result holds no line of the hidden test file" || diag "$l"
    id=$(jq -r .id "$R")
    api GET "/api/v1/code/history/$id"
    jq .result "$R" >"$TMP/hist.json" # (.request holds the student's own files)
    strings "$TMP/hist.json" >"$TMP/text"
    l=$(leaks "$TMP/text" "$tf")
    [ "$CODE" = 200 ] && [ -z "$l" ] && grep -qF "$msg" "$TMP/text"
    tap $? "$name: the history entry holds the message and no line of the hidden test file" ||
        diag "HTTP $CODE: $l"
    api_json POST "/api/v1/courses/$cid/exercises/ex/test?wait=false" "$body"
    id=$(jq -r .id "$R")
    curl -sS -N --max-time 60 -H "Authorization: Bearer $SRV_TOKEN" \
        "$SRV_URL/api/v1/code/runs/$id/events" >"$TMP/sse" 2>&1
    sed -n 's/^data: //p' "$TMP/sse" | jq -r '.. | strings' >"$TMP/text" 2>/dev/null
    l=$(leaks "$TMP/text" "$tf")
    grep -q '^event: result' "$TMP/sse" && [ -z "$l" ] && grep -qF "$msg" "$TMP/text"
    tap $? "$name: the event stream holds the message and no line of the hidden test file" ||
        diag "$l $(head -c 1500 "$TMP/sse")"
}

hidden "pytest" pyhid "$TMP/pyhid/exercises/ex/tests/test_add.py" solution.py "$PY_STUDENT" \
    "assert 6 == 5"
api_json POST "/api/v1/courses/pyhid/exercises/ex/test" \
    "$(jq -nc --arg c "$PY_STUDENT" '{files: [{name: "solution.py", content: $c}]}')"
api_check "pytest: the assertion's own message, and what the student printed" 200 \
    '.tests.tests[1].message == "AssertionError: adding zeros\nassert 1 == 0"
     and .tests.tests[0].output == "student says hi" and (.output | test("FAILURES") | not)'
if "$RUNBOX" languages --json | jq -e '.[] | select(.name == "c") | .installed' >/dev/null; then
    hidden "C" chid "$TMP/chid/exercises/ex/tests/test_add.c" add.c "$C_STUDENT" \
        "expected 5, got 6"
else
    skip "C hidden results" "gcc is not installed"
fi

api_json POST "/api/v1/courses/pyshow/exercises/ex/test" \
    "$(jq -nc --arg c "$PY_STUDENT" '{files: [{name: "solution.py", content: $c}]}')"
api_check "show_test_code: the course shows its tests' code and tracebacks" 200 \
    '(.tests.tests[0].test_code | test("expected_total")) and (.tests.tests[0].message | test("where"))'

# The command line hides them too.
printf '%s' "$PY_STUDENT" >"$TMP/solution.py"
"$RUNBOX" test --json --course "$TMP/pyhid" --exercise ex "$TMP/solution.py" >"$TMP/cli.json" 2>&1
strings "$TMP/cli.json" >"$TMP/text"
l=$(leaks "$TMP/text" "$TMP/pyhid/exercises/ex/tests/test_add.py")
jq -e '.tests.tests[0].message == "assert 6 == 5"' "$TMP/cli.json" >/dev/null && [ -z "$l" ]
tap $? "runbox test --course: the message, no line of the hidden test file" ||
    diag "$l $(head -c 1500 "$TMP/cli.json")"

# ---- Rust: every test file, ignored tests, optimised builds ----
if ! "$RUNBOX" languages --json | jq -e '.[] | select(.name == "rust") | .installed' >/dev/null; then
    skip "rust: every test counts" "rustc is not installed"
    done_testing
    exit
fi
course "$TMP/rs" rust ""
cat >"$TMP/rs/exercises/ex/tests/test_a.rs" <<'EOF'
mod solution;
use solution::*;

#[test]
fn a_plain() {
    assert_eq!(add(1, 2), 3);
}

#[test]
#[ignore]
fn a_ignored_one() {
    assert_eq!(add(2, 2), 4);
}

#[test]
#[ignore]
fn a_ignored_two() {
    assert_eq!(add(3, 2), 5);
}
EOF
cat >"$TMP/rs/exercises/ex/tests/test_b.rs" <<'EOF'
#[test]
fn b_built_optimised() {
    assert!(!cfg!(debug_assertions), "built without optimisation");
}
EOF
printf 'pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n' >"$TMP/solution.rs"
"$RUNBOX" test --json --no-cache --course "$TMP/rs" --exercise ex "$TMP/solution.rs" >"$TMP/rs.json" 2>&1
jq -e '.tests.passed == 3 and .tests.failed == 1 and (.tests.tests | length) == 4
       and ([.tests.tests[].name] | index("b_built_optimised")) != null' "$TMP/rs.json" >/dev/null
tap $? "rust: both test files compiled, the 2 ignored tests run (3 passed, 1 failed unoptimised)" ||
    diag "$(jq -c .tests "$TMP/rs.json" 2>/dev/null || head -c 1500 "$TMP/rs.json")"
echo '{"name": "rs", "language": "rust", "ignored": "skip", "optimize": true}' >"$TMP/rs/course.json"
"$RUNBOX" test --json --no-cache --course "$TMP/rs" --exercise ex "$TMP/solution.rs" >"$TMP/rs.json" 2>&1
jq -e '.status == "success" and .tests.passed == 2 and .tests.skipped == 2 and (.tests.tests | length) == 4
       and ([.tests.tests[] | select(.status == "skip") | .name] | sort) == ["a_ignored_one", "a_ignored_two"]' \
    "$TMP/rs.json" >/dev/null
tap $? "rust: \"ignored\": \"skip\" reports them skipped; \"optimize\" builds with -O" ||
    diag "$(jq -c .tests "$TMP/rs.json" 2>/dev/null || head -c 1500 "$TMP/rs.json")"
echo '{"name": "rs", "language": "rust", "ignored": "maybe"}' >"$TMP/rs/course.json"
"$RUNBOX" course validate "$TMP/rs" >"$TMP/v.out" 2>&1
[ $? != 0 ] && grep -q 'ignored: must be "run"' "$TMP/v.out"
tap $? "a bad \"ignored\" is refused naming the key" || diag "$(cat "$TMP/v.out")"

done_testing
