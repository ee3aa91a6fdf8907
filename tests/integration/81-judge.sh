#!/usr/bin/env bash
# Judge mode (docs/judge.md), Python (pytest) and JavaScript (node:test): the tests in one box, the
# student's code in another. Every forgery of the grade a student would try comes back not
# passed; the hidden tests cannot be read from the student's code; a test whose call never
# returns is reported and the tests after it still run; honest solutions pass. The same attacks
# in the in-process mode (--in-process) are shown to work there where they do, so each check can
# fail.
. "$(dirname "$0")/../lib.sh"

need_tools 81-judge python3 node jq

# judge NAME DIR [runbox test args...]: runbox test --json in DIR, result into $TMP/NAME.json.
judge() {
    local name=$1 dir=$2; shift 2
    (cd "$dir" && "$RUNBOX" test --json "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" </dev/null)
}
# status NAME TEST: a test's status in $TMP/NAME.json.
status() { jq -r --arg t "$2" '[.tests.tests[] | select(.name == $t) | .status][0] // "missing"' "$TMP/$1.json"; }
count() { jq -r '.tests.tests | length' "$TMP/$1.json"; }
check() { # check DESC COND...
    local d=$1; shift
    if "$@"; then tap 0 "$d"; else tap 1 "$d"; diag "$(head -c 1500 "$TMP/$CUR.json")"; fi
}
eq() { [ "$1" = "$2" ]; }

### Python

py=$TMP/py
mkdir -p "$py"
cat >"$py/test_grade.py" <<'EOF'
from solution import add
SECRET = "hidden-oracle-7f3a"
def test_one(): assert add(2, 3) == 5
def test_two(): assert add(10, -4) == 6
def test_three(): assert add(0, 0) == 0
EOF
honest='def add(a, b):
    return a + b
'
wrong='def add(a, b):
    return a - b
'

# mkcase NAME SOLUTION [EXTRA_FILE CONTENT]...: a dir with the student's files.
mkcase() {
    local d=$py/$1; shift
    mkdir -p "$d"
    printf '%s' "$1" >"$d/solution.py"; shift
    while [ $# -ge 2 ]; do printf '%s' "$2" >"$d/$1"; shift 2; done
    echo "$d"
}
# files in DIR besides the test file
students() { (cd "$1" && ls | grep -v '^test_grade.py$'); }
pyjudge() { # pyjudge NAME [--in-process]
    local d=$py/$1; shift
    cp "$py/test_grade.py" "$d/"
    CUR=$(basename "$d")
    # shellcheck disable=SC2046
    judge "$CUR" "$d" --lang python "$@" --tests test_grade.py $(students "$d")
}

mkcase honest "$honest" >/dev/null
pyjudge honest
CUR=honest
check "python: an honest solution passes in judge mode" eq "$(jq -r .status "$TMP/honest.json")/$(count honest)" "success/3"

mkcase wrong "$wrong" >/dev/null
pyjudge wrong
CUR=wrong
check "python: a wrong solution fails (2 of 3 did not pass)" eq "$(jq -r .status "$TMP/wrong.json")/$(jq -r .message "$TMP/wrong.json")" "test_failure/2 of 3 tests did not pass"

# Forgeries: each must leave the wrong solution's verdict as it is.
forge() { # forge NAME DESC SOLUTION [EXTRA FILE CONTENT]...
    local name=$1 desc=$2; shift 2
    mkcase "$name" "$@" >/dev/null
    pyjudge "$name"
    CUR=$name
    check "python forgery ($desc): not passed in judge mode" eq "$(status "$name" test_one)/$(count "$name")" "fail/3"
}
forge atexit "an atexit handler rewriting the JUnit report" "$wrong"'
import atexit, os, glob
def _forge():
    for p in glob.glob("/box/.runbox/*.xml") + ["/box/.runbox/report.xml"]:
        open(p, "w").write("<testsuite><testcase name=\"test_one\"/><testcase name=\"test_two\"/><testcase name=\"test_three\"/></testsuite>")
atexit.register(_forge)
'
forge conftest "a conftest.py flipping failures to passes" "$wrong" conftest.py 'import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
'
forge sitecustomize "a sitecustomize.py patching pytest" "$wrong" sitecustomize.py 'import builtins
builtins.__dict__["AssertionError"] = type("X", (Exception,), {})
'
forge alwayseq "an object equal to everything" 'class _Any:
    def __eq__(self, o): return True
    def __ne__(self, o): return False
def add(a, b):
    return _Any()
'
forge exit0 "os._exit(0) in the function under test" 'import os
def add(a, b):
    os._exit(0)
'
CUR=exit0
check "python: after os._exit(0) every test is still counted and none passes" eq "$(jq -r '[.tests.tests[].status] | join(",")' "$TMP/exit0.json")" "fail,fail,fail"

# The same conftest in the in-process mode, where it would share pytest's process, is refused
# (in judge mode it sits harmless in the student's box).
mkcase conftest_ip "$wrong" conftest.py "$(cat "$py/conftest/conftest.py")" >/dev/null
pyjudge conftest_ip --in-process
CUR=conftest_ip
check "python: in-process, the conftest.py is refused" eq "$(jq -r .status "$TMP/conftest_ip.json")" "compile_error"

# The hidden tests are not in the student's box.
mkcase reader 'import os, glob
def add(a, b):
    found = [p for p in glob.glob("/box/**", recursive=True) if "test_" in p]
    try:
        secret = open("/box/test_grade.py").read()
    except OSError as e:
        secret = "unreadable: %s" % e
    print("FOUND", found, secret[:200])
    return a + b
' >/dev/null
pyjudge reader
CUR=reader
check "python: the student's code cannot read the hidden test file" \
    bash -c "! grep -q hidden-oracle '$TMP/reader.json' && grep -q 'unreadable' '$TMP/reader.json'"
check "python: ... and the honest part still passes" eq "$(jq -r .status "$TMP/reader.json")" "success"

# A test whose call never returns: reported, and the tests after it still run.
cat >"$py/test_loop.py" <<'EOF'
from solution import add, spin
def test_a_loops(): spin()
def test_b(): assert add(1, 2) == 3
def test_c(): assert add(2, 2) == 4
EOF
mkdir -p "$py/loop"
printf 'def add(a, b):\n    return a + b\ndef spin():\n    while True:\n        pass\n' >"$py/loop/solution.py"
cp "$py/test_loop.py" "$py/loop/"
CUR=loop
judge loop "$py/loop" --lang python --wall 6 --tests test_loop.py solution.py
check "python: a hung first test is reported, the others pass (status test_failure)" \
    eq "$(status loop test_a_loops)/$(status loop test_b)/$(status loop test_c)/$(jq -r .status "$TMP/loop.json")" "fail/pass/pass/test_failure"
check "python: the hung test says it timed out" bash -c "jq -r '.tests.tests[0].message' '$TMP/loop.json' | grep -q 'timed out'"

# Both boxes use Debian's byte code under /usr (no PYTHONPYCACHEPREFIX, which made each pytest run
# compile the standard library and pytest again) and leave no __pycache__ in /box: the test
# looks in its own box, and through the proxy in the student's (tests/programs/python/tests/bytecode).
CUR=bytecode
judge bytecode "$PROGS/python/tests/bytecode" --lang python --tests test_bytecode.py probe.py
check "python: both boxes use the system's byte code and write none into /box" \
    eq "$(jq -r '"\(.status) \(.tests.passed)"' "$TMP/bytecode.json")" "success 2"

### JavaScript

js=$TMP/js
mkdir -p "$js"
cat >"$js/grade.test.js" <<'EOF'
const test = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('./solution.js');
const SECRET = 'hidden-oracle-js-91c2';
test('one', () => assert.equal(add(2, 3), 5));
test('two', () => assert.equal(add(10, -4), 6));
test('three', () => assert.equal(add(0, 0), 0));
EOF
jsjudge() { # jsjudge NAME SOLUTION [--in-process]
    local d=$js/$1
    mkdir -p "$d"
    printf '%s' "$2" >"$d/solution.js"
    cp "$js/grade.test.js" "$d/"
    CUR=$1
    judge "$1" "$d" --lang javascript ${3:-} --tests grade.test.js solution.js
}
jsjudge jshonest 'module.exports = { add: (a, b) => a + b };'
check "javascript: an honest solution passes in judge mode" eq "$(jq -r .status "$TMP/jshonest.json")/$(count jshonest)" "success/3"

fakeTap='function add(a, b) {
  process.stdout.write("TAP version 13\nok 1 - one\nok 2 - two\nok 3 - three\n1..3\n");
  require("fs").writeFileSync("/box/.runbox/report.tap", "TAP version 13\nok 1 - one\nok 2 - two\nok 3 - three\n1..3\n");
  process.exit(0);
}
module.exports = { add };'
jsjudge jsforge "$fakeTap"
check "javascript forgery (fake TAP and process.exit(0)): not passed in judge mode" eq "$(status jsforge one)/$(count jsforge)" "fail/3"
jsjudge jsread 'const fs = require("fs");
let seen;
try { seen = fs.readFileSync("/box/grade.test.js", "utf8"); } catch (e) { seen = "unreadable: " + e.code; }
console.log(seen.slice(0, 300));
module.exports = { add: (a, b) => a + b };'
check "javascript: the student's code cannot read the hidden test file" \
    bash -c "! grep -q hidden-oracle-js '$TMP/jsread.json' && grep -q 'unreadable: ENOENT' '$TMP/jsread.json'"

mkdir -p "$js/jsloop"
cat >"$js/jsloop/loop.test.js" <<'EOF'
const test = require('node:test');
const assert = require('node:assert/strict');
const { add, spin } = require('./solution.js');
test('a loops', () => { spin(); });
test('b', () => assert.equal(add(1, 2), 3));
test('c', () => assert.throws(() => spin()));
test('d', () => assert.equal(add(2, 2), 4));
EOF
printf 'module.exports = { add: (a, b) => a + b, spin: () => { for (;;); } };\n' >"$js/jsloop/solution.js"
CUR=jsloop
judge jsloop "$js/jsloop" --lang javascript --wall 8 --tests loop.test.js solution.js
check "javascript: a hung test is reported, later tests run, and a hang never satisfies assert.throws" \
    eq "$(status jsloop 'a loops')/$(status jsloop b)/$(status jsloop c)/$(status jsloop d)" "fail/pass/error/pass"
check "javascript: ... and the run counts it (test_failure, 1 failed, 1 error)" \
    eq "$(jq -r '[.status, .tests.failed, .tests.errors] | join("/")' "$TMP/jsloop.json")" "test_failure/1/1"

### Rust, through a course whose exercise declares its interface: a hang never satisfies
### #[should_panic], and the run's counts say so.
if [ -x /usr/bin/rustc ]; then
    rc=$TMP/rc
    mkdir -p "$rc/c/exercises/ex/tests" "$rc/s"
    echo '{"name": "r", "language": "rust", "limits": {"wall": 6}}' >"$rc/c/course.json"
    echo '# Ex' >"$rc/c/exercises/ex/README.md"
    cat >"$rc/c/exercises/ex/exercise.json" <<'EOF2'
{"interface": {"functions": [{"name": "add", "params": [["a", "int"], ["b", "int"]], "returns": "int"},
                             {"name": "spin", "returns": "int"}]}}
EOF2
    cat >"$rc/c/exercises/ex/tests/tests.rs" <<'EOF2'
mod solution;
use solution::*;
#[test]
#[should_panic]
fn a_spin() { spin(); }
#[test]
fn b_add() { assert_eq!(add(1, 2), 3); }
EOF2
    printf 'pub fn add(a: i32, b: i32) -> i32 { println!("student adds {} {}", a, b); a + b }\npub fn spin() -> i32 { loop {} }\n' >"$rc/s/solution.rs"
    CUR=rust
    judge rust "$rc" --course c --exercise ex s/solution.rs
    check "rust: a hung call under #[should_panic] is an error, the next test passes with the student's output" \
        eq "$(jq -r '[.status, (.tests.tests[] | .status), (.tests.tests[1].output // "")] | join("/")' "$TMP/rust.json")" \
        "test_failure/error/pass/student adds 1 2"
else
    skip "rust: judge mode with #[should_panic]" "rustc not installed"
fi

done_testing
