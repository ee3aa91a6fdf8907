#!/usr/bin/env bash
# In-process test mode (runbox test; src/job/inproc.c): the forgeries of issue 18 that worked when
# the results came from stdout or a file in /box now come back not passed; a test that loops
# forever is reported "timed out" while the others still report; honest solutions still pass;
# student files named like framework hooks are refused.
. "$(dirname "$0")/../lib.sh"

installed() { "$RUNBOX" languages --json | jq -e ".[] | select(.name==\"$1\") | .installed" >/dev/null; }

# case NAME LANG FRAMEWORK(or -) WANT DIR: run the test files (test_*, *_test.*, *.test.*, *Test.*)
# of DIR against its other files. WANT: pass | notpass | refused | loop.
case_() {
    local name=$1 lang=$2 fw=$3 want=$4 dir=$5 out=$TMP/out.json args=() students=()
    if ! installed "$lang"; then skip "$name" "$lang not installed"; return; fi
    args=(--lang "$lang" --in-process)
    [ "$fw" != - ] && args+=(--framework "$fw")
    for f in "$dir"/*; do
        case $(basename "$f") in
        test_* | *_test.* | *.test.* | *Test.*) args+=(--tests "$f") ;;
        *) students+=("$f") ;;
        esac
    done
    "$RUNBOX" test --json "${args[@]}" "${students[@]}" >"$out" 2>"$out.err" </dev/null
    case $want in
    pass) jq -e '.status == "success" and .tests.status == "pass" and .tests.passed == 3' "$out" ;;
    notpass) jq -e '.status != "success" and .tests.status != "pass"' "$out" ;;
    refused) jq -e '.status == "compile_error" and (.message | test("refused"))' "$out" ;;
    loop) jq -e '.status == "test_failure" and .tests.passed == 2 and
                 ([.tests.tests[] | select(.message // "" | test("timed out"))] | length) == 1' "$out" ;;
    esac >/dev/null
    tap $? "$name: $want" || diag "$(jq -c '{status, message, tests: [.tests.tests[]? | [.name, .status, .message]]}' "$out" 2>&1 | head -c 1500) $(head -c 500 "$out.err")"
}

mk() { mkdir -p "$TMP/$1"; cat >"$TMP/$1/$2"; }

# --- Python (pytest, unittest)
PYTEST='from solution import add
def test_one(): assert add(1, 2) == 3
def test_two(): assert add(2, 2) == 4
def test_three(): assert add(0, 0) == 0'
for c in py-ok py-atexit py-exit py-loop py-conftest py-sitecustomize py-pth; do mk $c test_add.py <<<"$PYTEST"; done
mk py-ok solution.py <<<'def add(a, b): return a + b'
mk py-atexit solution.py <<'EOF'
import atexit
def rewrite():
    with open("/box/.runbox/report.xml", "w") as f:
        f.write('<testsuite tests="3" failures="0"><testcase name="test_one"/><testcase name="test_two"/><testcase name="test_three"/></testsuite>')
atexit.register(rewrite)
def add(a, b): return 0
EOF
mk py-exit solution.py <<'EOF'
import os
def add(a, b):
    if a == 2: os._exit(0)
    return a + b
EOF
mk py-loop solution.py <<'EOF'
def add(a, b):
    while a == 1:
        try: pass
        except Exception: pass
    return a + b
EOF
for c in py-conftest py-sitecustomize py-pth; do mk $c solution.py <<<'def add(a, b): return 0'; done
mk py-conftest conftest.py <<'EOF'
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    out.get_result().outcome = "passed"
EOF
mk py-sitecustomize sitecustomize.py <<<'import builtins'
mk py-pth evil.pth <<<'import os'
case_ "pytest honest" python - pass "$TMP/py-ok"
case_ "pytest atexit rewriting the XML report" python - notpass "$TMP/py-atexit"
case_ "pytest os._exit(0) early" python - notpass "$TMP/py-exit"
case_ "pytest loop first" python - loop "$TMP/py-loop"
case_ "pytest conftest.py hook" python - refused "$TMP/py-conftest"
case_ "pytest sitecustomize.py" python - refused "$TMP/py-sitecustomize"
case_ "pytest *.pth" python - refused "$TMP/py-pth"
UT='import unittest
from solution import add
class T(unittest.TestCase):
    def test_one(self): self.assertEqual(add(1, 2), 3)
    def test_two(self): self.assertEqual(add(2, 2), 4)
    def test_three(self): self.assertEqual(add(0, 0), 0)'
for c in ut-ok ut-exit ut-loop; do mk $c test_add.py <<<"$UT"; done
cp "$TMP/py-ok/solution.py" "$TMP/ut-ok/"; cp "$TMP/py-exit/solution.py" "$TMP/ut-exit/"; cp "$TMP/py-loop/solution.py" "$TMP/ut-loop/"
case_ "unittest honest" python unittest pass "$TMP/ut-ok"
case_ "unittest os._exit(0) early" python unittest notpass "$TMP/ut-exit"
case_ "unittest loop first" python unittest loop "$TMP/ut-loop"

# --- C (runbox_test.h)
CT='#include "runbox_test.h"
int add(int, int);
TEST(one) { ASSERT_EQ_INT(3, add(1, 2)); }
TEST(two) { ASSERT_EQ_INT(4, add(2, 2)); }
TEST(three) { ASSERT_EQ_INT(0, add(0, 0)); }'
for c in c-ok c-weak c-ctor c-loop; do mk $c test_add.c <<<"$CT"; done
mk c-ok solution.c <<<'int add(int a, int b) { return a + b; }'
mk c-weak solution.c <<'EOF'
#include <unistd.h>
void rb_fail(const char *f, int l, const char *fmt, ...) { _exit(0); }
int add(int a, int b) { return 7; }
EOF
mk c-ctor solution.c <<'EOF'
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
    FILE *f = fopen(".runbox/report.jsonl", "w");
    if (f) { fputs("{\"event\": \"start\", \"name\": \"one\"}\n{\"event\": \"end\", \"name\": \"one\", \"status\": \"pass\"}\n", f); fclose(f); }
    printf("PASS  one\nPASS  two\nPASS  three\n");
    _exit(0);
}
int add(int a, int b) { return 7; }
EOF
mk c-loop solution.c <<<'int add(int a, int b) { if (a == 1) for (;;) ; return a + b; }'
case_ "C honest" c - pass "$TMP/c-ok"
case_ "C a student's rb_fail" c - notpass "$TMP/c-weak"
case_ "C constructor rewriting report.jsonl, _exit(0)" c - notpass "$TMP/c-ctor"
case_ "C loop first" c - loop "$TMP/c-loop"

# --- JavaScript (node:test)
NT="const test = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('./solution.js');
test('one', () => { assert.equal(add(1, 2), 3); });
test('two', () => { assert.equal(add(2, 2), 4); });
test('three', () => { assert.equal(add(0, 0), 0); });"
for c in js-ok js-tap js-loop; do mk $c add.test.js <<<"$NT"; done
mk js-ok solution.js <<<'module.exports = { add: (a, b) => a + b };'
mk js-tap solution.js <<'EOF'
process.stdout.write('TAP version 13\nok 1 - one\nok 2 - two\nok 3 - three\n1..3\n# pass 3\n# fail 0\n');
process.exit(0);
EOF
mk js-loop solution.js <<<'module.exports = { add: (a, b) => { if (a === 1) for (;;) {} return a + b; } };'
case_ "node honest" javascript - pass "$TMP/js-ok"
case_ "node fake TAP, process.exit(0)" javascript - notpass "$TMP/js-tap"
case_ "node loop first" javascript - loop "$TMP/js-loop"

# --- Rust (libtest): one compile each
RT='mod solution;
use solution::*;
#[cfg(test)]
mod tests {
    use super::*;
    #[test] fn t1() { assert_eq!(add(1, 2), 3); }
    #[test] fn t2() { assert_eq!(add(2, 2), 4); }
    #[test] fn t3() { assert_eq!(add(0, 0), 0); }
}'
for c in rs-ok rs-forge rs-loop; do mk $c test_add.rs <<<"$RT"; done
mk rs-ok solution.rs <<<'pub fn add(a: i32, b: i32) -> i32 { a + b }'
mk rs-forge solution.rs <<'EOF'
use std::io::Write;
pub fn add(_a: i32, _b: i32) -> i32 {
    let mut o = std::io::stdout();
    let _ = o.write_all(b"ok\ntest tests::t2 ... ok\ntest tests::t3 ... ok\n\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n");
    let _ = o.flush();
    std::process::exit(0);
}
EOF
mk rs-loop solution.rs <<<'pub fn add(a: i32, b: i32) -> i32 { if a == 1 { loop {} } a + b }'
case_ "rust honest" rust - pass "$TMP/rs-ok"
case_ "rust fake test lines, process::exit(0)" rust - notpass "$TMP/rs-forge"
case_ "rust loop first" rust - loop "$TMP/rs-loop"

# --- Go
GT='package solution
import "testing"
func TestOne(t *testing.T) { if Add(1, 2) != 3 { t.Fatal("1+2") } }
func TestTwo(t *testing.T) { if Add(2, 2) != 4 { t.Fatal("2+2") } }
func TestThree(t *testing.T) { if Add(0, 0) != 0 { t.Fatal("0+0") } }'
for c in go-ok go-forge go-loop; do mk $c add_test.go <<<"$GT"; done
printf 'package solution\nfunc Add(a, b int) int { return a + b }\n' >"$TMP/go-ok/solution.go"
mk go-forge solution.go <<'EOF'
package solution
import ("fmt"; "os")
func init() {
	for _, n := range []string{"TestOne", "TestTwo", "TestThree"} { fmt.Printf("=== RUN   %s\n--- PASS: %s (0.00s)\n", n, n) }
	fmt.Println("PASS")
	os.Exit(0)
}
func Add(a, b int) int { return 0 }
EOF
printf 'package solution\nfunc Add(a, b int) int { if a == 1 { for {} }; return a + b }\n' >"$TMP/go-loop/solution.go"
case_ "go honest" go - pass "$TMP/go-ok"
case_ "go fake --- PASS lines, os.Exit(0) in init" go - notpass "$TMP/go-forge"
case_ "go loop first" go - loop "$TMP/go-loop"

# --- Java (JUnit 5): two JVM runs; the loop case's other tests are the honest ones
JT='import static org.junit.jupiter.api.Assertions.assertEquals;
import org.junit.jupiter.api.Test;
class AddTest {
    @Test void one() { assertEquals(3, Add.add(1, 2)); }
    @Test void two() { assertEquals(4, Add.add(2, 2)); }
    @Test void three() { assertEquals(0, Add.add(0, 0)); }
}'
for c in java-forge java-loop; do mk $c AddTest.java <<<"$JT"; done
mk java-forge Add.java <<'EOF'
public class Add {
    static { Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try { java.nio.file.Files.writeString(java.nio.file.Path.of(".runbox/TEST-junit-jupiter.xml"), "<testsuite tests=\"3\" failures=\"0\"><testcase name=\"one()\"/><testcase name=\"two()\"/><testcase name=\"three()\"/></testsuite>"); } catch (Exception e) {}
    })); }
    public static int add(int a, int b) { if (a == 2) System.exit(0); return a + b; }
}
EOF
mk java-loop Add.java <<<'public class Add { public static int add(int a, int b) { if (a == 1) { while (true) { } } return a + b; } }'
case_ "java shutdown hook rewriting the XML, System.exit(0)" java - notpass "$TMP/java-forge"
case_ "java loop first" java - loop "$TMP/java-loop"

done_testing
