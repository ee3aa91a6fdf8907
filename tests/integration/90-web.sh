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
COURSE2=$E2E/courses/e2e-hostile # a README that tries too much, a 120-character name
NAME="the browser page end to end (tests/e2e)"

missing=""
[ -f "$WEB/index.html" ] || missing="$missing web/dist (bash web/build.sh);"
[ -x "$CHROME" ] || missing="$missing $CHROME (apt-get install chromium);"
[ -f "$ROOT/web/node_modules/playwright-core/package.json" ] ||
    missing="$missing web/node_modules/playwright-core (cd web && npm ci);"
for tool in node curl jq; do
    command -v "$tool" >/dev/null || missing="$missing $tool;"
done
if command -v node >/dev/null && ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    missing="$missing Node.js >= 20 for playwright-core (this is $(node --version));"
fi
if [ -n "$missing" ]; then
    skip "$NAME" "missing:${missing%;}"
    done_testing
    exit
fi
if ! "$RUNBOX" serve --help 2>&1 | grep -q -- '--web'; then
    skip "$NAME" "this runbox serve has no --web"
    done_testing
    exit
fi

for c in "$COURSE" "$COURSE2"; do
    "$RUNBOX" course check --starter "$c" >"$TMP/check.out" 2>&1
    tap $? "the e2e course $(basename "$c") checks: solutions pass, starters do not (runbox course check --starter)" ||
        diag "$(cat "$TMP/check.out")"
done

srv_start_or_end "runbox serve --web starts" "$TMP/data" --no-auth --workers 2 --web "$WEB" --courses "$COURSE" --courses "$COURSE2"

# A second server, with auth on and two users, for the log-in test.
AUTH_DATA=$TMP/auth-data
AUTH_USERS="alice:alice-password-1 bob:bob-password-2"
AUTH_URL=""
AUTH_PID=""
for u in $AUTH_USERS; do
    "$RUNBOX" user add "${u%%:*}" --password-stdin --data "$AUTH_DATA" <<<"${u#*:}" >/dev/null 2>"$TMP/user.err" ||
        diag "user add ${u%%:*}: $(cat "$TMP/user.err")"
done
"$RUNBOX" serve --listen 127.0.0.1:0 --data "$AUTH_DATA" --workers 1 --web "$WEB" \
    >"$TMP/auth.out" 2>"$TMP/auth.err" </dev/null &
AUTH_PID=$!
srv_bg "$AUTH_PID"
for _ in $(seq 200); do
    AUTH_URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/auth.out")
    [ -n "$AUTH_URL" ] && curl -sf -o /dev/null "$AUTH_URL/healthz" && break
    AUTH_URL=""
    kill -0 "$AUTH_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$AUTH_URL" ]
tap $? "a second runbox serve --web starts, with auth on" || diag "$(cat "$TMP/auth.out" "$TMP/auth.err")"

SHOTS=${RUNBOX_TEST_OUT:-$ROOT/test-output}/$(basename "$(dirname "$RUNBOX")")/web
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png "$SHOTS/requests.log"

env E2E_URL="$SRV_URL" E2E_SERVER_PID="$SRV_PID" E2E_SHOTS="$SHOTS" E2E_TAP_START="$T_NUM" \
    E2E_COURSE="$(basename "$COURSE")" E2E_COURSE2="$(basename "$COURSE2")" E2E_CHROMIUM="$CHROME" \
    E2E_AUTH_URL="$AUTH_URL" E2E_AUTH_USERS="$AUTH_USERS" \
    node "$E2E/web.test.mjs" 2>"$TMP/e2e.err" | tee "$TMP/e2e.tap"
rc=${PIPESTATUS[0]}
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

kill -TERM "$AUTH_PID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$AUTH_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$AUTH_PID" 2>/dev/null
wait "$AUTH_PID" 2>/dev/null
rc=$?
if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/auth.err"; then rc="sanitizer report ($rc)"; fi
[ "$rc" = 0 ]
tap $? "the server with auth exits with status 0" || diag "rc $rc: $(tail -20 "$TMP/auth.err")"

done_testing
