#!/usr/bin/env bash
# Browser-origin safety of `runbox serve --no-auth` (issue 17, item 3): what a web page of
# another site could make the user's local server do. JSON APIs want application/json (415),
# a foreign Origin may not post (403, and no run is made) nor open a WebSocket, a Host that is
# not a loopback name is refused (DNS rebinding: 421), the server's own origin still works,
# preflights get CORS headers only for --cors-origin / "cors_origins" origins (on real answers
# too), and --listen is parsed strictly: a list with a bare port, "*" CORS or garbage refuse to
# start with --no-auth, and [::1]:PORT works. With auth on, Judge0's and Piston's layers answer
# every page (Access-Control-Allow-Origin: *, as Judge0 does) on every answer, errors, 413 and
# 429 included, unless judge0_cors_origins / piston_cors_origins say otherwise (issue 21); the
# own API still answers no foreign page, and --no-auth keeps the compat layers closed too.
. "$(dirname "$0")/../lib.sh"

need_tools "browser-origin safety" curl jq python3
WSPY=$(ws_python)

body() { jq -nc --arg c "$1" --arg l "${2:-python}" "{code: \$c, language: \$l}"; }
runs() { curl -sS --max-time 30 "$SRV_URL/api/v1/code/history" | jq '.runs | length'; }
# has_header NAME: the last call's answer has header NAME.
has_header() { tr -d '\r' <"$R.hdr" | grep -qi "^$1:"; }

srv_start_or_end "serve --no-auth starts on 127.0.0.1" "$TMP/data" --no-auth --workers 1
PORT=${SRV_URL##*:}
OWN="http://127.0.0.1:$PORT"
EVIL="http://evil.example"

# ---- Content-Type: a page posts text/plain and forms without a preflight ----
api POST /api/v1/code/execute -H 'Content-Type: text/plain' --data-binary "$(body 'print(1)')"
api_check "a text/plain POST to execute is 415" 415 '.error | test("application/json")'
api POST /api/v1/code/execute --data-urlencode "code=print(1)" -d language=python
api_check "a form POST to execute is 415" 415
api POST /api/v1/code/execute --data-binary "$(body 'print(1)')" -H 'Content-Type:'
api_check "a POST to execute without a Content-Type is 415" 415
api POST /api/v1/code/execute -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary "$(body 'print(40 + 2)')"
api_check "application/json with a charset runs" 200 '.status == "success" and .output == "42\n"'
BEFORE=$(runs)

# ---- Origin: another site's page may not post, nor open a WebSocket ----
api_json POST /api/v1/code/execute "$(body 'print(666)')" -H "Origin: $EVIL"
api_check "a POST with Origin: $EVIL is 403" 403 '.error | test("Origin")'
api_json POST /api/v1/code/execute "$(body 'print(666)')" -H "Origin: null"
api_check "a POST with Origin: null is 403" 403
api DELETE /api/v1/code/history/1 -H "Origin: $EVIL"
api_check "a DELETE with a foreign Origin is 403" 403
api_json POST /api/v1/code/execute "$(body 'print(666)')" -H "Origin: http://127.0.0.1:1"
api_check "another port of the loopback is another origin: 403" 403
[ "$(runs)" = "$BEFORE" ]
tap $? "no run was made by the refused requests" || diag "runs before $BEFORE, after $(runs)"
api_json POST /api/v1/code/execute "$(body 'print(7)')" -H "Origin: $OWN"
api_check "a POST with the server's own Origin runs" 200 '.output == "7\n"'
! has_header Access-Control-Allow-Origin
tap $? "the own origin needs no CORS header"

# ---- Host: DNS rebinding makes evil.example resolve to 127.0.0.1 ----
api GET /api/v1/code/history -H "Host: evil.example:$PORT"
[ "$CODE" = 421 ] || [ "$CODE" = 403 ]
tap $? "GET with Host: evil.example:$PORT is refused (got $CODE)"
api_json POST /api/v1/code/execute "$(body 'print(666)')" -H "Host: evil.example:$PORT" \
    -H "Origin: http://evil.example:$PORT"
[ "$CODE" = 421 ] || [ "$CODE" = 403 ]
tap $? "a rebound same-origin POST is refused (got $CODE)"
api GET /api/v1/users -H "Host: evil.example:$PORT"
[ "$CODE" = 421 ] || [ "$CODE" = 403 ]
tap $? "the admin API is not reachable through a rebound name (got $CODE)"
api GET / -H "Host: evil.example:$PORT"
[ "$CODE" = 421 ] || [ "$CODE" = 403 ]
tap $? "nor the page (got $CODE)"
api GET /healthz -H "Host: localhost:$PORT"
api_check "Host: localhost:PORT is fine" 200
[ "$(runs)" = "$((BEFORE + 1))" ]
tap $? "only the own origin's run was made" || diag "runs before $BEFORE, after $(runs)"

# ---- CORS: nothing for an unlisted origin ----
api OPTIONS /api/v1/code/execute -H "Origin: $EVIL" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type'
! has_header Access-Control-Allow-Origin && ! has_header Access-Control-Allow-Methods
tap $? "a preflight from $EVIL gets no Access-Control-Allow-* (HTTP $CODE)" ||
    diag "$(cat "$R.hdr")"
api GET /api/v1/code/history -H "Origin: $EVIL"
! has_header Access-Control-Allow-Origin
tap $? "a GET from $EVIL gets no Access-Control-Allow-Origin" || diag "$(cat "$R.hdr")"

# ---- Judge0 and Piston without auth: no "*", a foreign page may neither post nor read ----
api_json POST /judge0/submissions "$(jq -nc '{source_code: "print(666)", language_id: 71}')" \
    -H "Origin: $EVIL"
http_is "a Judge0 POST from $EVIL is 403, with no Access-Control-Allow-Origin" 403 \
    Access-Control-Allow-Origin ""
api_json POST /api/v2/execute '{"language": "python", "version": "*", "files": [{"content": "print(666)"}]}' \
    -H "Origin: $EVIL"
http_is "a Piston POST from $EVIL is 403, with no Access-Control-Allow-Origin" 403 \
    Access-Control-Allow-Origin ""
api OPTIONS /judge0/submissions -H "Origin: $EVIL" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type'
http_is "a Judge0 preflight from $EVIL gets no CORS header" 204 Access-Control-Allow-Origin "" \
    Access-Control-Allow-Methods ""
api GET /judge0/languages -H "Origin: $EVIL"
http_is "a Judge0 GET from $EVIL gets no Access-Control-Allow-Origin" 200 \
    Access-Control-Allow-Origin ""
[ "$(runs)" = "$((BEFORE + 1))" ]
tap $? "the refused compat requests made no run" || diag "runs before $BEFORE, after $(runs)"

# ---- WebSocket: a page of another site opens one to the loopback ----
cat >"$TMP/ws.py" <<'PY'
# ws.py URL ORIGIN: print the handshake's HTTP status (101 when it opened).
import asyncio, sys
import websockets

async def main(url, origin):
    try:
        ws = await websockets.connect(url, origin=origin, open_timeout=10)
    except websockets.exceptions.InvalidStatusCode as e:
        print(e.status_code)
        return
    await ws.recv()  # "ready"
    print(101)
    await ws.close()

asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 30))
PY
if [ -z "$WSPY" ]; then
    skip "the cross-site WebSocket" "python3 has no websockets module (python3-websockets)"
else
    WS="ws://127.0.0.1:$PORT"
    got=$(timeout 40 "$WSPY" "$TMP/ws.py" "$WS/api/v1/code/interactive" "$EVIL" 2>"$TMP/ws.err")
    [ "$got" = 403 ]
    tap $? "a WebSocket from $EVIL is refused with 403 (got '$got')" || diag "$(cat "$TMP/ws.err")"
    got=$(timeout 40 "$WSPY" "$TMP/ws.py" "$WS/api/v2/connect" "$EVIL" 2>"$TMP/ws.err")
    [ "$got" = 403 ]
    tap $? "Piston's WebSocket from $EVIL is refused too (got '$got')" || diag "$(cat "$TMP/ws.err")"
    got=$(timeout 40 "$WSPY" "$TMP/ws.py" "$WS/api/v1/code/interactive" "$OWN" 2>"$TMP/ws.err")
    [ "$got" = 101 ]
    tap $? "a WebSocket from the server's own origin opens (got '$got')" || diag "$(cat "$TMP/ws.err")"
fi
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM: the server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"

# ---- CORS: the operator's list, from the config file and --cors-origin ----
APP="http://app.example"
echo '{"server": {"cors_origins": ["https://ide.example:8443"]}}' >"$TMP/cors.json"
srv_start_or_end "serve --no-auth --cors-origin $APP starts" "$TMP/data" --no-auth --workers 1 \
    --config "$TMP/cors.json" --cors-origin "$APP"
api_json POST /api/v1/code/execute "$(body 'print(8)')" -H "Origin: $APP"
api_check "a POST from the listed $APP runs" 200 '.output == "8\n"'
[ "$(srv_header Access-Control-Allow-Origin)" = "$APP" ] && [ "$(srv_header Vary)" = Origin ]
tap $? "its answer carries Access-Control-Allow-Origin: $APP and Vary: Origin" ||
    diag "$(cat "$R.hdr")"
api OPTIONS /api/v1/code/execute -H "Origin: $APP" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type'
[ "$(srv_header Access-Control-Allow-Origin)" = "$APP" ] &&
    srv_header Access-Control-Allow-Methods | grep -q POST &&
    srv_header Access-Control-Allow-Headers | grep -qi content-type &&
    [ -n "$(srv_header Access-Control-Max-Age)" ] && [ "${CODE:0:1}" = 2 ]
tap $? "its preflight is answered (HTTP $CODE) with the origin, methods, headers, max age" ||
    diag "$(cat "$R.hdr")"
api GET /api/v1/code/languages -H "Origin: https://ide.example:8443"
[ "$(srv_header Access-Control-Allow-Origin)" = "https://ide.example:8443" ]
tap $? "the config file's cors_origins are listed too" || diag "$(cat "$R.hdr")"
api_json POST /api/v1/code/execute "$(body 'print(666)')" -H "Origin: $EVIL"
api_check "an unlisted origin is still 403" 403
! has_header Access-Control-Allow-Origin
tap $? "and its answer has no Access-Control-Allow-Origin"
api GET /judge0/languages -H "Origin: $APP"
[ "$(srv_header Access-Control-Allow-Origin)" = "$APP" ]
tap $? "Judge0's answers follow the same list" || diag "$(cat "$R.hdr")"
api GET /api/v2/runtimes -H "Origin: $EVIL"
! has_header Access-Control-Allow-Origin
tap $? "Piston's answers give an unlisted origin nothing" || diag "$(cat "$R.hdr")"
srv_stop

# ---- With auth: Judge0's and Piston's layers answer every page, as Judge0 does ----
PAGE="http://page.example:8080"
"$RUNBOX" user add ana --password-stdin --data "$TMP/data-auth" <<<'ana-password-1' >/dev/null 2>"$TMP/e"
tap $? "a user for the server with auth" || diag "$(cat "$TMP/e")"
# A small body limit (the front end's own 413) and a small burst (429).
echo '{"server": {"max_request_kb": 64, "rate_limit_per_s": 0.2, "rate_limit_burst": 6,
    "judge0_rate_limit_per_s": 0.2, "judge0_rate_limit_burst": 6}}' >"$TMP/auth.json"
srv_start_or_end "serve with auth starts" "$TMP/data-auth" --workers 1 --config "$TMP/auth.json"
TOKEN=$(srv_login ana ana-password-1)
[ -n "$TOKEN" ]
tap $? "ana logs in"
J0=(-H "X-Auth-Token: $TOKEN" -H "Origin: $PAGE")
api_json POST "/judge0/submissions?base64_encoded=false&wait=true" \
    "$(jq -nc '{source_code: "print(6 * 7)", language_id: 71}')" "${J0[@]}"
http_is "Judge0 wait=true from $PAGE: 201 with Access-Control-Allow-Origin: *, Vary: Origin, no credentials" \
    201 Access-Control-Allow-Origin "*" Vary Origin Access-Control-Allow-Credentials ""
jq -e '.stdout == "42\n"' "$R" >/dev/null
tap $? "  ... and its result" || diag "$(cat "$R")"
api_json POST /api/v2/execute '{"language": "python", "version": "*", "files": [{"content": "print(7 * 6)"}]}' \
    -H "Authorization: Bearer $TOKEN" -H "Origin: $PAGE"
http_is "Piston execute from $PAGE: 200 with Access-Control-Allow-Origin: *" 200 \
    Access-Control-Allow-Origin "*" Vary Origin
api GET /judge0/submissions/no-such-token "${J0[@]}"
http_is "a Judge0 404 carries it too" 404 Access-Control-Allow-Origin "*"
api GET /judge0/languages -H "Origin: $PAGE"
http_is "a Judge0 401 (no credentials) carries it too" 401 Access-Control-Allow-Origin "*"
api POST /api/v2/execute -H "Authorization: Bearer $TOKEN" -H "Origin: null" \
    -H 'Content-Type: application/json' --data-binary '{'
http_is "a Piston 400 to a file:// page (Origin: null) carries it too" 400 Access-Control-Allow-Origin "*"
head -c 100000 /dev/zero | tr '\0' x >"$TMP/big"
api POST /judge0/submissions "${J0[@]}" -H 'Content-Type: application/json' --data-binary @"$TMP/big"
http_is "the front end's own 413 carries it too" 413 Access-Control-Allow-Origin "*"
api OPTIONS /judge0/submissions -H "Origin: $PAGE" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type,x-auth-token,x-auth-user,x-rapidapi-key,x-rapidapi-host'
http_is "a Judge0 preflight allows what its clients send" 204 Access-Control-Allow-Origin "*" \
    Access-Control-Allow-Headers "content-type,x-auth-token,x-auth-user,x-rapidapi-key,x-rapidapi-host"
srv_header Access-Control-Allow-Methods | grep -q POST
tap $? "  ... and POST" || diag "$(cat "$R.hdr")"
api OPTIONS /api/v2/execute -H "Origin: $PAGE" -H 'Access-Control-Request-Method: POST'
srv_header Access-Control-Allow-Headers | grep -qi authorization &&
    srv_header Access-Control-Allow-Headers | grep -qi content-type && [ "$CODE" = 204 ]
tap $? "a Piston preflight allows Authorization and Content-Type" || diag "$(cat "$R.hdr")"
# The own API: still no CORS for a page that is not listed, with or without a token.
api_json POST /api/v1/code/execute "$(body 'print(1)')" -H "Authorization: Bearer $TOKEN" \
    -H "Origin: $PAGE"
http_is "/api/v1 from $PAGE: no Access-Control-Allow-Origin" 200 Access-Control-Allow-Origin ""
api OPTIONS /api/v1/code/execute -H "Origin: $PAGE" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization,content-type'
http_is "nor on its preflight" 204 Access-Control-Allow-Origin "" Access-Control-Allow-Headers ""
# Past the rate limit (a bad body costs a request, not a run): Judge0's layer answers 503 as
# Judge0 does (its SDK turns a 429 into a crash), Piston's 429.
for _ in $(seq 200); do
    api_json POST /judge0/submissions '{}' "${J0[@]}"
    [ "$CODE" = 503 ] && break
done
http_is "a Judge0 rate-limit 503 carries Access-Control-Allow-Origin: * and exposes Retry-After" 503 \
    Access-Control-Allow-Origin "*" Access-Control-Expose-Headers "Retry-After, Location"
[ -n "$(srv_header Retry-After)" ]
tap $? "  ... with its Retry-After"
for _ in $(seq 200); do
    api POST /api/v2/execute -H "Authorization: Bearer $TOKEN" -H "Origin: $PAGE" \
        -H 'Content-Type: application/json' --data-binary '{'
    [ "$CODE" = 429 ] && break
done
http_is "a Piston 429 carries Access-Control-Allow-Origin: * and exposes Retry-After" 429 \
    Access-Control-Allow-Origin "*" Access-Control-Expose-Headers "Retry-After, Location"
srv_stop

# The operator narrows or turns them off.
echo '{"server": {"judge0_cors_origins": ["http://ide.example"], "piston_cors_origins": []}}' >"$TMP/narrow.json"
srv_start_or_end "serve with judge0_cors_origins and piston_cors_origins starts" "$TMP/data-auth" \
    --workers 1 --config "$TMP/narrow.json"
api GET /judge0/languages -H "Origin: http://ide.example"
http_is "Judge0 echoes a listed origin" 401 Access-Control-Allow-Origin "http://ide.example" Vary Origin
api GET /judge0/languages -H "Origin: $PAGE"
http_is "and gives another nothing" 401 Access-Control-Allow-Origin ""
api GET /api/v2/runtimes -H "Origin: http://ide.example"
http_is "piston_cors_origins [] turns Piston's off" 401 Access-Control-Allow-Origin ""
srv_stop

# ---- --listen and the start rules ----
# refuses NAME ARGS...: serve must exit non-zero within 10 s, saying why, without serving.
refuses() {
    local name=$1 pid rc
    shift
    "$RUNBOX" serve --data "$TMP/data-bad" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err" </dev/null &
    pid=$!
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$pid"
        tap 1 "$name" || diag "still running after 10 s: $(cat "$TMP/bad.out" "$TMP/bad.err")"
        return
    fi
    wait "$pid"
    rc=$?
    [ "$rc" = 2 ] && [ -s "$TMP/bad.err" ] && ! grep -q "serving on" "$TMP/bad.out"
    tap $? "$name" || diag "rc=$rc: $(cat "$TMP/bad.out" "$TMP/bad.err")"
}
refuses "--listen 127.0.0.1:0,0 --no-auth refuses to start (the bare port is every address)" \
    --listen 127.0.0.1:0,0 --no-auth
grep -q "0.0.0.0" "$TMP/bad.err"
tap $? "the message names the non-loopback address" || diag "$(cat "$TMP/bad.err")"
refuses "--listen 0:0 is not an address" --listen 0:0 --no-auth
refuses "--cors-origin '*' with --no-auth refuses to start" --no-auth --listen 127.0.0.1:0 \
    --cors-origin '*'
refuses "--cors-origin with a path refuses to start" --no-auth --listen 127.0.0.1:0 \
    --cors-origin 'http://app.example/'
echo '{"server": {"judge0_cors_origins": ["*"]}}' >"$TMP/star.json"
refuses "judge0_cors_origins [\"*\"] with --no-auth refuses to start" --no-auth \
    --listen 127.0.0.1:0 --config "$TMP/star.json"
echo '{"server": {"piston_cors_origins": ["app.example"]}}' >"$TMP/noscheme.json"
refuses "piston_cors_origins with no scheme refuses to start" --listen 127.0.0.1:0 \
    --config "$TMP/noscheme.json"
for bad in "127.0.0.1:99999" "127.0.0.1:" "127.0.0.1:80x" "::1:0" "2130706433:0" "0x7f.1:0" \
    "127.0.0.1:0," "127.0.0.1:0,,127.0.0.1:0" "[::1]" "local host:0" ""; do
    refuses "--listen '$bad' is an error" --listen "$bad" --no-auth
    grep -q -- "--listen" "$TMP/bad.err"
    tap $? "  ... saying --listen" || diag "$(cat "$TMP/bad.err")"
done

# A name: every address it has (localhost: loopback only), so --no-auth may use it.
if srv_start "$TMP/data" --no-auth --workers 1 --listen localhost:0; then
    api GET /healthz
    api_check "--listen localhost:0 --no-auth starts and answers" 200
    srv_stop
else
    tap 1 "--listen localhost:0 --no-auth starts"
fi

# [::1]:PORT: the IPv6 loopback.
if [ -e /proc/net/if_inet6 ] && grep -q '^0\{31\}1 ' /proc/net/if_inet6; then
    : >"$TMP/srv.out"
    "$RUNBOX" serve --listen '[::1]:0' --no-auth --workers 1 --data "$TMP/data" \
        >"$TMP/srv.out" 2>"$TMP/srv.err" </dev/null &
    SRV_PID=$!
    SRV_URL=""
    for _ in $(seq 200); do
        SRV_URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/srv.out")
        [ -n "$SRV_URL" ] && curl -gsf -o /dev/null "$SRV_URL/healthz" && break
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    case $SRV_URL in http://\[::1\]:[1-9]*) ok=0 ;; *) ok=1 ;; esac
    tap $ok "--listen [::1]:0 --no-auth serves on $SRV_URL" ||
        diag "$(cat "$TMP/srv.out" "$TMP/srv.err")"
    CODE=$(curl -gsS --max-time 60 -o "$R" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "$(body 'print(9)')" \
        "$SRV_URL/api/v1/code/execute")
    api_check "a run over IPv6 works" 200 '.output == "9\n"'
    PORT6=${SRV_URL##*:}
    CODE=$(curl -gsS --max-time 60 -o "$R" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H "Origin: http://[::1]:$PORT6" \
        --data-binary "$(body 'print(10)')" "$SRV_URL/api/v1/code/execute")
    api_check "its own origin http://[::1]:PORT may post" 200 '.output == "10\n"'
    srv_stop
else
    skip "--listen [::1]:0" "this host has no IPv6 loopback"
fi

done_testing
