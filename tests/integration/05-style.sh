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

# Every JSON text runbox writes goes through json_dumps_fixed() & co (src/common/json.h), so reals
# print at one fixed precision everywhere: a direct json_dump*() call is a miss.
cd "$ROOT"
out=$(grep -rnE '\bjson_dump(s|f|fd|b|_file|_callback)\(' src | grep -v '^src/common/json\.c:')
[ -z "$out" ]
tap $? "JSON is written only through json_dumps_fixed() and its siblings" || diag "$out"
done_testing
