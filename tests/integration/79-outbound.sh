#!/usr/bin/env bash
# Outbound requests cannot reach inside (issue 17, item 4). A real server and a python3 HTTP
# listener on 127.0.0.1: a webhook (callback_url) or a Judge0 callback to the listener, in any
# spelling of a loopback address, is refused when the socket is opened: the listener gets
# nothing and the run's delivery log says "refused: address not allowed", never curl's error
# text. With "webhook_allow_hosts": ["127.0.0.1:PORT"] the same deliveries arrive; a 302 is not
# followed and a 500 shows as "failed (HTTP 5xx)" only.
. "$(dirname "$0")/../lib.sh"

need_tools "outbound requests" curl jq python3

DATA=$TMP/data
"$RUNBOX" user add alice --password-stdin --data "$DATA" <<<'alicepassword1' >/dev/null 2>"$TMP/e"
tap $? "user add alice" || diag "$(cat "$TMP/e")"

body() { jq -nc --arg c "$1" --arg u "$2" '{code: $c, language: "python", callback_url: $u}'; }
sub() { jq -nc --arg u "$1" '{source_code: "print(1)", language_id: 71, callback_url: $u}'; }

# ---- the listener: every request logged as a JSON line; /redir answers 302 to /followed,
# /e500 answers 500 with a tell-tale body, the rest 200.
cat >"$TMP/listener.py" <<'PY'
import http.server, json, os, sys
log, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path}) + "\n")
        if self.path.startswith("/redir"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%d/followed" % self.server.server_address[1])
            body = b""
        elif self.path.startswith("/e500"):
            self.send_response(500)
            body = b"SECRET-INTERNAL-DETAIL"
        else:
            self.send_response(200)
            body = b"ok"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT = do_GET = answer
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$TMP/seen.log"
python3 "$TMP/listener.py" "$TMP/seen.log" "$TMP/port" 2>"$TMP/listener.err" &
srv_bg $!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port" 2>/dev/null)
[ -n "$PORT" ]
tap $? "a listener on 127.0.0.1" || diag "$(cat "$TMP/listener.err")"

# deliveries_of ID N: wait (up to 30 s) until run ID has N logged attempts; the log is in $R.
deliveries_of() {
    for _ in $(seq 300); do
        api GET "/api/v1/code/runs/$1/webhooks"
        [ "$(jq '.deliveries | length' "$R" 2>/dev/null)" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# newest_run: the id of the caller's newest run (a Judge0 submission has a token, not an id).
newest_run() {
    curl -sS -H "Authorization: Bearer $SRV_TOKEN" "$SRV_URL/api/v1/code/history?limit=1" |
        jq -r '(.runs // .items // .history // .)[0].id'
}
# seen PATH: how many requests the listener got on PATH.
seen() { jq -s --arg p "$1" '[.[] | select(.path == $p)] | length' "$TMP/seen.log"; }

# ---- without an allowlist: every spelling of the listener's address is refused ----
cat >"$TMP/cfg.json" <<EOF
{"server": {"webhook_max_attempts": 3, "webhook_base_delay_ms": 100, "webhook_timeout_ms": 3000}}
EOF
srv_start_or_end "the server starts without an allowlist" "$DATA" --config "$TMP/cfg.json" --workers 2
SRV_TOKEN=$(srv_login alice alicepassword1)

SPELLINGS=("127.0.0.1" "127.1" "2130706433" "0x7f.1" "0x7f000001" "017700000001" "127.0.0.2"
    "[::ffff:127.0.0.1]" "[::ffff:7f00:1]" "[::1]" "localhost" "localhost." "0.0.0.0")
declare -A RUN
for i in "${!SPELLINGS[@]}"; do
    api_json POST "/api/v1/code/execute?wait=false" "$(body 'print(1)' "http://${SPELLINGS[$i]}:$PORT/hook$i")"
    RUN[$i]=$(jq -r .id "$R")
    [ "$CODE" = 202 ] || diag "${SPELLINGS[$i]}: HTTP $CODE $(cat "$R")"
done
for i in "${!SPELLINGS[@]}"; do
    s=${SPELLINGS[$i]}
    deliveries_of "${RUN[$i]}" 1
    sleep 0.3 # a retry, if one were made, would be logged by now
    api GET "/api/v1/code/runs/${RUN[$i]}/webhooks"
    if [ "$s" = localhost. ] && ! getent ahosts localhost. >/dev/null; then
        # Without DNS "localhost." resolves to nothing: there is nothing to refuse.
        api_check "webhook to $s:PORT (not resolvable here): 'failed (no answer)', nothing more" 200 \
            '.deliveries[0].error == "failed (no answer)"'
    else
        api_check "webhook to $s:PORT: refused once, the owner sees only 'refused: address not allowed'" 200 \
            '(.deliveries | length) == 1 and .deliveries[0].error == "refused: address not allowed"
             and (.deliveries[0].http_status // 0) == 0'
    fi
    [ "$(seen "/hook$i")" = 0 ]
    tap $? "webhook to $s:PORT: the listener got nothing" || diag "$(cat "$TMP/seen.log")"
done

j0_json() { api_json POST "/judge0$1" "$2"; }
j0_json /submissions "$(sub "http://2130706433:$PORT/j0-refused")"
api_check "a Judge0 submission with a callback_url to 2130706433:PORT is accepted" 201 '.token | type == "string"'
J0=""
for _ in $(seq 300); do
    J0=$(newest_run)
    [ -n "$J0" ] && [ "$J0" != null ] && deliveries_of "$J0" 1 && break
    sleep 0.1
done
api_check "the Judge0 callback to 2130706433:PORT is refused" 200 \
    '(.deliveries | length) == 1 and (.deliveries[0].url | test("j0-refused"))
     and .deliveries[0].error == "refused: address not allowed"'
[ "$(seen /j0-refused)" = 0 ]
tap $? "the Judge0 callback reached nothing"
grep -q "webhook: run .*not allowed" "$TMP/srv.err"
tap $? "the operator's stderr says which address was refused" || diag "$(tail -5 "$TMP/srv.err")"
srv_stop
tap $([ "$SRV_RC" = 0 ]; echo $?) "the server stops (exit $SRV_RC)"

# ---- webhook_allow_hosts opens the listener (its address and port only) ----
cat >"$TMP/cfg.json" <<EOF
{"server": {"webhook_max_attempts": 1, "webhook_timeout_ms": 3000,
            "webhook_allow_hosts": ["127.0.0.1:$PORT"]}}
EOF
srv_start_or_end "the server starts with webhook_allow_hosts [127.0.0.1:PORT]" "$DATA" --config "$TMP/cfg.json" --workers 2
SRV_TOKEN=$(srv_login alice alicepassword1)

api_json POST /api/v1/code/execute "$(body 'print(1)' "http://127.0.0.1:$PORT/allowed")"
A=$(jq -r .id "$R")
api_json POST /api/v1/code/execute "$(body 'print(1)' "http://2130706433:$PORT/allowed2")"
A2=$(jq -r .id "$R")
api_json POST /api/v1/code/execute "$(body 'print(1)' "http://127.0.0.1:$PORT/redir")"
RD=$(jq -r .id "$R")
api_json POST /api/v1/code/execute "$(body 'print(1)' "http://127.0.0.1:$PORT/e500")"
E5=$(jq -r .id "$R")
api_json POST /api/v1/code/execute "$(body 'print(1)' "http://127.0.0.2:$PORT/other")"
OT=$(jq -r .id "$R")

deliveries_of "$A" 1
api_check "allowed: the webhook is delivered and logged as 'delivered'" 200 \
    '.deliveries == [.deliveries[0]] and .deliveries[0].error == "delivered" and .deliveries[0].http_status == 200'
[ "$(seen /allowed)" = 1 ]
tap $? "allowed: the listener got the POST" || diag "$(cat "$TMP/seen.log")"
deliveries_of "$A2" 1
api_check "allowed: 2130706433:PORT is the same address, delivered" 200 '.deliveries[0].error == "delivered"'
deliveries_of "$RD" 1
api_check "a 302 is a failure: 'failed (HTTP 3xx)'" 200 \
    '(.deliveries | length) == 1 and .deliveries[0].error == "failed (HTTP 3xx)" and .deliveries[0].http_status == 300'
sleep 0.3
[ "$(seen /redir)" = 1 ] && [ "$(seen /followed)" = 0 ]
tap $? "the redirect was not followed" || diag "$(cat "$TMP/seen.log")"
deliveries_of "$E5" 1
api_check "a 500 shows as 'failed (HTTP 5xx)' only, nothing of the answer's body" 200 \
    '.deliveries[0].error == "failed (HTTP 5xx)" and (tostring | test("SECRET") | not)'
deliveries_of "$OT" 1
api_check "another loopback address stays refused" 200 '.deliveries[0].error == "refused: address not allowed"'

j0_json /submissions "$(sub "http://127.0.0.1:$PORT/j0-allowed")"
api_check "a Judge0 submission with a callback_url to the allowed listener" 201
for _ in $(seq 300); do [ "$(seen /j0-allowed)" -ge 1 ] && break; sleep 0.1; done
[ "$(jq -rs '[.[] | select(.path == "/j0-allowed")][0].method' "$TMP/seen.log")" = PUT ]
tap $? "allowed: the Judge0 callback arrives (PUT)" || diag "$(cat "$TMP/seen.log")"
J0=$(newest_run)
deliveries_of "$J0" 1
api_check "allowed: the Judge0 callback is logged as 'delivered'" 200 \
    '(.deliveries[0].url | test("j0-allowed")) and .deliveries[0].error == "delivered"'

srv_stop
tap $([ "$SRV_RC" = 0 ]; echo $?) "the server stops (exit $SRV_RC)"

# ---- a bad allowlist entry stops the server at start ----
echo '{"server": {"webhook_allow_hosts": ["http://x/"]}}' >"$TMP/bad.json"
timeout 20 "$RUNBOX" serve --listen 127.0.0.1:0 --data "$DATA" --config "$TMP/bad.json" >/dev/null 2>"$TMP/bad.err" </dev/null
[ $? != 0 ] && grep -q webhook_allow_hosts "$TMP/bad.err"
tap $? "a malformed webhook_allow_hosts entry is an error at start" || diag "$(cat "$TMP/bad.err")"

done_testing
