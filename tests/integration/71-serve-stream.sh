#!/usr/bin/env bash
# runbox serve, the streaming and lifecycle side: the interactive WebSocket, signed webhooks
# with retries, pre and post hooks, a restart after kill -9 with a run in flight, and SIGTERM
# with a run in flight (no box process or cgroup left).
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve streams" curl jq python3
# The WebSocket client needs the websockets package (Debian python3-websockets).
WSPY=$(ws_python)

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin" || diag "$(cat "$TMP/e")"
"$RUNBOX" user add eve --password-stdin --data "$DATA" <<<'evepassword1' >/dev/null 2>&1

body() { jq -nc --arg c "$1" --arg l "${2:-python}" "{code: \$c, language: \$l} | ${3:-.}"; }
cgroups() { find /sys/fs/cgroup -maxdepth 3 -type d -path '*/runbox/*' 2>/dev/null; }

# ---- a webhook receiver: answers 500 to the first request of each path listed in FAIL_ONCE,
# 500 always under /always500, 200 otherwise; logs each request as a JSON line with whether
# its X-Runbox-Signature is the HMAC-SHA256 of the body under the secret.
cat >"$TMP/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys, threading
log, portfile, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
seen = {}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        sig = self.headers.get("X-Runbox-Signature") or ""
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        with lock:
            seen[self.path] = seen.get(self.path, 0) + 1
            nth = seen[self.path]
        code = 500 if self.path.startswith("/always500") or (self.path.startswith("/flaky") and nth == 1) else 200
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with lock, open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "nth": nth, "answer": code, "sig": sig,
                                "sig_ok": hmac.compare_digest(sig, want),
                                "content_type": self.headers.get("Content-Type"),
                                "body": parsed}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
: >"$TMP/hooks.log"
python3 "$TMP/receiver.py" "$TMP/hooks.log" "$TMP/recv.port" 'wh-s3cret' 2>"$TMP/recv.err" &
srv_bg $!
for _ in $(seq 100); do [ -s "$TMP/recv.port" ] && break; sleep 0.1; done
RECV="http://127.0.0.1:$(cat "$TMP/recv.port" 2>/dev/null)"

# ---- hooks: a pre hook that rejects, rewrites, fails or hangs by a word in the code, and a
# post hook. They run in the box: their directory is bound read-only into it.
mkdir -p "$TMP/hookdir"
cat >"$TMP/hookdir/pre" <<'EOF'
#!/bin/sh
exec /usr/bin/python3 -c '
import json, sys, time
req = json.load(sys.stdin)
code = req["files"][0]["content"]
if "FORBIDDEN" in code:
    print(json.dumps({"reject": "the word is forbidden"}))
elif "REWRITE" in code:
    req["files"][0]["content"] = "print(\"rewritten\")"
    print(json.dumps({"request": req}))
elif "BADLANG" in code:
    req["language"] = "nosuchlang"
    print(json.dumps({"request": req}))
elif "CRASH" in code:
    sys.exit(3)
elif "GARBAGE" in code:
    print("this is not JSON")
elif "HANG" in code:
    time.sleep(60)
'
EOF
cat >"$TMP/hookdir/post" <<'EOF'
#!/bin/sh
cat >/dev/null
exit 0
EOF
cat >"$TMP/hookdir/fail" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "hook broke" >&2
exit 1
EOF
chmod 755 "$TMP/hookdir" "$TMP/hookdir/pre" "$TMP/hookdir/post" "$TMP/hookdir/fail"

cat >"$TMP/cfg.json" <<EOF
{"server": {"max_wall_time": 60, "webhook_secret": "wh-s3cret", "webhook_max_attempts": 3,
            "webhook_base_delay_ms": 200, "webhook_allow_hosts": ["127.0.0.1"],
            "hooks": {"pre": {"command": ["$TMP/hookdir/pre"], "wall_time": 3, "on_failure": "reject"},
                      "post": {"command": ["$TMP/hookdir/post"], "wall_time": 3}}},
 "limits": {"wall": 10}}
EOF
srv_start_or_end "the server starts with hooks and webhooks configured" "$DATA" --config "$TMP/cfg.json" --workers 2
ADMIN=$(srv_login admin password123)
EVE=$(srv_login eve evepassword1)
SRV_TOKEN=$ADMIN

# ---- the interactive WebSocket ----
cat >"$TMP/ws.py" <<'PY'
# ws.py URL TOKEN|- MODE OUT: drive /api/v1/code/interactive; every message received goes to OUT
# as a JSON line. MODE: dialog (answer two prompts), eof (stdin then eof), cancel, hello, query
# (token in ?access_token=), noauth.
import asyncio, json, sys
import websockets

url, token, mode, out = sys.argv[1:5]

async def main():
    log = open(out, "w")
    headers = {}
    if token != "-" and mode != "query":
        headers["Authorization"] = "Bearer " + token
    if mode == "query":
        url2 = url + "?access_token=" + token
    else:
        url2 = url
    try:
        ws = await websockets.connect(url2, extra_headers=headers, open_timeout=10)
    except websockets.exceptions.InvalidStatusCode as e:
        log.write(json.dumps({"type": "http_error", "status": e.status_code}) + "\n")
        return
    except Exception as e:  # a closed connection instead of an HTTP answer, ...
        log.write(json.dumps({"type": "connect_error", "error": repr(e)}) + "\n")
        return
    programs = {
        "dialog": 'name = input("name? ")\nprint("hi", name)\nname = input("name? ")\nprint("hi", name)\n',
        "eof": 'import sys\ndata = sys.stdin.read()\nprint(len(data), repr(data))\n',
        "cancel": 'import time\nprint("started", flush=True)\ntime.sleep(30)\n',
        "hello": 'print("hello ws")\n',
        "query": 'print("hello ws")\n',
    }
    sent = cancelled = False
    stdout = ""
    answers = ["Ada\n", "Bob\n"]
    async for raw in ws:
        m = json.loads(raw)
        log.write(json.dumps(m) + "\n")
        log.flush()
        t = m.get("type")
        if t == "ready" and not sent:
            sent = True
            await ws.send(json.dumps({"type": "run", "language": "python", "code": programs[mode],
                                      "limits": {"wall_time": 40}}))
        elif t == "stdout":
            stdout += m.get("data", "")
            if mode == "dialog" and answers and stdout.count("name? ") == 3 - len(answers):
                log.write(json.dumps({"type": "client_sent", "data": answers[0],
                                      "after": stdout}) + "\n")
                await ws.send(json.dumps({"type": "stdin", "data": answers.pop(0)}))
            if mode == "cancel" and "started" in stdout and not cancelled:
                # once: "started" and its "\n" may come as two events, and after the cancel
                # the server sends the result and closes
                cancelled = True
                await ws.send(json.dumps({"type": "cancel"}))
        elif t == "stage" and m.get("stage") == "run" and mode == "eof":
            await ws.send(json.dumps({"type": "stdin", "data": "abc\n"}))
            await ws.send(json.dumps({"type": "stdin", "data": "de"}))
            await ws.send(json.dumps({"type": "eof"}))
    log.write(json.dumps({"type": "closed", "code": ws.close_code}) + "\n")

asyncio.run(asyncio.wait_for(main(), 60))
PY
WS_URL="ws://${SRV_URL#http://}/api/v1/code/interactive"
# ws MODE OUT [TOKEN]
ws() { timeout 90 "$WSPY" "$TMP/ws.py" "$WS_URL" "${3:-$ADMIN}" "$1" "$2" 2>"$2.err"; }
# wsq OUT JQ: jq -s over the messages of a session
wsq() { jq -se "$2" "$1" >/dev/null 2>&1; }

if [ -z "$WSPY" ]; then
    skip "the interactive WebSocket" "python3 has no websockets module (python3-websockets)"
else
    f=$TMP/ws-dialog.jsonl
    ws dialog "$f"
    wsq "$f" '.[0].type == "ready"'
    tap $? "WebSocket: the server says ready first" || diag "$(head -c 1500 "$f" "$f.err")"
    wsq "$f" '[.[] | select(.type == "queued")] | length == 1 and (.[0].id | type == "number")'
    tap $? "WebSocket: the run is queued with an id" || diag "$(head -c 1500 "$f")"
    wsq "$f" '[.[] | select(.type == "client_sent")] | length == 2 and .[0].after == "name? " and .[1].after == "name? hi Ada\nname? "'
    tap $? "WebSocket: each prompt arrives before its answer is sent" || diag "$(head -c 2000 "$f")"
    wsq "$f" '[.[] | select(.type == "result")] | length == 1 and .[0].status == "success"
              and .[0].output == "name? hi Ada\nname? hi Bob\n"'
    tap $? "WebSocket: the dialog's result has both answers" || diag "$(head -c 2000 "$f")"
    wsq "$f" '[.[] | .type] | (index("result")) > (index("stage")) and (.[-2] == "result" or .[-1] == "result")
              and (map(select(. == "state")) | length) >= 1'
    tap $? "WebSocket: state and stage events, then the result last" || diag "$(jq -c .type "$f" | tr '\n' ' ')"
    wsq "$f" '.[-1].type == "closed"'
    tap $? "WebSocket: the server closes after the result"
    id=$(jq -rs '[.[] | select(.type == "queued")][0].id' "$f")
    api GET "/api/v1/code/runs/$id"
    api_check "WebSocket: the run is recorded like any other" 200 \
        '.state == "done" and .status == "success" and .result.output == "name? hi Ada\nname? hi Bob\n"'

    f=$TMP/ws-eof.jsonl
    ws eof "$f"
    wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and .output == "6 \u0027abc\\nde\u0027\n"'
    tap $? "WebSocket: stdin chunks and eof reach the program" || diag "$(head -c 2000 "$f" "$f.err")"

    f=$TMP/ws-cancel.jsonl
    ws cancel "$f"
    wsq "$f" '[.[] | select(.type == "result")][0].status == "cancelled"'
    tap $? "WebSocket: cancel ends the run with status cancelled" || diag "$(head -c 2000 "$f" "$f.err")"

    f=$TMP/ws-query.jsonl
    ws query "$f"
    wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and .output == "hello ws\n"'
    tap $? "WebSocket: ?access_token= authenticates" || diag "$(head -c 2000 "$f" "$f.err")"

    f=$TMP/ws-noauth.jsonl
    ws noauth "$f" -
    wsq "$f" '.[0].type == "http_error" and .[0].status == 401'
    tap $? "WebSocket: no token is refused with 401" || diag "$(head -c 2000 "$f" "$f.err")"
    f=$TMP/ws-badauth.jsonl
    ws hello "$f" rbt_not-a-real-token
    wsq "$f" '.[0].type == "http_error" and .[0].status == 401'
    tap $? "WebSocket: an unknown token is refused with 401" || diag "$(head -c 2000 "$f" "$f.err")"
fi

# ---- webhooks ----
# wait_deliveries PATH N: wait until the receiver has N requests on PATH (up to 30 s).
wait_deliveries() {
    for _ in $(seq 300); do
        [ "$(jq -s --arg p "$1" '[.[] | select(.path == $p)] | length' "$TMP/hooks.log")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
api_json POST /api/v1/code/execute "$(body 'print("hooked")' python ".callback_url = \"$RECV/flaky1\"")"
api_check "execute with a callback_url runs" 200 '.status == "success"'
W=$(jq -r .id "$R")
wait_deliveries /flaky1 2
tap $? "webhook: a 500 is retried until the receiver answers 200" || diag "$(cat "$TMP/hooks.log")"
jq -se '[.[] | select(.path == "/flaky1")] | length == 2 and all(.[]; .sig_ok)' "$TMP/hooks.log" >/dev/null
tap $? "webhook: every delivery is signed: sha256=HMAC-SHA256(secret, body)" || diag "$(cat "$TMP/hooks.log")"
jq -se --argjson id "$W" '[.[] | select(.path == "/flaky1")] | all(.[]; .body.id == $id and .body.status == "success" and .body.output == "hooked\n")' \
    "$TMP/hooks.log" >/dev/null
tap $? "webhook: the body is the run's result" || diag "$(cat "$TMP/hooks.log")"
jq -se '[.[] | select(.path == "/flaky1")][0].content_type | test("^application/json")' "$TMP/hooks.log" >/dev/null
tap $? "webhook: Content-Type application/json"
for _ in $(seq 100); do
    api GET "/api/v1/code/runs/$W/webhooks"
    [ "$(jq '.deliveries | length' "$R")" = 2 ] && break
    sleep 0.1
done
api_check "GET runs/{id}/webhooks: attempt 1 got 500, attempt 2 got 200" 200 \
    "(.id == $W) and ([.deliveries[] | [.attempt, .http_status]] == [[1, 500], [2, 200]])
     and all(.deliveries[]; .url == \"$RECV/flaky1\" and has(\"error\") and has(\"at\"))"

api_json POST "/api/v1/code/execute?wait=false" "$(body 'print("async hook")' python ".callback_url = \"$RECV/always500\"")"
api_check "an async run with a callback_url is accepted" 202
W2=$(jq -r .id "$R")
wait_deliveries /always500 3
tap $? "webhook: a receiver that always fails gets webhook_max_attempts (3) tries" || diag "$(cat "$TMP/hooks.log")"
for _ in $(seq 100); do
    api GET "/api/v1/code/runs/$W2/webhooks"
    [ "$(jq '.deliveries | length' "$R")" = 3 ] && break
    sleep 0.1
done
sleep 2 # the 4th try, were there one, would come after 0.2 * 2^3 s
api GET "/api/v1/code/runs/$W2/webhooks"
api_check "webhook: three failed deliveries are recorded, and no more" 200 \
    '[.deliveries[] | [.attempt, .http_status]] == [[1, 500], [2, 500], [3, 500]]'
[ "$(jq -s '[.[] | select(.path == "/always500")] | length' "$TMP/hooks.log")" = 3 ]
tap $? "webhook: the receiver saw exactly three tries" || diag "$(cat "$TMP/hooks.log")"

api_json POST /api/v1/code/execute "$(body 'print(1)' python '.callback_url = "ftp://example.com/x"')"
api_check "a callback_url that is not http(s) is 400 on callback_url" 400 '.field == "callback_url"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python ".callback_url = \"http://127.0.0.1:1/nothing\"")"
W3=$(jq -r .id "$R")
for _ in $(seq 300); do
    api GET "/api/v1/code/runs/$W3/webhooks"
    [ "$(jq '.deliveries | length' "$R")" = 3 ] && break
    sleep 0.1
done
api_check "webhook: an unreachable receiver is recorded as 'failed (no answer)', no HTTP status" 200 \
    '(.deliveries | length) == 3 and all(.deliveries[]; (.http_status == null or .http_status == 0) and .error == "failed (no answer)")'
SRV_TOKEN=$EVE
api GET "/api/v1/code/runs/$W/webhooks"
api_check "another user's webhook deliveries are 404" 404
SRV_TOKEN=$ADMIN

# ---- pre and post hooks ----
api_json POST /api/v1/code/execute "$(body 'print("plain")')"
api_check "pre hook: an ordinary run passes, and the post hook reports ok" 200 \
    '.status == "success" and .output == "plain\n" and .hooks.pre.status == "ok" and .hooks.post.status == "ok"'
api_json POST /api/v1/code/execute "$(body 'print("FORBIDDEN")')"
api_check "pre hook: {\"reject\": why} rejects the run with the reason" 200 \
    '.status == "rejected" and ((.message // "") + " " + (.error // "") | test("the word is forbidden"))'
RJ=$(jq -r .id "$R")
api GET "/api/v1/code/runs/$RJ"
api_check "pre hook: the rejected run is recorded as rejected" 200 '.state == "done" and .status == "rejected"'
api_json POST /api/v1/code/execute "$(body 'print("REWRITE me")')"
api_check "pre hook: {\"request\": ...} replaces the request" 200 '.status == "success" and .output == "rewritten\n"'
api_json POST /api/v1/code/execute "$(body 'print("BADLANG")')"
api_check "pre hook: an invalid replacement request rejects the run" 200 \
    '.status == "rejected" and ((.message // "") + " " + (.error // "") | test("language"))'
api_json POST /api/v1/code/execute "$(body 'print("CRASH")')"
api_check "pre hook: a hook that exits 3 rejects the run (on_failure reject)" 200 \
    '.status == "rejected" and .hooks.pre.status == "failed"'
api_json POST /api/v1/code/execute "$(body 'print("GARBAGE")')"
api_check "pre hook: an answer that is not JSON rejects the run" 200 '.status == "rejected" and .hooks.pre.status == "failed"'
api_json POST /api/v1/code/execute "$(body 'print("HANG")')"
api_check "pre hook: a hook past its wall time rejects the run" 200 '.status == "rejected" and .hooks.pre.status == "failed"'
api_json POST "/api/v1/code/execute?wait=false" "$(body 'print("FORBIDDEN async")')"
RJ2=$(jq -r .id "$R")
srv_wait_state "$RJ2" "done" 30
api_check "pre hook: an async run can be rejected too" 200 '.status == "rejected"'

srv_stop TERM
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM: the hooks server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"

cat >"$TMP/cfg-cont.json" <<EOF
{"server": {"hooks": {"pre": {"command": ["$TMP/hookdir/fail"], "wall_time": 3, "on_failure": "continue"},
                      "post": {"command": ["$TMP/hookdir/fail"], "wall_time": 3}}}}
EOF
if srv_start "$DATA" --config "$TMP/cfg-cont.json"; then
    api_json POST /api/v1/code/execute "$(body 'print("goes on")')"
    api_check "pre hook with on_failure continue: a failing hook lets the run go on" 200 \
        '.status == "success" and .output == "goes on\n" and .hooks.pre.status == "failed"'
    jq -e '.hooks.post.status == "failed" and .status == "success"' "$R" >/dev/null
    tap $? "a failing post hook is reported and leaves the result alone" || diag "$(cat "$R")"
    srv_stop TERM
    [ "$SRV_RC" = 0 ]
    tap $? "SIGTERM: the on_failure continue server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"
else
    tap 1 "the server starts with a continue-on-failure hook"
fi

printf '{"server": {"hooks": {"pre": {"command": ["%s/hookdir/pre"], "on_failure": "maybe"}}}}\n' "$TMP" >"$TMP/cfg-bad.json"
timeout 20 "$RUNBOX" serve --listen 127.0.0.1:0 --data "$DATA" --config "$TMP/cfg-bad.json" >"$TMP/bad.out" 2>"$TMP/bad.err" </dev/null
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "on_failure" "$TMP/bad.err"
tap $? "a bad hook config is refused at start, naming the key" || diag "rc=$rc: $(cat "$TMP/bad.err")"

# ---- kill -9 with a run in flight, then a restart on the same data ----
marker=runbox-serve-marker-$$
slow=$(body "import os
print('before', flush=True)
os.execv('/bin/sh', ['sh', '-c', 'sleep 30; true', '$marker'])" python '.limits = {wall_time: 50}')
if srv_start "$DATA"; then
    api_json POST /api/v1/code/execute "$(body 'print("kept")')"
    KEPT=$(jq -r .id "$R")
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    K=$(jq -r .id "$R")
    srv_wait_state "$K" running 30
    for _ in $(seq 100); do pgrep -f "$marker" >/dev/null && break; sleep 0.1; done
    pgrep -f "$marker" >/dev/null
    tap $? "restart: the slow run is in its box" || diag "$(cat "$R")"
    oldpid=$SRV_PID
    srv_stop KILL
    [ "$SRV_RC" = 137 ]
    tap $? "restart: kill -9 kills the server" || diag "exit status $SRV_RC"
    for _ in $(seq 150); do pgrep -f "$marker" >/dev/null || break; sleep 0.1; done
    ! pgrep -f "$marker" >/dev/null
    tap $? "restart: the box of a killed server dies with it" || diag "$(ps -ef | grep "$marker" | grep -v grep)"
    if srv_start "$DATA"; then
        api GET "/api/v1/code/runs/$K"
        api_check "restart: the run in flight is done with internal_error, server restarted" 200 \
            '.state == "done" and .status == "internal_error" and ((.result.message // .message // "") + " " + (.result.error // .error // "") | test("server restarted"))'
        api GET "/api/v1/code/runs/$KEPT"
        api_check "restart: a run finished before the kill is kept" 200 \
            '.state == "done" and .status == "success" and .result.output == "kept\n"'
        api GET "/api/v1/code/history?limit=100"
        api_check "restart: the history is kept" 200 "(.runs | map(.id) | index($KEPT)) != null"
        left=$(cgroups | grep "/$oldpid-" || true)
        [ -z "$left" ]
        tap $? "restart: the killed server's cgroups are swept" || diag "$left"
        ADMIN2=$(srv_login admin password123)
        [ -n "$ADMIN2" ]
        tap $? "restart: users survive the restart"
        SRV_TOKEN=$ADMIN2
        api_json POST /api/v1/code/execute "$(body 'print("after")')"
        api_check "restart: new runs work" 200 ".status == \"success\" and .id > $K"
    else
        tap 1 "restart: the server starts again on the same data"
    fi
else
    tap 1 "the server starts for the restart test"
fi

# ---- SIGTERM with a run in flight ----
if [ -n "$SRV_PID" ]; then
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    T=$(jq -r .id "$R")
    srv_wait_state "$T" running 30
    for _ in $(seq 100); do pgrep -f "$marker" >/dev/null && break; sleep 0.1; done
    pgrep -f "$marker" >/dev/null
    tap $? "SIGTERM: a run is in its box" || diag "$(cat "$R")"
    termpid=$SRV_PID
    kill -TERM "$termpid"
    for _ in $(seq 250); do kill -0 "$termpid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$termpid" 2>/dev/null
    alive=$?
    srv_stop TERM
    [ "$alive" != 0 ] && [ "$SRV_RC" = 0 ]
    tap $? "SIGTERM with a run in flight: the server exits 0 (within 25 s)" ||
        diag "still running after 25 s: $([ "$alive" = 0 ] && echo yes || echo no), exit status $SRV_RC: $(tail -5 "$TMP/srv.err")"
    ! pgrep -f "$marker" >/dev/null
    tap $? "SIGTERM: no box process is left" || diag "$(ps -ef | grep "$marker" | grep -v grep)"
    left=$(cgroups | grep "/$termpid-" || true)
    [ -z "$left" ]
    tap $? "SIGTERM: no cgroup of the server is left" || diag "$left"
    if srv_start "$DATA"; then
        SRV_TOKEN=$(srv_login admin password123)
        api GET "/api/v1/code/runs/$T"
        api_check "SIGTERM: the interrupted run is recorded as done, not left running" 200 \
            '.state == "done" and (.status | IN("cancelled", "internal_error", "timeout"))'
        srv_stop TERM
        [ "$SRV_RC" = 0 ]
        tap $? "SIGTERM: the last server exits 0" || diag "exit status $SRV_RC"
    else
        tap 1 "the server starts after the SIGTERM test"
    fi
else
    tap 1 "SIGTERM with a run in flight (no server)"
fi

done_testing
