#!/usr/bin/env bash
# Test mode (runbox test): every seed suite under tests/programs/<lang>/tests/<case>/ runs through
# its language's test framework in the sandbox, and the per-test results come out right.
# (In-process mode: these check what each framework reports from one box; judge mode, the
# default, is 81-judge.sh.)
#
# A case directory holds the student's files, the test files, a file "expect" with one line
# "STATUS [PASSED FAILED ERRORS]" and optionally a file "framework" naming a framework other than
# the language's default. Test files are told apart by name: test_*, *_test.*, *.test.*, *Test.*,
# *.spec.* and tests.* (the conventions in languages/README.md); every other file is the
# student's. A directory "tests" in the case holds test files under their relative names
# (test-framework/unity.c), and a file "tests-also" names more such directories (one a line,
# relative to the case: a fixture several cases share). LANGS="ruby php" limits the seed suites to
# those languages.
. "$(dirname "$0")/../lib.sh"

installed() { # LANG: the toolchain is there
    "$RUNBOX" languages --json | jq -e ".[] | select(.name==\"$1\") | .installed" >/dev/null
}

is_test_file() {
    case "$1" in
    test_* | *_test.* | *.test.* | *Test.* | *.spec.* | tests.*) return 0 ;;
    esac
    return 1
}

# rb_test OUT_JSON [runbox test args...]: runbox test --json, result into OUT_JSON, rc in RB_RC.
rb_test() {
    local out=$1; shift
    "$RUNBOX" test --json --in-process "$@" >"$out" 2>"$out.err" </dev/null
    RB_RC=$?
}

for dir in "$PROGS"/*/tests/*/; do
    dir=${dir%/}
    [ -f "$dir/expect" ] || continue
    lang=$(basename "$(dirname "$(dirname "$dir")")")
    name="$lang/$(basename "$dir")"
    if [ -n "${LANGS:-}" ] && ! grep -qw -- "$lang" <<<"$LANGS"; then
        continue
    fi
    if ! installed "$lang"; then
        skip "$name" "toolchain not installed"
        continue
    fi
    read -r want_status want_passed want_failed want_errors <"$dir/expect"
    args=(--lang "$lang")
    if [ -f "$dir/framework" ]; then
        fw=$(cat "$dir/framework")
        args+=(--framework "$fw") && name="$name ($fw)"
        if ! "$RUNBOX" languages --json |
            jq -e ".[] | select(.name==\"$lang\") | .test_frameworks[] | select(.name==\"$fw\") | .available" >/dev/null; then
            skip "$name" "framework not installed"
            continue
        fi
    fi
    students=()
    [ -d "$dir/tests" ] && args+=(--tests "$dir/tests")
    if [ -f "$dir/tests-also" ]; then
        while read -r also; do args+=(--tests "$dir/$also"); done <"$dir/tests-also"
    fi
    for f in "$dir"/*; do
        b=$(basename "$f")
        case $b in expect | framework | tests-also | tests) continue ;; esac
        if is_test_file "$b"; then args+=(--tests "$f"); else students+=("$f"); fi
    done
    out=$TMP/test.json
    rb_test "$out" "${args[@]}" "${students[@]}"
    if ! jq -e . "$out" >/dev/null 2>&1; then
        tap 1 "$name: runbox test --json prints a JSON result"
        diag "rc=$RB_RC $(head -c 1500 "$out") $(head -c 1500 "$out.err")"
        continue
    fi
    expect "$name: status is $want_status" "$out" status "$want_status"

    case $want_status in
    success) [ "$RB_RC" = 0 ] ;;
    test_failure) [ "$RB_RC" = 1 ] ;;
    compile_error) [ "$RB_RC" != 0 ] && [ "$RB_RC" != 125 ] ;; # the compiler's own code
    *) [ "$RB_RC" != 0 ] && [ "$RB_RC" != 1 ] && [ "$RB_RC" != 125 ] ;;
    esac
    tap $? "$name: the exit code fits $want_status" || diag "rc=$RB_RC"

    if [ "$want_status" = compile_error ]; then
        jq -e '(.compile.error + .compile.output | length) > 0 and ((.tests.tests // []) | length) == 0' \
            "$out" >/dev/null
        tap $? "$name: the compiler's diagnostics are reported, no test ran" ||
            diag "$(head -c 1500 "$out")"
        continue
    fi

    if [ -n "${want_passed:-}" ]; then
        got=$(jq -r '"\(.tests.passed) \(.tests.failed) \(.tests.errors)"' "$out")
        [ "$got" = "$want_passed $want_failed $want_errors" ]
        tap $? "$name: passed/failed/errors are $want_passed/$want_failed/$want_errors" ||
            diag "got $got: $(jq -c '[.tests.tests[] | {name, status}]' "$out")"
        jq -e --argjson n "$((want_passed + want_failed + want_errors))" \
            '.tests.tests | length == $n' "$out" >/dev/null
        tap $? "$name: every test is listed once" || diag "$(jq -c '.tests' "$out" | head -c 1500)"
    fi

    jq -e '[.tests.tests[] | select(.status != "pass") | .message // "" | length > 0] | all' \
        "$out" >/dev/null
    tap $? "$name: each test that did not pass says why" ||
        diag "$(jq -c '[.tests.tests[] | select(.status != "pass")]' "$out" | head -c 1500)"

    case $want_status in
    timeout | memory_limit)
        jq -e '.tests.running | type == "string" and length > 0' "$out" >/dev/null
        tap $? "$name: the test that was running is named" || diag "$(jq -c '.tests' "$out")"
        jq -e '.tests.running as $r | [.tests.tests[] | select(.name == $r)] | length == 1' \
            "$out" >/dev/null
        tap $? "$name: the running test is listed as not finished" || diag "$(jq -c '.tests' "$out")"
        ;;
    *)
        jq -e '.tests.running == null' "$out" >/dev/null
        tap $? "$name: no test is left running" || diag "$(jq -c '.tests' "$out")"
        ;;
    esac
done

# A suite in exercism's style picks its framework without --framework: Unity's files (unity.c,
# UNITY_BEGIN) pick C's "unity" over runbox-test (whose -Dmain=student_main would not link it),
# '@jest/globals' picks JavaScript's "jest" over node:test.
avail() { # LANG FRAMEWORK
    "$RUNBOX" languages --json |
        jq -e ".[] | select(.name==\"$1\") | .test_frameworks[] | select(.name==\"$2\") | .available" >/dev/null
}
if installed c && { [ -z "${LANGS:-}" ] || grep -qw c <<<"$LANGS"; }; then
    d=$PROGS/c/tests/unity-pass
    rb_test "$TMP/detect.json" --lang c --tests "$d/tests" --tests "$PROGS/c/unity-fixture" "$d/two_fer.c" "$d/two_fer.h"
    jq -e '.status == "success" and .tests.passed == 3' "$TMP/detect.json" >/dev/null
    tap $? "c: a Unity suite runs under 'unity' without --framework" || diag "$(head -c 1500 "$TMP/detect.json")"
fi
if installed javascript && avail javascript jest && { [ -z "${LANGS:-}" ] || grep -qw javascript <<<"$LANGS"; }; then
    d=$PROGS/javascript/tests/jest-pass
    rb_test "$TMP/detect.json" --lang javascript --tests "$d/two-fer.spec.js" "$d/two-fer.js"
    jq -e '.status == "success" and .tests.passed == 3' "$TMP/detect.json" >/dev/null
    tap $? "javascript: a spec importing @jest/globals runs under 'jest' without --framework" ||
        diag "$(head -c 1500 "$TMP/detect.json")"
fi

# The helpers runbox puts in the box record each test's source (pytest's plugin, the unittest
# runner and the C header do; JUnit and libtest cannot).
for c in python/tests/fail c/tests/fail; do
    lang=${c%%/*}
    installed "$lang" || { skip "$c: test_code" "toolchain not installed"; continue; }
    case $lang in
    python) rb_test "$TMP/code.json" --tests "$PROGS/$c/test_calc.py" "$PROGS/$c/calc.py" ;;
    c) rb_test "$TMP/code.json" --tests "$PROGS/$c/test_text.c" "$PROGS/$c/text.c" "$PROGS/$c/text.h" ;;
    esac
    jq -e '[.tests.tests[] | .test_code // "" | test("assert|ASSERT")] | all' "$TMP/code.json" >/dev/null
    tap $? "$c: every test carries its source (test_code)" || diag "$(head -c 1500 "$TMP/code.json")"
done

# Test files and the test framework's helpers exist only in test mode: a normal run of the same
# student file sees neither (a fresh /box; its .runbox holds only the language's own support
# files), and the test run does not print whole test files back.
if installed python; then
    d=$PROGS/python/tests/pass
    cat >"$TMP/peek.py" <<'EOF'
import os
print(sorted(os.listdir("/box")))
print(sorted(os.listdir("/box/.runbox")), os.path.exists("/box/test_calc.py"))
EOF
    rb_run "$TMP/r.json" "$TMP/peek.py" "$d/calc.py"
    expect "a normal run sees no test file nor test helper" "$TMP/r.json" output \
        "$(printf "['.runbox', 'calc.py', 'peek.py']\n['runbox_mpl.py'] False")"
    rb_test "$TMP/t.json" --tests "$d/test_calc.py" "$d/calc.py"
    ! grep -qF "$(jq -Rs . <"$d/test_calc.py" | sed 's/^"//; s/"$//')" "$TMP/t.json"
    tap $? "a test run does not print the whole test file back"
    ! jq -r '.output + .error' "$TMP/t.json" | grep -q 'runbox_pytest'
    tap $? "the pytest plugin does not show in the run's output" || diag "$(jq -r .output "$TMP/t.json")"
    # A failed comparison says what differs, not "Use -v" (a command line the student lacks).
    printf 'def pairs():\n    return [1, 2]\n' >"$TMP/pairs.py"
    printf 'from pairs import pairs\n\n\ndef test_pairs():\n    assert pairs() == [1, 3]\n' >"$TMP/test_pairs.py"
    rb_test "$TMP/v.json" --tests "$TMP/test_pairs.py" "$TMP/pairs.py"
    msg=$(jq -r '.tests.tests[0].message // ""' "$TMP/v.json")
    ! grep -qi -- "use -v" <<<"$msg" && grep -q "Full diff" <<<"$msg"
    tap $? "a pytest comparison's message shows the whole difference, no 'Use -v'" || diag "message: $msg"
fi

# Python's data-science stack works in the box: matplotlib (Agg, config in /tmp) writes a PNG
# into /box/out, pandas reads a CSV, numpy's BLAS runs single-threaded.
if installed python && /usr/bin/python3 -c 'import matplotlib, pandas, numpy' 2>/dev/null; then
    cat >"$TMP/plot.py" <<'EOF'
import os
os.makedirs("/box/out", exist_ok=True)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
df = pd.read_csv("data.csv")
plt.plot(df["x"], df["y"])
plt.savefig("/box/out/plot.png")
print(int(df["y"].sum()), float(np.linalg.det(np.eye(3))), os.path.getsize("/box/out/plot.png") > 1000)
EOF
    printf 'x,y\n1,2\n2,4\n3,8\n' >"$TMP/data.csv"
    mkdir -p "$TMP/out"
    rb_run "$TMP/p.json" --out "$TMP/out" "$TMP/plot.py" "$TMP/data.csv"
    expect "python: matplotlib and pandas work in the box" "$TMP/p.json" output "14 1.0 True"
    head -c 8 "$TMP/out/plot.png" 2>/dev/null | grep -q PNG
    tap $? "python: the plot comes back as a PNG from /box/out" || diag "$(ls -la "$TMP/out")"
else
    skip "python: matplotlib and pandas" "not installed"
fi

done_testing
