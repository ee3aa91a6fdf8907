#!/usr/bin/env bash
# Every language, for real, from its programs in tests/programs/LANG/: hello world, stdin read
# whole by the language's usual idiom (echo) and through /dev/stdin (devstdin, where the
# language has a way to name it), arguments, a nonzero exit, a compile error where the language
# compiles, an uncaught runtime error (crash), unbounded memory (memory: reported as
# memory_limit under the language's own limits) and an endless loop (spin: timeout under
# --time 1), and every language file's self-test.
# A language that cannot do an item at all (SQL has no program arguments) says so in
# tests/programs/LANG/SKIP, a line "ITEM: why" per item (devstdin args exit3 broken crash memory
# spin): the item is reported as skipped with that reason, and never fails (not_here: it is the
# language, not the host). A missing program without such a line is a failure, and so is a
# program that also has one. broken is required of compiled languages only.
# LANGS="ruby php" limits the loop to those directories (whole names: "objective-c" is not
# "c"). A directory is named after the language it runs with --lang: tests/programs/python@3.13/
# holds links to python's programs. On the sanitizer build (a RUNBOX under build-san) each language runs hello, echo and
# crash only: the rest exercise the same runbox code with other toolchains, and the normal
# build runs them all.
. "$(dirname "$0")/../lib.sh"

SAN=0
case $RUNBOX in *build-san*) SAN=1 ;; esac

prog() { # LANG NAME: the test program's path (Java names files after their class)
    local d=$PROGS/$1
    ls "$d"/"$2".* "$d"/"${2^}".* 2>/dev/null | head -n1
}

# want LANG ITEM: put LANG's ITEM program in p and succeed; without one, report the SKIP file's
# reason (or a failure without one) and fail.
want() {
    local why
    p=$(prog "$1" "$2")
    why=$(sed -n "s/^$2:[[:space:]]*//p" "$PROGS/$1/SKIP" 2>/dev/null | head -n1)
    if [ -n "$p" ] && [ -n "$why" ]; then
        tap 1 "$1: tests/programs/$1 has a $2 program and a SKIP line for it"
        return 1
    elif [ -n "$p" ]; then
        return 0
    elif [ -n "$why" ]; then
        not_here "$1: $2" "$why"
    else
        tap 1 "$1: tests/programs/$1 has a $2 program (or a SKIP line saying why it cannot)"
    fi
    return 1
}

printf 'line one\nline two\n\xce\xbb done\n' >"$TMP/stdin.txt"

for dir in "$PROGS"/*/; do
    lang=$(basename "$dir")
    if [ -n "${LANGS:-}" ] && [[ " $LANGS " != *" $lang "* ]]; then
        continue
    fi
    if ! "$RUNBOX" languages --json | jq -e ".[] | select(.name==\"$lang\") | .installed" >/dev/null; then
        skip "$lang" "toolchain not installed"
        continue
    fi
    f=$TMP/$lang.json

    rb_run "$f" --lang "$lang" "$(prog "$lang" hello)"
    expect "$lang: hello world runs" "$f" status success
    expect "$lang: hello world prints" "$f" output "Hello, World!"

    rb_run "$f" --lang "$lang" --stdin "$TMP/stdin.txt" "$(prog "$lang" echo)"
    got=$(jq -r .output "$f")
    [ "$got" = "$(cat "$TMP/stdin.txt")" ]
    tap $? "$lang: stdin is echoed byte for byte" || diag "$(head -c 600 "$f")"

    if want "$lang" crash; then
        rb_run "$f" --lang "$lang" "$p"
        expect "$lang: an uncaught error is a runtime_error" "$f" status runtime_error
        [ "$(jq -r '.exit_code // .signal' "$f")" != 0 ] && [ "$(jq -r '.error | length' "$f")" -gt 0 ]
        tap $? "$lang: the error has a nonzero status and a message" || diag "$(head -c 600 "$f")"
    fi
    [ "$SAN" = 1 ] && continue

    if want "$lang" devstdin; then
        rb_run "$f" --lang "$lang" --stdin "$TMP/stdin.txt" "$p"
        [ "$(jq -r .output "$f")" = "$(cat "$TMP/stdin.txt")" ]
        tap $? "$lang: stdin read through /dev/stdin" || diag "$(head -c 600 "$f")"
    fi

    if want "$lang" memory; then
        rb_run "$f" --lang "$lang" "$p"
        expect "$lang: unbounded memory is a memory_limit" "$f" status memory_limit
    fi

    if want "$lang" spin; then
        rb_run "$f" --lang "$lang" --time 1 --wall 5 "$p"
        expect "$lang: an endless loop is a timeout" "$f" status timeout
    fi

    if want "$lang" args; then
        rb_run "$f" --lang "$lang" "$p" -- one "two words" ''
        [ "$(jq -r .output "$f")" = "$(printf 'one\ntwo words\n')" ] &&
            [ "$(jq -r '.output | split("\n") | length' "$f")" = 4 ]
        tap $? "$lang: arguments arrive intact" || diag "$(head -c 600 "$f")"
    fi

    if want "$lang" exit3; then
        rb_run "$f" --lang "$lang" "$p"
        expect "$lang: nonzero exit is a runtime_error" "$f" status runtime_error
        expect "$lang: exit code 3 is reported" "$f" exit_code 3
        [ "$RB_RC" = 3 ]
        tap $? "$lang: runbox exits with the program's code" || diag "rc=$RB_RC"
        expect "$lang: stderr is kept apart" "$f" error "bye"
    fi

    compiled=$("$RUNBOX" languages --json | jq -r ".[] | select(.name==\"$lang\") | .compiled")
    if { [ "$compiled" = true ] || [ -n "$(prog "$lang" broken)" ]; } && want "$lang" broken; then
        rb_run "$f" --lang "$lang" "$p"
        expect "$lang: compile error is compile_error" "$f" status compile_error
        [ "$(jq -r '.compile.error + .compile.output | length' "$f")" -gt 0 ] && [ "$RB_RC" != 0 ] &&
            [ "$RB_RC" != 125 ]
        tap $? "$lang: compiler diagnostics and exit code are reported" || diag "rc=$RB_RC"
    fi
done

# Plain output (no --json): stdout and stderr pass through, exit code preserved.
out=$("$RUNBOX" run "$PROGS/python/exit3.py" 2>"$TMP/err" </dev/null)
rc=$?
[ "$rc" = 3 ] && grep -q '^bye$' "$TMP/err" && [ -z "$out" ]
tap $? "plain mode passes stderr through and keeps the exit code"

"$RUNBOX" selftest >"$TMP/selftest" 2>&1
rc=$?
grep -q ' 0 failed' "$TMP/selftest" && [ "$rc" = 0 ]
tap $? "every language file's self-test passes" || diag "$(cat "$TMP/selftest")"

done_testing
