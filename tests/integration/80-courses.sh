#!/usr/bin/env bash
# Courses and the test modes from the command line: every sample course's solutions pass its
# tests and its starter files do not; runbox test over a course exercise and over --tests PATH
# (report, --json, exit codes, compile errors, timeouts); validation errors naming file and
# field; run --cases with each comparison mode; run --out saving /box/out/.
. "$(dirname "$0")/../lib.sh"

C=$TMP/courses
CACHE=(--cache "$TMP/cache")
mkdir -p "$C"
out=$TMP/out.txt
f=$TMP/r.json

installed() { # LANG: whether its toolchain is installed here
    "$RUNBOX" languages --json 2>/dev/null |
        jq -e --arg l "$1" '.[] | select(.name == $l) | .installed' >/dev/null
}

# ---- The sample courses ----
templates=$("$RUNBOX" course templates)
for t in python python-data-science javascript rust c; do
    grep -qx "$t" <<<"$templates"
    tap $? "course templates lists $t" || diag "$templates"
done
"$RUNBOX" course init --lang nosuchlang "$C/x" >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "unknown template 'nosuchlang' (templates: .*python" "$out"
tap $? "course init names the templates on a bad name" || diag "$(cat "$out")"
mkdir -p "$C/full" && touch "$C/full/x"
"$RUNBOX" course init --lang python "$C/full" >/dev/null 2>"$out"
[ $? != 0 ] && grep -q "not empty" "$out"
tap $? "course init refuses a non-empty directory" || diag "$(cat "$out")"

for t in $templates; do
    "$RUNBOX" course init --lang "$t" "$C/$t" >"$out" 2>&1
    tap $? "course init --lang $t" || diag "$(cat "$out")"
    lang=$(jq -r .language "$C/$t/course.json")
    if ! installed "$lang"; then
        skip "course check $t" "the $lang toolchain is not installed"
        continue
    fi
    "$RUNBOX" course check --starter "${CACHE[@]}" "$C/$t" >"$out" 2>&1
    rc=$?
    [ $rc = 0 ] && grep -q "4 checks: 4 ok, 0 failed" "$out"
    tap $? "course check --starter $t: the solutions pass, the starters do not" ||
        diag "rc=$rc $(cat "$out")"
done

"$RUNBOX" course check --json "${CACHE[@]}" "$C/python" >"$f" 2>"$f.err"
jq -e '.valid and .ok and .course.id == "python" and .course.exercises == 2
       and (.checks | length) == 2 and all(.checks[]; .ok and .files == "solution")' \
    "$f" >/dev/null
tap $? "course check --json: the course and one entry per check" || diag "$(cat "$f" "$f.err")"

# ---- runbox test --course ----
PY=$C/python/exercises
"$RUNBOX" test "${CACHE[@]}" --course "$C/python" --exercise word-count \
    "$PY/word-count/word_count.py" >"$out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "^1 passed, 4 failed in [0-9.]* s" "$out" &&
    grep -q "^PASS  test_empty_text" "$out" && grep -q "^FAIL  test_one_word" "$out"
tap $? "runbox test --course with the starter file: the counts, one line per test, exit 1" ||
    diag "rc=$rc $(cat "$out")"
grep -A1 "^FAIL  test_one_word" "$out" | tail -1 | grep -q "^      .*assert"
tap $? "a failed test's message is indented below it" || diag "$(cat "$out")"

"$RUNBOX" test --json "${CACHE[@]}" --course "$C/python" --exercise hello-world \
    "$PY/hello-world/greeting.py" >"$f" 2>"$f.err"
rc=$?
jq -e '.status == "test_failure" and .tests.version == 2 and .tests.passed == 0
       and .tests.failed == 3 and (.tests.tests | length) == 3
       and all(.tests.tests[]; has("name") and .status == "fail" and has("message"))
       and .language == "python" and (.compile | has("cached"))' "$f" >/dev/null
tap $? "runbox test --json: the result with its results.json v2 tests" || diag "$(cat "$f")"
[ $rc = 1 ]
tap $? "runbox test --json exits 1 on failures" || diag "rc=$rc"

"$RUNBOX" test "${CACHE[@]}" --course "$C/python" --exercise hello-world \
    "$PY/hello-world/solution/greeting.py" >"$out" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "^3 passed, 0 failed" "$out"
tap $? "runbox test --course with the solution passes (exit 0)" || diag "rc=$rc $(cat "$out")"

"$RUNBOX" test --course "$C/python" --exercise nope "$PY/hello-world/greeting.py" \
    >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "no exercise 'nope' (it has: hello-world word-count)" "$out"
tap $? "an unknown exercise is a usage error naming the exercises" || diag "$(cat "$out")"

# ---- Validation errors ----
bad=$TMP/bad/broken
mkdir -p "$TMP/bad" && cp -r "$C/python" "$bad"
jq '.runner.type = "docker"' "$C/python/course.json" >"$bad/course.json"
"$RUNBOX" course validate "$bad" >/dev/null 2>"$out"
[ $? = 1 ] && grep -q "course.json: runner.image: the docker runner needs an image" "$out"
tap $? "course validate names the file and field of an error" || diag "$(cat "$out")"
jq '.runner = {"command": ["python3", "run.py", "{{test}}"]}' "$C/python/course.json" \
    >"$bad/course.json"
"$RUNBOX" course check "$bad" >/dev/null 2>"$out"
[ $? = 1 ] && grep -q "runner.command\[2\]: unknown placeholder '{{test}}'" "$out"
tap $? "course check refuses an unknown placeholder" || diag "$(cat "$out")"
cp "$C/python/course.json" "$bad/course.json"
rm -r "$bad/exercises/word-count/tests"
"$RUNBOX" test --course "$bad" --exercise hello-world "$PY/hello-world/greeting.py" \
    >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "exercises/word-count/tests/: missing" "$out"
tap $? "runbox test refuses an invalid course with its error" || diag "$(cat "$out")"
"$RUNBOX" course validate --json "$C/python" >"$f"
jq -e '.valid and (.exercises | map(.slug)) == ["hello-world", "word-count"]
       and (tostring | contains("test_greeting") | not)' "$f" >/dev/null
tap $? "course validate --json lists exercises without their tests" || diag "$(cat "$f")"

# ---- runbox test --tests PATH ----
T=$TMP/tt
mkdir -p "$T/tests/more" "$T/good" "$T/bad"
printf 'def add(a, b):\n    return a + b\n' >"$T/good/calc.py"
printf 'def add(a, b):\n    return a - b\n' >"$T/bad/calc.py"
printf 'from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n' \
    >"$T/tests/test_a.py"
printf 'from calc import add\n\ndef test_zero():\n    assert add(0, 0) == 0\n' \
    >"$T/tests/more/test_b.py"
"$RUNBOX" test "${CACHE[@]}" --tests "$T/tests" "$T/good/calc.py" >"$out" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "^2 passed, 0 failed" "$out"
tap $? "runbox test --tests DIR: test files below the directory, all pass, exit 0" ||
    diag "rc=$rc $(cat "$out")"
"$RUNBOX" test --json "${CACHE[@]}" --tests "$T/tests/test_a.py" --tests "$T/tests/more" \
    "$T/bad/calc.py" >"$f" 2>"$f.err"
rc=$?
jq -e '.tests.passed == 1 and .tests.failed == 1' "$f" >/dev/null && [ $rc = 1 ]
tap $? "runbox test --tests FILE --tests DIR: the failures counted" || diag "rc=$rc $(cat "$f")"
printf 'import unittest\nfrom calc import add\n\nclass TestCalc(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n' \
    >"$T/test_unit.py"
"$RUNBOX" test "${CACHE[@]}" --framework unittest --tests "$T/test_unit.py" "$T/good/calc.py" \
    >"$out" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "^PASS  TestCalc.test_add" "$out"
tap $? "--framework picks another framework of the language" || diag "rc=$rc $(cat "$out")"
"$RUNBOX" test --framework nose --tests "$T/tests" "$T/good/calc.py" >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "no test framework 'nose' (it has: pytest" "$out"
tap $? "an unknown --framework names the language's frameworks" || diag "$(cat "$out")"
printf 'def add(a, b)\n    return a + b\n' >"$T/bad/syntax.py"
"$RUNBOX" test --tests "$T/tests" --lang python "$T/bad/syntax.py" >"$out" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "Compile error" "$out" && grep -q "SyntaxError" "$out"
tap $? "a compile error shows the compiler's output" || diag "rc=$rc $(cat "$out")"
printf 'import time\nfrom calc import add\n\ndef test_a_fast():\n    assert add(1, 1) == 2\n\ndef test_b_slow():\n    while True:\n        time.sleep(0.1)\n' \
    >"$T/test_slow.py"
"$RUNBOX" test --time 2 --wall 4 --tests "$T/test_slow.py" "$T/good/calc.py" >"$out" 2>&1
rc=$?
[ $rc = 124 ] && grep -q "test_b_slow" "$out" && grep -qi "time limit\|timeout" "$out"
tap $? "a timeout names the test that was running (exit 124)" || diag "rc=$rc $(cat "$out")"
"$RUNBOX" test "$T/good/calc.py" >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "give --tests PATH, or --course DIR --exercise SLUG" "$out"
tap $? "runbox test without tests is a usage error" || diag "$(cat "$out")"

# ---- runbox run --cases ----
K=$TMP/cases
mkdir -p "$K"
printf 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n' >"$K/sum.py"
cat >"$K/sum.json" <<'EOF'
[
  {"name": "small", "stdin": "2 3\n", "expected_output": "5\n"},
  {"name": "wrong", "stdin": "1 1\n", "expected_output": "3\n"},
  {"stdin": "10 20 30", "expected_output": "60"}
]
EOF
"$RUNBOX" run "${CACHE[@]}" --cases "$K/sum.json" "$K/sum.py" >"$out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "^PASS    small" "$out" && grep -q "^FAIL    wrong" "$out" &&
    grep -q "^PASS    case 3" "$out" && grep -q "2 of 3 cases passed" "$out" &&
    grep -A1 "^FAIL    wrong" "$out" | grep -q 'expected "3", got "2"'
tap $? "run --cases: each case's status, a short diff for a failure, exit 1" ||
    diag "rc=$rc $(cat "$out")"
rb_run "$f" "${CACHE[@]}" --cases "$K/sum.json" "$K/sum.py"
jq -e '.status == "test_failure" and .cases.passed == 2 and .cases.failed == 1
       and .cases.total == 3 and .cases.cases[1].status == "fail"
       and .cases.cases[0].stdout == "5\n"' "$f" >/dev/null
tap $? "run --cases --json: the cases object" || diag "$(cat "$f")"

# cases_check NAME EXPECTED_RC CASES_JSON PROGRAM [run args...]
cases_check() {
    local name=$1 want=$2 json=$3 prog=$4
    shift 4
    printf '%s' "$json" >"$K/c.json"
    "$RUNBOX" run "${CACHE[@]}" --cases "$K/c.json" "$@" "$prog" >"$out" 2>&1
    local rc=$?
    [ "$rc" = "$want" ]
    tap $? "$name" || diag "rc=$rc (want $want) $(cat "$out")"
}
printf 'print("5")\n' >"$K/five.py"
cases_check "default compare ignores the trailing newline" 0 \
    '[{"expected_output": "5"}]' "$K/five.py"
cases_check "--compare exact does not" 1 '[{"expected_output": "5"}]' "$K/five.py" \
    --compare exact
cases_check "--compare exact passes the exact bytes" 0 '[{"expected_output": "5\n"}]' \
    "$K/five.py" --compare exact
printf 'print(0.1 + 0.2, 1.05)\n' >"$K/float.py"
cases_check "--compare float: numbers within the default tolerance" 1 \
    '[{"expected_output": "0.3 1.0"}]' "$K/float.py" --compare float
cases_check "--compare float --tolerance 0.1" 0 '[{"expected_output": "0.3 1.0"}]' \
    "$K/float.py" --compare float --tolerance 0.1
cases_check "the file's own compare and tolerance" 0 \
    '{"compare": "float", "tolerance": 0.1, "cases": [{"expected_output": "0.3 1.0"}]}' \
    "$K/float.py"
printf 'for w in ["b", "c", "a"]:\n    print(w)\n' >"$K/lines.py"
cases_check "--compare unordered: the same lines in any order" 0 \
    '[{"expected_output": "a\nb\nc\n"}]' "$K/lines.py" --compare unordered
cases_check "the default compare keeps the order" 1 '[{"expected_output": "a\nb\nc\n"}]' \
    "$K/lines.py"
printf 'import sys\nprint(" ".join(sys.argv[1:]))\n' >"$K/args.py"
cases_check "a case's args reach the program" 0 \
    '[{"args": ["x", "y"], "expected_output": "x y"}, {"expected_output": ""}]' "$K/args.py"
printf '[{"expected_output": "1"}, {"expected_output": "5"}, {"expected_output": "5"}]' \
    >"$K/stop.json"
rb_run "$f" "${CACHE[@]}" --cases "$K/stop.json" --stop-on-first-failure "$K/five.py"
jq -e '[.cases.cases[].status] == ["fail", "skipped", "skipped"]' "$f" >/dev/null
tap $? "--stop-on-first-failure skips the cases after a failure" || diag "$(cat "$f")"
"$RUNBOX" run --cases "$K/sum.json" --compare fuzzy "$K/sum.py" >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "unknown compare mode 'fuzzy'" "$out"
tap $? "an unknown --compare mode is a usage error" || diag "$(cat "$out")"
printf '[{"stdin": "1", "expected": "1"}]' >"$K/typo.json"
"$RUNBOX" run --cases "$K/typo.json" "$K/sum.py" >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "cases\[0\].expected: unknown key" "$out"
tap $? "a cases file's unknown key is named" || diag "$(cat "$out")"
"$RUNBOX" run --compare exact "$K/sum.py" </dev/null >/dev/null 2>"$out"
[ $? = 2 ] && grep -q "go with --cases" "$out"
tap $? "--compare without --cases is a usage error" || diag "$(cat "$out")"

# ---- runbox run --out DIR ----
O=$TMP/o
mkdir -p "$O"
cat >"$O/write.py" <<'EOF'
import os
os.makedirs("out/sub", exist_ok=True)
with open("out/hello.txt", "w") as f:
    f.write("hello from the box\n")
with open("out/sub/data.bin", "wb") as f:
    f.write(bytes(range(256)))
print("done")
EOF
"$RUNBOX" run --out "$O/saved" "$O/write.py" </dev/null >"$out" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(cat "$O/saved/hello.txt" 2>/dev/null)" = "hello from the box" ] &&
    cmp -s "$O/saved/sub/data.bin" <(python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))')
tap $? "run --out DIR saves the files the program wrote to /box/out/" ||
    diag "rc=$rc $(cat "$out"; ls -lR "$O/saved" 2>&1)"
rb_run "$f" --out "$O/saved2" "$O/write.py"
jq -e '(.files | map(.name)) == ["hello.txt", "sub/data.bin"] and .files[0].size == 19
       and (.files[0].content | @base64d) == "hello from the box\n"' "$f" >/dev/null
tap $? "run --json --out: the files in the result, base64" || diag "$(cat "$f")"
printf 'import os\nos.symlink("/etc/passwd", "out/link")\n' >"$O/link.py"
"$RUNBOX" run --out "$O/saved3" "$O/link.py" </dev/null >"$out" 2>&1
[ ! -e "$O/saved3/link" ] && [ ! -L "$O/saved3/link" ]
tap $? "run --out never writes a symlink the program left" || diag "$(cat "$out")"

done_testing
