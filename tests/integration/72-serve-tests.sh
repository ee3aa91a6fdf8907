#!/usr/bin/env bash
# runbox serve: test runs (mode "test" with the instructor's test files, which never come back in
# a result or the history), expected-output cases (each compare mode, stop_on_first_failure),
# files out (/box/out/), the 400s of the new request fields, courses (--courses: listing,
# exercises without tests or solutions, test runs of the starter and the solution) and the
# compile cache (a second identical C run is compile.cached).
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: tests, cases, files, courses" curl jq python3

MARKER="RUNBOX-SECRET-7f3a91"
DATA=$TMP/data

# ---- a course: `runbox course init`, or the same shape by hand ----
COURSE=$TMP/pybasics
if "$RUNBOX" course init --lang python "$COURSE" >"$TMP/init.out" 2>&1 &&
    [ -f "$COURSE/course.json" ]; then
    tap 0 "runbox course init --lang python makes a course"
else
    skip "runbox course init --lang python makes a course" "not available: making one by hand"
    rm -rf "$COURSE"
    mkdir -p "$COURSE/exercises/hello-world/tests" "$COURSE/exercises/hello-world/solution"
    cat >"$COURSE/course.json" <<'EOF'
{"name": "Python basics", "language": "python", "limits": {"time": 5, "wall": 20, "memory_mb": 256},
 "runner": {"type": "sandbox", "framework": "pytest"}}
EOF
    printf '# Hello, World\n\nWrite `greet(name="World")`.\n' >"$COURSE/exercises/hello-world/README.md"
    printf 'def greet(name="World"):\n    raise NotImplementedError("greet is not written yet")\n' \
        >"$COURSE/exercises/hello-world/greeting.py"
    printf 'def greet(name="World"):\n    return f"Hello, {name.strip()}!"\n' \
        >"$COURSE/exercises/hello-world/solution/greeting.py"
    cat >"$COURSE/exercises/hello-world/tests/test_greeting.py" <<'EOF'
from greeting import greet


def test_greets_by_name():
    assert greet("Ada") == "Hello, Ada!"


def test_greets_the_world_by_default():
    assert greet() == "Hello, World!"
EOF
fi
CID=$(basename "$COURSE")
EX=hello-world
# Markers in the hidden parts: none may ever come back from the API.
for f in "$COURSE/exercises/$EX/tests/"*.py "$COURSE/exercises/$EX/solution/"*.py; do
    printf '\n# %s-hidden\n' "$MARKER" >>"$f"
done
STARTER=$(cd "$COURSE/exercises/$EX" && ls ./*.py | head -1 | sed 's|^\./||')

"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin" || diag "$(cat "$TMP/e")"

# ---- a bad course stops the start ----
mkdir -p "$TMP/badcourse"
echo '{"name": "x", "language": "nosuchlang"}' >"$TMP/badcourse/course.json"
timeout 60 "$RUNBOX" serve --listen 127.0.0.1:0 --data "$DATA" --courses "$TMP/badcourse" \
    >"$TMP/bad.out" 2>"$TMP/bad.err" </dev/null
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "badcourse" "$TMP/bad.err"
tap $? "a bad course fails the start with the loader's message" ||
    diag "rc $rc: $(cat "$TMP/bad.out" "$TMP/bad.err")"

srv_start_or_end "the server starts with --courses and --cache-mb" "$DATA" --workers 2 --courses "$COURSE" --cache-mb 64
SRV_TOKEN=$(srv_login admin password123)

# no_marker NAME: the last answer holds no hidden test or solution text.
no_marker() {
    ! grep -q "$MARKER" "$R"
    tap $? "$1" || diag "found $MARKER in: $(head -c 800 "$R")"
}
# no_test_code NAME: no "test_code" anywhere in the last answer.
no_test_code() {
    jq -e '[.. | objects | has("test_code")] | any | not' "$R" >/dev/null
    tap $? "$1" || diag "$(head -c 800 "$R")"
}

# ---- mode "test": python, pytest ----
CALC='def add(a, b):
    return a + b
'
TESTS="# $MARKER
from calc import add


def test_small():
    assert add(1, 2) == 3


def test_negative():
    assert add(-1, -2) == -3
"
FAILING="# $MARKER
from calc import add


def test_small():
    assert add(1, 2) == 3


def test_wrong():
    assert add(2, 2) == 5
"
# tbody CODE TESTS [JQ_UPDATE]: a python test-run request.
tbody() {
    jq -nc --arg c "$1" --arg t "$2" '{language: "python", mode: "test",
        files: [{name: "calc.py", content: $c}], test_files: [{name: "test_calc.py", content: $t}]}
        | '"${3:-.}"
}

api_json POST /api/v1/code/execute "$(tbody "$CALC" "$TESTS")"
api_check "mode test, all tests pass: success with tests.passed" 200 \
    '.status == "success" and .tests.version == 2 and .tests.status == "pass"
     and .tests.passed == 2 and .tests.failed == 0 and (.tests.tests | length) == 2
     and all(.tests.tests[]; .status == "pass")'
PASS_ID=$(jq -r .id "$R")
no_marker "the result has no test file contents"
no_test_code "the result has no test_code"
api GET "/api/v1/code/history/$PASS_ID"
api_check "the test run is in the history, as mode test with the test files' names and hashes" 200 \
    '.request.mode == "test" and .request.test_files[0].name == "test_calc.py"
     and (.request.test_files[0].sha256 | length) == 64 and (.request.test_files[0] | has("content") | not)
     and .result.status == "success"'
no_marker "the history has no test file contents"
no_test_code "the history has no test_code"

api_json POST /api/v1/code/execute "$(tbody "$CALC" "$FAILING")"
api_check "a failing test: test_failure with the counts" 200 \
    '.status == "test_failure" and .tests.status == "fail" and .tests.passed == 1 and .tests.failed == 1
     and (.tests.tests[] | select(.name | test("wrong")) | .status == "fail")'
no_marker "a failing test's result has no test file contents"

api_json POST /api/v1/code/execute "$(tbody 'def add(a, b)
    return a +' "$TESTS")"
api_check "a syntax error in the student's file is compile_error" 200 '.status == "compile_error"'

api_json POST /api/v1/code/execute "$(tbody "$CALC" "$TESTS" '.reveal_test_code = true')"
api_check "reveal_test_code: the tests' source comes back" 200 \
    '.status == "success" and any(.tests.tests[]; .test_code | type == "string" and test("add\\(1, 2\\)"))'

UNIT="import unittest
from calc import add


class T(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)
"
api_json POST /api/v1/code/execute "$(tbody "$CALC" "$UNIT" '.framework = "unittest"')"
api_check "framework unittest runs unittest tests" 200 '.status == "success" and .tests.passed == 1'

api_json POST '/api/v1/code/execute?wait=false' "$(tbody "$CALC" "$TESTS")"
api_check "an async test run is queued (202)" 202 '.id | type == "number"'
AID=$(jq -r .id "$R")
curl -sS -N --max-time 60 -H "Authorization: Bearer $SRV_TOKEN" \
    "$SRV_URL/api/v1/code/runs/$AID/events" >"$TMP/sse" 2>&1
grep -q '"stage":"test"' "$TMP/sse" || { srv_wait_state "$AID" done 60 && grep -q '^event: result' "$TMP/sse"; }
tap $? "the event stream names the test stage" || diag "$(head -c 1500 "$TMP/sse")"
srv_wait_state "$AID" done 60
api_check "the async test run finishes with its tests" 200 '.result.tests.passed == 2'

# ---- expected-output cases ----
# cbody CODE CASES_JSON [JQ_UPDATE]
cbody() {
    jq -nc --arg c "$1" --argjson k "$2" '{language: "python", code: $c, cases: $k} | '"${3:-.}"
}
ECHO='import sys
print(sys.stdin.read().strip() + "  ")
print()'
api_json POST /api/v1/code/execute "$(cbody "$ECHO" '[{"stdin": "a", "expected_output": "a"}, {"name": "bee", "stdin": "b\n", "expected_output": "b\n"}]')"
api_check "cases, default compare (trailing whitespace): all pass" 200 \
    '.status == "success" and .cases.passed == 2 and .cases.total == 2 and .cases.compare == "trailing_whitespace"
     and .cases.cases[1].name == "bee"'
api_json POST /api/v1/code/execute "$(cbody "$ECHO" '[{"stdin": "a", "expected_output": "a"}]' '.compare = "exact"')"
api_check "compare exact: trailing spaces fail the case" 200 \
    '.status == "test_failure" and .cases.failed == 1 and .cases.cases[0].status == "fail"'
api_json POST /api/v1/code/execute "$(cbody 'print(0.1 + 0.2, 2/3)' '[{"expected_output": "0.3 0.6667"}]' '.compare = "float" | .tolerance = 0.001')"
api_check "compare float with a tolerance: 0.30000000000000004 0.666... matches 0.3 0.6667" 200 \
    '.status == "success" and .cases.passed == 1'
api_json POST /api/v1/code/execute "$(cbody 'print(0.1 + 0.2, 2/3)' '[{"expected_output": "0.3 0.7"}]' '.compare = "float" | .tolerance = 0.001')"
api_check "compare float: 0.666... is not 0.7 within 0.001" 200 '.status == "test_failure"'
api_json POST /api/v1/code/execute "$(cbody 'print("b"); print("a"); print("c")' '[{"expected_output": "a\nb\nc\n"}]' '.compare = "unordered"')"
api_check "compare unordered: the same lines in another order pass" 200 '.status == "success"'
api_json POST /api/v1/code/execute "$(cbody 'import sys; print(sys.argv[1])' '[{"args": ["x"], "expected_output": "y"}, {"args": ["y"], "expected_output": "y"}, {"args": ["z"], "expected_output": "z"}]' '.stop_on_first_failure = true')"
api_check "stop_on_first_failure: the cases after the first failure are skipped" 200 \
    '.status == "test_failure" and .cases.cases[0].status == "fail"
     and .cases.cases[1].status == "skipped" and .cases.cases[2].status == "skipped"'
api_json POST /api/v1/code/execute "$(cbody 'import sys; print(sys.argv[1])' '[{"args": ["x"], "expected_output": "y"}, {"args": ["y"], "expected_output": "y"}]')"
api_check "without it every case runs, each with its own args" 200 \
    '.status == "test_failure" and .cases.passed == 1 and .cases.failed == 1 and .cases.cases[1].status == "pass"'
CASES_ID=$(jq -r .id "$R")
api GET "/api/v1/code/history/$CASES_ID"
api_check "a cases run is in the history with its cases" 200 \
    '.request.mode == "cases" and (.request.cases | length) == 2 and .result.cases.total == 2'

# ---- files out ----
PLOT='import os, csv
os.makedirs("/box/out", exist_ok=True)
with open("/box/out/data.csv", "w", newline="") as f:
    csv.writer(f).writerows([["x", "y"], [1, 2], [3, 4]])
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [2, 4, 1])
plt.savefig("/box/out/plot.png")
print("done")'
api_json POST /api/v1/code/execute "$(jq -nc --arg c "$PLOT" '{language: "python", code: $c, limits: {wall_time: 30, memory_mb: 512}}')"
api_check "files out: data.csv and plot.png come back" 200 \
    '.status == "success" and (.files | map(.name) | sort) == ["data.csv", "plot.png"]
     and (.files[] | select(.name == "plot.png") | .mime == "image/png" and .size > 100)
     and (.files[] | select(.name == "data.csv") | (.mime | test("csv|text")))'
jq -r '.files[] | select(.name == "plot.png") | .content' "$R" | base64 -d 2>/dev/null | head -c 8 |
    od -An -tx1 | tr -d ' \n' >"$TMP/magic"
[ "$(cat "$TMP/magic")" = "89504e470d0a1a0a" ]
tap $? "plot.png's content decodes to a PNG" || diag "magic: $(cat "$TMP/magic")"
[ "$(jq -r '.files[] | select(.name == "data.csv") | .content' "$R" | base64 -d 2>/dev/null | head -1 | tr -d '\r')" = "x,y" ]
tap $? "data.csv's content decodes to the CSV"
api_json POST /api/v1/code/execute "$(jq -nc --arg c "$PLOT" '{language: "python", code: $c, return_files: false, limits: {wall_time: 30, memory_mb: 512}}')"
api_check "return_files false: no files" 200 '.status == "success" and (.files == null)'

# ---- bad fields: 400 naming the field ----
T1='[{"name": "test_calc.py", "content": "x = 1"}]'
bad() { # NAME FIELD BODY
    api_json POST /api/v1/code/execute "$3"
    api_check "$1: 400 on $2" 400 ".field == \"$2\" and (.error | type == \"string\" and length > 0)"
}
PYF='"language": "python", "files": [{"name": "calc.py", "content": "x = 1"}]'
bad "an unknown mode" mode "{$PYF, \"mode\": \"debug\"}"
bad "mode test without test_files" test_files "{$PYF, \"mode\": \"test\"}"
bad "mode test with no test files" test_files "{$PYF, \"mode\": \"test\", \"test_files\": []}"
bad "test_files in a plain run" test_files "{$PYF, \"test_files\": $T1}"
bad "a test file named like a student file" "test_files[0].name" \
    "{$PYF, \"mode\": \"test\", \"test_files\": [{\"name\": \"calc.py\", \"content\": \"\"}]}"
bad "a test file under .runbox" "test_files[0].name" \
    "{$PYF, \"mode\": \"test\", \"test_files\": [{\"name\": \".runbox/conftest.py\", \"content\": \"\"}]}"
bad "a test file climbing out" "test_files[0].name" \
    "{$PYF, \"mode\": \"test\", \"test_files\": [{\"name\": \"../t.py\", \"content\": \"\"}]}"
bad "an unknown framework" framework "{$PYF, \"mode\": \"test\", \"test_files\": $T1, \"framework\": \"nose\"}"
bad "a framework in a plain run" framework "{$PYF, \"framework\": \"pytest\"}"
bad "mode test for a language without test frameworks" mode \
    "{\"language\": \"bash\", \"code\": \"true\", \"mode\": \"test\", \"test_files\": $T1}"
bad "cases with mode test" cases "{$PYF, \"mode\": \"test\", \"test_files\": $T1, \"cases\": [{\"expected_output\": \"\"}]}"
bad "cases with mode run" cases "{$PYF, \"mode\": \"run\", \"cases\": [{\"expected_output\": \"\"}]}"
bad "no cases" cases "{$PYF, \"cases\": []}"
bad "an unknown case field" "cases[0].expected" "{$PYF, \"cases\": [{\"expected\": \"1\"}]}"
bad "a case's args not strings" "cases[0].args[0]" "{$PYF, \"cases\": [{\"expected_output\": \"\", \"args\": [1]}]}"
bad "stdin beside cases" stdin "{$PYF, \"stdin\": \"x\", \"cases\": [{\"expected_output\": \"\"}]}"
bad "an unknown compare" compare "{$PYF, \"cases\": [{\"expected_output\": \"\"}], \"compare\": \"fuzzy\"}"
bad "compare in a plain run" compare "{$PYF, \"compare\": \"exact\"}"
bad "a tolerance of 0" tolerance "{$PYF, \"cases\": [{\"expected_output\": \"\"}], \"compare\": \"float\", \"tolerance\": 0}"
bad "a tolerance without compare float" tolerance "{$PYF, \"cases\": [{\"expected_output\": \"\"}], \"tolerance\": 0.1}"
bad "stop_on_first_failure not a boolean" stop_on_first_failure \
    "{$PYF, \"cases\": [{\"expected_output\": \"\"}], \"stop_on_first_failure\": \"yes\"}"
bad "return_files not a boolean" return_files "{$PYF, \"return_files\": 1}"
bad "reveal_test_code in a plain run" reveal_test_code "{$PYF, \"reveal_test_code\": true}"
# A case without expected_output checks only that the program succeeds (Judge0's
# number_of_runs is cases of this kind).
api_json POST /api/v1/code/execute '{"language": "python", "code": "import sys; sys.exit(int(input()))", "cases": [{"stdin": "0"}, {"stdin": "3"}]}'
api_check "cases without expected_output: pass when the program succeeds, fail when it does not" 200 \
    '.cases.passed == 1 and .cases.failed == 1 and .cases.cases[0].status == "pass" and .cases.cases[1].status != "pass"'
python3 -c 'print("[" + ",".join(["{\"expected_output\": \"1\"}"] * 101) + "]")' >"$TMP/many"
bad "101 cases" cases "{$PYF, \"cases\": $(cat "$TMP/many")}"

# ---- courses ----
SAVED=$SRV_TOKEN
SRV_TOKEN=
api GET /api/v1/courses
api_check "GET /courses without a token is 401" 401
SRV_TOKEN=$SAVED
api GET /api/v1/courses
api_check "GET /courses lists the course" 200 \
    "(.courses | map(.id)) == [\"$CID\"] and .courses[0].language == \"python\" and .courses[0].exercises >= 1"
api GET "/api/v1/courses/$CID/exercises"
api_check "GET /courses/{c}/exercises lists its exercises" 200 \
    "(.exercises | map(.slug) | index(\"$EX\")) != null and all(.exercises[]; has(\"title\"))"
no_marker "the exercise list shows no tests or solutions"
api GET "/api/v1/courses/$CID/exercises/$EX"
api_check "GET an exercise: README and starter files" 200 \
    "(.readme | type == \"string\" and length > 0) and (.files | map(.name) | index(\"$STARTER\")) != null"
no_marker "the exercise shows no hidden tests or solution"
jq -e '[.files[].name | select(startswith("tests/") or startswith("solution/"))] | length == 0' "$R" >/dev/null
tap $? "the exercise's files are neither tests/ nor solution/"
api GET "/api/v1/courses/nope/exercises"
api_check "an unknown course is 404 naming it" 404 '.field == "course" and (.error | test("nope"))'
api GET "/api/v1/courses/$CID/exercises/nope"
api_check "an unknown exercise is 404 naming it" 404 '.field == "exercise" and (.error | test("nope"))'
api_json POST "/api/v1/courses/$CID/exercises/nope/test" '{"files": []}'
api_check "a test run of an unknown exercise is 404" 404 '.field == "exercise"'

STARTER_CODE=$(cat "$COURSE/exercises/$EX/$STARTER")
SOLUTION_CODE=$(grep -v "$MARKER" "$COURSE/exercises/$EX/solution/$STARTER")
cfiles() { jq -nc --arg n "$STARTER" --arg c "$1" '{files: [{name: $n, content: $c}]} | '"${2:-.}"; }
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$STARTER_CODE")"
api_check "a course test run of the starter code fails its tests" 200 \
    ".status == \"test_failure\" and .tests.failed >= 1 and .course == \"$CID\" and .exercise == \"$EX\""
no_marker "the course run's result shows no hidden tests"
no_test_code "the course run's result has no test_code"
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$SOLUTION_CODE")"
api_check "a course test run of the solution passes" 200 \
    '.status == "success" and .tests.status == "pass" and .tests.failed == 0 and .tests.passed >= 1'
COURSE_RUN=$(jq -r .id "$R")
api GET "/api/v1/code/history/$COURSE_RUN"
api_check "the course run is in the history with the course and exercise" 200 \
    ".request.course == \"$CID\" and .request.exercise == \"$EX\" and .request.mode == \"test\"
     and .result.status == \"success\""
no_marker "the course run's history shows no hidden tests"
api_json POST "/api/v1/courses/$CID/exercises/$EX/test?wait=false" "$(cfiles "$SOLUTION_CODE")"
api_check "an async course test run is queued (202)" 202 '.id | type == "number"'
srv_wait_state "$(jq -r .id "$R")" done 60
api_check "the async course run passes" 200 '.result.status == "success"'
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$SOLUTION_CODE" '.language = "c"')"
api_check "a course test run may not choose the language" 400 '.field == "language"'
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$SOLUTION_CODE" '.test_files = []')"
api_check "a course test run may not bring test files" 400 '.field == "test_files"'
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$SOLUTION_CODE" '.limits = {memory_mb: 1000}')"
api_check "a course test run may not raise the course's limits" 400 '.field == "limits.memory_mb"'
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" "$(cfiles "$SOLUTION_CODE" '.limits = {memory_mb: 200}')"
api_check "it may lower them" 200 '.status == "success"'
api_json POST "/api/v1/courses/$CID/exercises/$EX/test" '{"files": "x"}'
api_check "bad files in a course test run are 400 on files" 400 '.field == "files"'

# ---- the compile cache ----
CPROG="#include <stdio.h>
int main(void) { puts(\"cached $RANDOM$RANDOM\"); return 0; }"
api_json POST /api/v1/code/execute "$(jq -nc --arg c "$CPROG" '{language: "c", code: $c}')"
api_check "a C run compiles (compile.cached false)" 200 '.status == "success" and .compile.cached == false'
api_json POST /api/v1/code/execute "$(jq -nc --arg c "$CPROG" '{language: "c", code: $c}')"
api_check "the same C run again comes from the cache (compile.cached true)" 200 \
    '.status == "success" and .compile.cached == true and (.output | startswith("cached"))'
[ -d "$DATA/cache" ]
tap $? "the cache lives in <data>/cache"

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM stops the server with status 0" || diag "rc $SRV_RC: $(tail -5 "$TMP/srv.err")"

done_testing
