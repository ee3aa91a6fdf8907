#!/usr/bin/env bash
# The browser page (web/) end to end: a real `runbox serve --web web/dist` with the tests' own
# course, driven in headless Chromium by tests/e2e/web.test.mjs (playwright-core), whose TAP lines
# are this script's. Screenshots and the browser's request log go to
# ${RUNBOX_TEST_OUT:-test-output}/<build dir>/web/. Skipped when web/dist, Chromium or
# playwright-core is missing (a failure under SBX_MUST_WORK=1).
. "$(dirname "$0")/../lib.sh"

WEB=$ROOT/web/dist
CHROME=${RUNBOX_CHROMIUM:-/usr/bin/chromium}
E2E=$ROOT/tests/e2e
COURSE=$E2E/courses/e2e-python
NAME="the browser page end to end (tests/e2e)"

missing=""
[ -f "$WEB/index.html" ] || missing="$missing web/dist (bash web/build.sh);"
[ -x "$CHROME" ] || missing="$missing $CHROME (apt-get install chromium);"
[ -f "$ROOT/web/node_modules/playwright-core/package.json" ] ||
    missing="$missing web/node_modules/playwright-core (cd web && npm ci);"
for tool in node curl jq; do
    command -v "$tool" >/dev/null || missing="$missing $tool;"
done
if [ -n "$missing" ]; then
    skip "$NAME" "missing:$missing"
    done_testing
    exit
fi
if ! "$RUNBOX" serve --help 2>&1 | grep -q -- '--web'; then
    skip "$NAME" "this runbox serve has no --web"
    done_testing
    exit
fi

"$RUNBOX" course check --starter "$COURSE" >"$TMP/check.out" 2>&1
tap $? "the e2e course checks: solutions pass, starters do not (runbox course check --starter)" || diag "$(cat "$TMP/check.out")"

if ! srv_start "$TMP/data" --no-auth --workers 2 --web "$WEB" --courses "$COURSE"; then
    tap 1 "runbox serve --web starts"
    done_testing
    exit
fi
tap 0 "runbox serve --web starts"

SHOTS=${RUNBOX_TEST_OUT:-$ROOT/test-output}/$(basename "$(dirname "$RUNBOX")")/web
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png "$SHOTS/requests.log"

env E2E_URL="$SRV_URL" E2E_SERVER_PID="$SRV_PID" E2E_SHOTS="$SHOTS" E2E_TAP_START="$T_NUM" \
    E2E_COURSE="$(basename "$COURSE")" E2E_CHROMIUM="$CHROME" \
    node "$E2E/web.test.mjs" >"$TMP/e2e.tap" 2>"$TMP/e2e.err"
rc=$?
cat "$TMP/e2e.tap"
n_ok=$(grep -c '^ok ' "$TMP/e2e.tap")
n_fail=$(grep -c '^not ok ' "$TMP/e2e.tap")
T_NUM=$((T_NUM + n_ok + n_fail))
T_FAILED=$((T_FAILED + n_fail))
if [ "$rc" != 0 ] && [ "$n_fail" = 0 ]; then
    tap 1 "the browser test script exits 0" || diag "exit status $rc: $(tail -20 "$TMP/e2e.err")"
elif [ -s "$TMP/e2e.err" ]; then
    diag "the browser test script's stderr: $(tail -20 "$TMP/e2e.err")"
fi

# The script stopped the server (SIGTERM) to show in-browser runs need none: it must have exited
# cleanly, with no sanitizer report.
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server exits with status 0 after the browser tests" || diag "rc $SRV_RC: $(tail -20 "$TMP/srv.err")"

done_testing
