#!/usr/bin/env bash
# The browser page benchmark (bench/web.mjs): Run-to-output on the server and in the browser,
# page load, Pyodide's start, the wasm compile; one run, side by side, with ratios.
#   bench/web.sh            (RUNBOX_BUILD=DIR, default build/; BENCH_N=N runs, default 15)
# Needs the built page (web/build.sh), /usr/bin/chromium and root (runbox serve's sandbox).
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RUNBOX_BUILD:-$ROOT/build}
TMP=$(mktemp -d /tmp/runbox-bench-web.XXXXXX)
"$BUILD/runbox" serve --listen 127.0.0.1:0 --data "$TMP/data" --no-auth --web "$ROOT/web/dist" \
    >"$TMP/out" 2>"$TMP/err" </dev/null &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
URL=
for _ in $(seq 100); do
    URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/out")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "bench/web.sh: the server did not start: $(cat "$TMP/err")" >&2; exit 2; }
echo "runbox:   $BUILD/runbox ($(git -C "$ROOT" rev-parse --short HEAD)); $(nproc) CPUs; $URL"
BENCH_URL=$URL node "$ROOT/bench/web.mjs"
