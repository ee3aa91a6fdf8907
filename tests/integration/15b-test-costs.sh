#!/usr/bin/env bash
# Test runs cost what they need (issue 19, item 5). Go: go test's build runs without go vet
# (8 of an uncached build's 8.7 s went to vet) unless the course asks for it with "vet": true
# (an exercise's exercise.json may say otherwise). The student's code below has a mistake that
# only vet finds (a %d given a string), so the status tells whether vet ran. Python's byte code
# (no PYTHONPYCACHEPREFIX in the boxes) is checked by tests/programs/python/tests/bytecode, run
# by 15-tests.sh (in-process) and 81-judge.sh (judge mode).
. "$(dirname "$0")/../lib.sh"

need_tools 15b-test-costs jq
if ! "$RUNBOX" languages --json | jq -e '.[] | select(.name == "go") | .installed' >/dev/null; then
    skip "go test without vet" "go not installed"
    done_testing
    exit 0
fi

cat >"$TMP/solution.go" <<'EOF2'
package solution

import "fmt"

func Show(n int) string { return fmt.Sprintf("%d", fmt.Sprint(n)) }
EOF2
mkdir -p "$TMP/go/exercises/ex/tests"
echo "# Ex" >"$TMP/go/exercises/ex/README.md"
cat >"$TMP/go/exercises/ex/tests/solution_test.go" <<'EOF2'
package solution

import "testing"

func TestShow(t *testing.T) {
	if got := Show(7); got == "" {
		t.Errorf("Show(7) is empty")
	}
}
EOF2

# gotest NAME COURSE_JSON [EXERCISE_JSON]: runbox test --json of the course's exercise
gotest() {
    echo "$2" >"$TMP/go/course.json"
    rm -f "$TMP/go/exercises/ex/exercise.json"
    [ -n "${3:-}" ] && echo "$3" >"$TMP/go/exercises/ex/exercise.json"
    "$RUNBOX" test --json --no-cache --course "$TMP/go" --exercise ex "$TMP/solution.go" \
        >"$TMP/$1.json" 2>"$TMP/$1.err" </dev/null
}
# result NAME: "STATUS" and, for a compile error, whether the output names vet's finding
result() {
    jq -r '.status + (if .status == "compile_error" then
             (if ((.compile.output + .compile.error) | test("wrong type")) then " (vet)" else "" end)
           else "" end)' "$TMP/$1.json" 2>/dev/null
}
check() { # check DESC NAME WANT
    local got
    got=$(result "$2")
    [ "$got" = "$3" ]
    tap $? "$1" || diag "got '$got': $(head -c 1500 "$TMP/$2.json") $(head -c 500 "$TMP/$2.err")"
}

gotest default '{"name": "go", "language": "go"}'
check "go: a course's test build runs without go vet by default" default success
gotest vet '{"name": "go", "language": "go", "vet": true}'
check "go: \"vet\": true in course.json runs go vet's checks (a compile error)" vet "compile_error (vet)"
gotest exoff '{"name": "go", "language": "go", "vet": true}' '{"vet": false}'
check "go: an exercise's \"vet\": false wins over the course's" exoff success
gotest exon '{"name": "go", "language": "go"}' '{"vet": true}'
check "go: an exercise's \"vet\": true turns it on" exon "compile_error (vet)"

# runbox test without a course: vet off too
"$RUNBOX" test --json --no-cache --in-process --lang go --tests "$TMP/go/exercises/ex/tests/solution_test.go" \
    "$TMP/solution.go" >"$TMP/cli.json" 2>"$TMP/cli.err" </dev/null
check "go: runbox test (no course) builds without go vet" cli success

"$RUNBOX" course validate "$TMP/go" >/dev/null 2>&1 # a valid course, exercise.json as last left
echo '{"name": "go", "language": "go", "vet": "yes"}' >"$TMP/go/course.json"
"$RUNBOX" course validate "$TMP/go" >"$TMP/v.out" 2>&1
[ $? != 0 ] && grep -q 'vet: must be true or false' "$TMP/v.out"
tap $? "a \"vet\" that is not a boolean is refused naming the key" || diag "$(cat "$TMP/v.out")"

done_testing
