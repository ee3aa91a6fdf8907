#!/usr/bin/env bash
# Judge mode for Rust and Go (docs/judge.md): courses whose exercise.json declares an
# "interface", run with runbox test --course. An honest solution passes; a wrong one fails with
# the test's message; the forgeries (Rust: fake libtest lines then process::exit(0); Go: fake
# "--- PASS" lines and os.Exit(0) from init) come back not-passed; the hidden test file cannot be
# embedded in the student's code; a call that never returns fails its test only.
. "$(dirname "$0")/../lib.sh"

C=$TMP/course
# course LANG FRAMEWORK: an empty course in $C/LANG
course() {
    mkdir -p "$C/$1/exercises/ex/tests"
    printf '{"name": "%s", "language": "%s", "limits": {"time": 10, "wall": 10, "memory_mb": 512},
 "runner": {"type": "sandbox", "framework": "%s"}}\n' "$1" "$1" "$2" >"$C/$1/course.json"
    echo "# ex" >"$C/$1/exercises/ex/README.md"
    cat >"$C/$1/exercises/ex/exercise.json" <<'J'
{"interface": {
  "functions": [{"name": "add", "params": [["a", "int"], ["b", "int"]], "returns": "int"},
                {"name": "words", "params": [["s", "string"]], "returns": "string[]"}],
  "classes": [{"name": "Clock", "constructor": [["h", "int"], ["m", "int"]],
               "methods": [{"name": "plus", "params": [["m", "int"]], "returns": "Clock"},
                           {"name": "show", "params": [], "returns": "string"}]}]}}
J
}

# check NAME LANG FILE WANT_STATUS WANT_PASSED [MESSAGE_GREP]
check() {
    local name=$1 lang=$2 file=$3 status=$4 passed=$5 grep=${6:-} out=$TMP/$1.json
    "$RUNBOX" test --json --course "$C/$lang" --exercise ex "$file" >"$out" 2>"$out.err" </dev/null
    local got_s got_p
    got_s=$(jq -r .status "$out" 2>/dev/null)
    got_p=$(jq -r '.tests.passed // 0' "$out" 2>/dev/null)
    if [ "$got_s" = "$status" ] && [ "$got_p" = "$passed" ] &&
        { [ -z "$grep" ] || jq -r '.tests.tests[]?.message // empty' "$out" | grep -q "$grep"; }; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "want status=$status passed=$passed ${grep:+message~$grep}; got status=$got_s passed=$got_p"
        diag "$(head -c 2000 "$out") $(head -c 500 "$out.err")"
    fi
}

if "$RUNBOX" languages --json | jq -e '.[] | select(.name=="rust") | .installed' >/dev/null; then
    course rust libtest
    sed -i 's/"words"/"word_list"/; s/"plus"/"plus"/' "$C/rust/exercises/ex/exercise.json"
    cat >"$C/rust/exercises/ex/tests/tests.rs" <<'EOF2'
mod solution;
use solution::*;

#[test]
fn a_adds() {
    let got = add(2, 3);
    assert!(got == 5, "expected 5, got {}", got);
}
#[test]
fn b_clock() {
    assert_eq!(Clock::new(8, 0).plus(61).show(), "09:01");
}
#[test]
#[ignore]
fn c_ignored_runs_too() {
    assert_eq!(word_list("a bb c"), vec!["a", "bb", "c"]);
}
#[test]
#[should_panic(expected = "negative")]
fn d_panics() {
    add(-1, 0);
}
EOF2
    mkdir -p "$TMP/rs/ok" "$TMP/rs/wrong" "$TMP/rs/forge" "$TMP/rs/embed" "$TMP/rs/loop"
    cat >"$TMP/rs/ok/solution.rs" <<'EOF2'
pub fn add(a: i32, b: i32) -> i32 {
    if a < 0 { panic!("negative") }
    a + b
}
pub fn word_list(s: &str) -> Vec<String> { s.split_whitespace().map(String::from).collect() }
pub struct Clock { min: i32 }
impl Clock {
    pub fn new(h: i32, m: i32) -> Clock { Clock { min: (h * 60 + m) % 1440 } }
    pub fn plus(&self, m: i32) -> Clock { Clock { min: (self.min + m) % 1440 } }
    pub fn show(&self) -> String { format!("{:02}:{:02}", self.min / 60, self.min % 60) }
}
EOF2
    sed 's/a + b$/a - b/' "$TMP/rs/ok/solution.rs" >"$TMP/rs/wrong/solution.rs"
    sed 's/if a < 0 { panic!("negative") }/println!("test a_adds ... ok\\ntest b_clock ... ok\\ntest c_ignored_runs_too ... ok\\ntest d_panics ... ok\\n\\ntest result: ok. 4 passed; 0 failed"); std::process::exit(0);/' \
        "$TMP/rs/ok/solution.rs" >"$TMP/rs/forge/solution.rs"
    { cat "$TMP/rs/ok/solution.rs"; echo 'pub const T: &str = include_str!("tests.rs");'; } >"$TMP/rs/embed/solution.rs"
    sed 's/if a < 0 { panic!("negative") }/if a == 2 { loop {} }/' "$TMP/rs/ok/solution.rs" >"$TMP/rs/loop/solution.rs"

    check rust-honest rust "$TMP/rs/ok/solution.rs" success 4
    check rust-wrong rust "$TMP/rs/wrong/solution.rs" test_failure 3 "expected 5, got -1"
    check rust-forged-output-and-exit rust "$TMP/rs/forge/solution.rs" test_failure 2 "crashed"
    check rust-include-str-of-the-tests rust "$TMP/rs/embed/solution.rs" compile_error 0
    check rust-loop-first rust "$TMP/rs/loop/solution.rs" test_failure 2 "timed out"
else
    skip rust "rust not installed"
fi

if "$RUNBOX" languages --json | jq -e '.[] | select(.name=="go") | .installed' >/dev/null; then
    course go go-test
    sed -i 's/"add"/"Add"/; s/"words"/"Words"/; s/"plus"/"Plus"/; s/"show"/"Show"/' \
        "$C/go/exercises/ex/exercise.json"
    cat >"$C/go/exercises/ex/tests/ex_test.go" <<'EOF2'
package ex

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Fatalf("expected 5, got %d", got)
	}
}

func TestClock(t *testing.T) {
	if got := NewClock(8, 0).Plus(61).Show(); got != "09:01" {
		t.Fatalf("expected 09:01, got %q", got)
	}
}

func TestWords(t *testing.T) {
	if w := Words("a bb c"); len(w) != 3 || w[1] != "bb" {
		t.Fatalf("expected [a bb c], got %v", w)
	}
}
EOF2
    mkdir -p "$TMP/go/ok" "$TMP/go/wrong" "$TMP/go/forge" "$TMP/go/embed" "$TMP/go/loop"
    cat >"$TMP/go/ok/ex.go" <<'EOF2'
package ex

import (
	"fmt"
	"strings"
)

func Add(a, b int) int { return a + b }

func Words(s string) []string { return strings.Fields(s) }

type Clock struct{ min int }

func NewClock(h, m int) *Clock { return &Clock{(h*60 + m) % 1440} }

func (c *Clock) Plus(m int) Clock { return Clock{(c.min + m) % 1440} }

func (c Clock) Show() string { return fmt.Sprintf("%02d:%02d", c.min/60, c.min%60) }
EOF2
    sed 's/return a + b/return a - b/' "$TMP/go/ok/ex.go" >"$TMP/go/wrong/ex.go"
    { cat "$TMP/go/ok/ex.go"; printf '\nfunc init() {\n\tfmt.Println("=== RUN   TestAdd\\n--- PASS: TestAdd (0.00s)\\n=== RUN   TestClock\\n--- PASS: TestClock (0.00s)\\n=== RUN   TestWords\\n--- PASS: TestWords (0.00s)\\nPASS")\n\tos.Exit(0)\n}\n'; } |
        sed 's/^import (/import (\n\t"os"/' >"$TMP/go/forge/ex.go"
    { sed 's/^import (/import (\n\t_ "embed"/' "$TMP/go/ok/ex.go"; printf '\n//go:embed ex_test.go\nvar tests string\n'; } >"$TMP/go/embed/ex.go"
    sed 's/return a + b/for a == 2 {\n\t}\n\treturn a + b/' "$TMP/go/ok/ex.go" >"$TMP/go/loop/ex.go"

    check go-honest go "$TMP/go/ok/ex.go" success 3
    check go-wrong go "$TMP/go/wrong/ex.go" test_failure 2 "expected 5, got -1"
    check go-forged-pass-lines-and-exit-from-init go "$TMP/go/forge/ex.go" test_failure 0
    check go-embed-the-tests go "$TMP/go/embed/ex.go" compile_error 0
    check go-loop-first go "$TMP/go/loop/ex.go" test_failure 2 "timed out"
else
    skip go "go not installed"
fi

done_testing
