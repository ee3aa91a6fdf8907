#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang, replays every corpus file, then fuzzes each
# harness for SECONDS (default 20). Crashers land in fuzz/out/ and fail the run; add them to
# fuzz/corpus/<name>/ once fixed. Prints TAP.
set -u
cd "$(dirname "$0")/.."
secs=${1:-20}
# The libraries get the coverage instrumentation too (fuzzer-no-link): without it libFuzzer sees
# only the harness's own branches and mutates blindly.
if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >/dev/null || { echo "not ok 1 - fuzz build setup"; exit 1; }
fi
meson configure build-fuzz -Dc_args=-fsanitize=fuzzer-no-link >/dev/null ||
    { echo "not ok 1 - fuzz build setup"; exit 1; }
# Every harness fuzz/fuzz_NAME.c with a corpus in fuzz/corpus/NAME/.
harnesses=()
for f in fuzz/fuzz_*.c; do
    h=$(basename "$f" .c); h=${h#fuzz_}
    [ -d fuzz/corpus/$h ] && harnesses+=("$h")
done
ninja -C build-fuzz "${harnesses[@]/#/fuzz/fuzz_}" >/dev/null ||
    { echo "not ok 1 - fuzz build"; exit 1; }
n=0
fail=0
mkdir -p fuzz/out
for h in "${harnesses[@]}"; do
    bin=build-fuzz/fuzz/fuzz_$h
    n=$((n + 1))
    if "$bin" -runs=0 fuzz/corpus/$h >/tmp/fuzz-$h.log 2>&1; then
        echo "ok $n - fuzz_$h replays its corpus"
    else
        echo "not ok $n - fuzz_$h replays its corpus"; tail -20 /tmp/fuzz-$h.log | sed 's/^/# /'; fail=1
    fi
    n=$((n + 1))
    work=$(mktemp -d /tmp/runbox-fuzz.XXXXXX)
    dict=(); [ -f fuzz/$h.dict ] && dict=(-dict=fuzz/$h.dict)
    if "$bin" -max_total_time="$secs" -max_len=4096 -artifact_prefix=fuzz/out/ "${dict[@]}" \
        "$work" fuzz/corpus/$h >/tmp/fuzz-$h.log 2>&1; then
        echo "ok $n - fuzz_$h ran ${secs}s without a crash"
    else
        echo "not ok $n - fuzz_$h found a crash"; tail -30 /tmp/fuzz-$h.log | sed 's/^/# /'; fail=1
    fi
    rm -rf "$work" /tmp/fuzz-$h.log
done
echo "1..$n"
exit $fail
