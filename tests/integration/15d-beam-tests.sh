#!/usr/bin/env bash
# Test mode on the BEAM (runbox test --in-process): EUnit for Erlang (languages/support/
# runbox_eunit.erl) and ExUnit for Elixir (runbox_exunit.exs) report each test by name with the
# right status, from the report channel: a suite that passes (exercism's track style), one with
# a test of each outcome (a failed assertion, an exception, a test that never ends and is cut
# at its time budget while the later ones still run), a compile error in the student's module,
# a student's module that forges results (runbox-jsonl and the framework's verdict on stdout, a
# report file in /box/.runbox), one that halts the VM with status 0 halfway, and one that eats
# the memory in the middle of a test; for Elixir also a test file that does not compile.
#
# The cases live in tests/programs/{erlang,elixir}/tests/CASE/ (no "expect" file: 15-tests.sh
# leaves them to this script, whose checks are per test). Test files: *_tests.erl (EUnit's
# convention), *_test.exs and test_helper.exs; every other file is the student's.
. "$(dirname "$0")/../lib.sh"

installed() { "$RUNBOX" languages --json | jq -e ".[] | select(.name==\"$1\") | .installed" >/dev/null; }

# run_case LANG CASE: runbox test --json over the case's files into $OUT, rc in RB_RC.
run_case() {
    local dir=$PROGS/$1/tests/$2 args=(--lang "$1" --in-process) students=() f
    for f in "$dir"/*; do
        case $(basename "$f") in
        *_tests.erl | *_test.exs | test_helper.exs) args+=(--tests "$f") ;;
        *) students+=("$f") ;;
        esac
    done
    OUT=$TMP/$1-$2.json
    "$RUNBOX" test --json "${args[@]}" "${students[@]}" >"$OUT" 2>"$OUT.err" </dev/null
    RB_RC=$?
}

# check NAME JQ_FILTER: the filter holds for $OUT.
check() {
    jq_is "$2" "$OUT"
    tap $? "$1" || diag "$(jq -c '{status, message, compile: (.compile.error + .compile.output)[0:400],
        tests: [.tests.tests[]? | [.name, .status, (.message // "")[0:200]]], running: .tests.running}' \
        "$OUT" 2>&1 | head -c 2000) $(head -c 300 "$OUT.err")"
}

# The statuses of the tests by name, as one object.
STATUSES='[.tests.tests[] | {(.name): .status}] | add'

for lang in erlang elixir; do
    if ! installed "$lang"; then
        skip "$lang: test mode" "toolchain not installed"
        continue
    fi
    case $lang in
    erlang)
        pass_names='["no name given", "a name given", "another name given"]'
        fail_statuses='{"add_small_test": "pass", "add_two_test": "fail", "divide_test": "error",
            "loop_test": "error", "many_test_:20": "pass", "five": "pass", "in a fixture": "pass",
            "after_test": "pass"}'
        failed=add_two_test crashed=divide_test looped=loop_test
        forge_statuses='{"add_test": "fail", "add_zero_test": "pass"}'
        halt_first=add_one_test bomb=b_test
        broken_where='calc.erl:4'
        ;;
    elixir)
        pass_names='["test no name given", "test a name given", "test another name given"]'
        fail_statuses='{"test adds small numbers": "pass", "test adds two and two": "fail",
            "test divides by zero": "error", "test loops": "error", "test zero adds nothing": "pass"}'
        failed='test adds two and two' crashed='test divides by zero' looped='test loops'
        forge_statuses='{"test adds": "fail", "test adds zero": "pass"}'
        halt_first='test adds one' bomb='test b'
        broken_where='calc.ex:5'
        ;;
    esac

    run_case "$lang" pass
    check "$lang pass: success, every test passed, named as the suite names them" \
        ".status == \"success\" and .tests.passed == 3 and [.tests.tests[].name] == $pass_names"
    [ "$RB_RC" = 0 ]
    tap $? "$lang pass: runbox test exits 0" || diag "rc=$RB_RC"

    run_case "$lang" fail
    check "$lang fail: each test's status by name (the ones after a hung test ran too)" \
        ".status == \"test_failure\" and ($STATUSES) == ($fail_statuses)"
    check "$lang fail: a failed assertion says what it expected and got" \
        "[.tests.tests[] | select(.name == \"$failed\") | .message | test(\"expected|left\") and test(\"value|right\")] == [true]"
    check "$lang fail: an exception names itself and the student's line" \
        "[.tests.tests[] | select(.name == \"$crashed\") | .message | test(\"div\") and test(\"calc\\\\.exs?:[0-9]|calc\\\\.erl, line\")] == [true]"
    check "$lang fail: the endless test timed out at its budget" \
        "[.tests.tests[] | select(.name == \"$looped\") | .message | test(\"^timed out after\")] == [true]"
    check "$lang fail: what a test printed is reported with it" \
        "[.tests.tests[] | select(.name == \"$failed\") | .output] == [\"adding 2 and 2\\n\"]"
    check "$lang fail: tests carry their source (test_code)" \
        "[.tests.tests[] | .test_code // \"\" | length > 0] | all"
    [ "$RB_RC" = 1 ]
    tap $? "$lang fail: runbox test exits 1" || diag "rc=$RB_RC"

    run_case "$lang" broken
    check "$lang broken: a compile error in the student's module is a compile_error with the compiler's message" \
        ".status == \"compile_error\" and ((.compile.error + .compile.output) | contains(\"$broken_where\")) and ((.tests.tests // []) | length) == 0"

    run_case "$lang" forge
    check "$lang forge: printed events, printed verdicts and a report file do not count" \
        ".status == \"test_failure\" and ($STATUSES) == ($forge_statuses) and
         ([.output, .tests.tests[].output // \"\"] | add | contains(\"forged\"))"

    run_case "$lang" halt
    check "$lang halt: a VM halted with status 0 halfway is no success, and the test before it passed" \
        ".status != \"success\" and .tests.status != \"pass\" and .tests.passed == 1 and
         [.tests.tests[] | select(.status == \"pass\") | .name] == [\"$halt_first\"] and
         (.tests.tests | length) == 3"

    if [ "$lang" = elixir ]; then
        run_case "$lang" noload
        check "$lang noload: a test file that does not compile is one errored test, with Elixir's message" \
            ".status == \"test_failure\" and [.tests.tests[] | [.name, .status]] == [[\"loading calc_test.exs\", \"error\"]] and
             (.tests.tests[0].message | test(\"CompileError.*calc_test.exs:9\"))"
    fi

    run_case "$lang" memory
    check "$lang memory: memory_limit while a test runs: that test is named, the one before passed" \
        ".status == \"memory_limit\" and .tests.running == \"$bomb\" and .tests.passed == 1"
done

done_testing
