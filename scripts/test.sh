#!/usr/bin/env bash
# Sets up (packages, builds) and runs every test: the whole suite on the normal build and again
# on an ASan+UBSan build, then the fuzzers. Ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
# Every language file's toolchain, so that every language is tested (apt-get, the trixie image).
build/runbox languages install --all >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
if [ ! -d build-san ]; then
    meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-san >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
export SBX_MUST_WORK=${SBX_MUST_WORK:-1}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
total_p=0
total_f=0
add() { # add the "N passed, N failed" line of the log $1
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n1)
    if [ -z "$line" ]; then
        total_f=$((total_f + 1))
        return
    fi
    total_p=$((total_p + $(cut -d' ' -f1 <<<"$line")))
    total_f=$((total_f + $(cut -d' ' -f3 <<<"$line")))
}
log=$(mktemp /tmp/runbox-ci.XXXXXX)
for b in build build-san; do
    echo "### test suite on $b"
    bash tests/run.sh "$b" 2>&1 | tee "$log" | sed 's/ passed, / passed (this build), /'
    add "$log"
done
echo "### fuzzing"
bash fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee "$log"
total_p=$((total_p + $(grep -c '^ok ' "$log")))
total_f=$((total_f + $(grep -c '^not ok ' "$log")))
rm -f "$log"
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
