#!/usr/bin/env bash
# The C sources are clang-formatted (.clang-format, tested with Debian's clang-format 14).
. "$(dirname "$0")/../lib.sh"

if ! command -v clang-format >/dev/null; then
    skip "clang-format" "clang-format is not installed"
else
    cd "$ROOT"
    out=$(clang-format --dry-run --Werror src/*/*.[ch] tests/unit/*.c fuzz/*.c bench/*.c 2>&1)
    [ -z "$out" ]
    tap $? "every C file is clang-formatted" || diag "$(head -20 <<<"$out")"
fi
done_testing
