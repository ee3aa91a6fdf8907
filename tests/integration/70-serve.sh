#!/usr/bin/env bash
# runbox serve, the HTTP API: health, login, execute (results, limits, bad input), history,
# languages, stats, metrics, users and keys, other users' runs, async runs and cancel, the event
# stream (SSE), rate limits and a full queue (429 with Retry-After). Each server is stopped with
# SIGTERM and must exit 0.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve" curl jq python3

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin before the server runs" || diag "$(cat "$TMP/e")"

# The data dir holds password hashes, tokens and everyone's code: 0700, its files 0600.
perms() { stat -c '%a' "$@" | tr '\n' ' '; }
got=$(perms "$DATA" "$DATA/runbox.db")
[ "$got" = "700 600 " ]
tap $? "user add: the data dir is 0700 and runbox.db 0600 (got $got)"
# As an older runbox left it: fixed (and logged) when the server starts.
chmod 0755 "$DATA"
chmod 0644 "$DATA"/runbox.db*

cat >"$TMP/cfg.json" <<'EOF'
{"server": {"max_code_kb": 16, "max_memory_mb": 512, "max_wall_time": 60},
 "limits": {"wall": 10, "memory_mb": 256}}
EOF
srv_start_or_end "the server starts and answers /healthz" "$DATA" --config "$TMP/cfg.json" --workers 2
got=$(perms "$DATA" "$DATA/runbox.db" "$DATA/runbox.db-wal" "$DATA/runbox.db-shm")
[ "$got" = "700 600 600 600 " ]
tap $? "serve: the data dir is made 0700, runbox.db and its -wal, -shm 0600 (got $got)"
grep -q "data dir '$DATA': 'runbox.db' was mode 0644, made 0600" "$TMP/srv.err" &&
    grep -q "data dir '$DATA': '.' was mode 0755, made 0700" "$TMP/srv.err"
tap $? "serve: each mode it fixed is logged" || diag "$(cat "$TMP/srv.err")"

# body CODE [LANGUAGE] [JQ_UPDATE]: an execute request as JSON.
body() { jq -nc --arg c "$1" --arg l "${2:-python}" "{code: \$c, language: \$l} | ${3:-.}"; }

# ---- health, openapi, unknown routes ----
api GET /healthz
api_check "GET /healthz: status ok with the worker count" 200 '.status == "ok" and .workers == 2'
api GET /api/v1/openapi.json
api_check "GET /api/v1/openapi.json is an OpenAPI 3 document" 200 '.openapi | startswith("3.")'
api GET /api/v1/nope
api_check "an unknown path is 404 with an error" 404 '.error | type == "string"'

# ---- login and authentication ----
api POST /api/v1/auth/token -d username=admin -d password=wrong-password
api_check "a wrong password is 401" 401 '.error | type == "string"'
api POST /api/v1/auth/token -d username=nobody -d password=password123
api_check "an unknown user is 401" 401 '.error | type == "string"'
api POST /api/v1/auth/token -d username=admin -d password=password123
api_check "the right password gives a bearer token" 200 \
    '(.access_token | type == "string" and length > 16) and .token_type == "bearer" and .expires_in > 0'
ADMIN=$(jq -r .access_token "$R")

api GET /api/v1/auth/me
api_check "no Authorization header is 401" 401 '.error | type == "string"'
api GET /api/v1/auth/me -H "Authorization: Bearer rbt_not-a-real-token"
api_check "an unknown token is 401" 401
api POST /api/v1/code/execute -H 'Content-Type: application/json' --data-binary "$(body 'print(1)')"
api_check "execute without a token is 401" 401
SRV_TOKEN=$ADMIN
api GET /api/v1/auth/me
api_check "GET /auth/me names the user" 200 '.name == "admin" and .admin == true and .id == 1'

# ---- execute ----
api_json POST /api/v1/code/execute "$(body 'print("Hello, World!")')"
api_check "execute python: success with the output" 200 \
    '.status == "success" and .state == "done" and .output == "Hello, World!\n" and .exit_code == 0
     and .signal == null and .language == "python" and (.version | test("^[0-9]+\\."))
     and (.id | type == "number") and .output_truncated == false and .execution_time > 0
     and .memory_bytes > 0 and has("cpu_time") and .error == ""'
FIRST_ID=$(jq -r .id "$R")

api_json POST /api/v1/code/execute "$(body 'import os, pwd
print(pwd.getpwuid(os.getuid()).pw_name, oct(os.umask(0)))')"
api_check "execute: the box has its accounts and umask 022 under the server's umask 077" 200 \
    '.status == "success" and .output == "runbox 0o22\n"'

api_json POST /api/v1/code/execute "$(body 'print(input()[::-1])' python '.stdin = "abc\n"')"
api_check "execute feeds stdin" 200 '.status == "success" and .output == "cba\n"'

code='import sys
print(open("data.txt").read().strip(), open("bin.dat", "rb").read().hex(), sys.argv[1:])'
api_json POST /api/v1/code/execute "$(body "$code" python '.files = [
    {name: "data.txt", content: "text file\n", encoding: "utf8"},
    {name: "bin.dat", content: "AP8Q", encoding: "base64"}] | .args = ["a b", "-x"]')"
api_check "execute with extra files (utf8, base64) and args" 200 \
    '.status == "success" and .output == "text file 00ff10 [\u0027a b\u0027, \u0027-x\u0027]\n"'

api_json POST /api/v1/code/execute "$(body 'import sys; sys.stderr.write("oops\n"); sys.exit(3)')"
api_check "a non-zero exit is runtime_error with the exit code and stderr" 200 \
    '.status == "runtime_error" and .exit_code == 3 and .error == "oops\n"'

api_json POST /api/v1/code/execute "$(body 'import os; os.kill(os.getpid(), 11)')"
api_check "a signal is runtime_error with the signal number" 200 \
    '.status == "runtime_error" and .signal == 11'

api_json POST /api/v1/code/execute "$(body '#include <stdio.h>
int main(void) { puts("compiled"); return 0; }' c)"
api_check "execute C: compile stage and output" 200 \
    '.status == "success" and .output == "compiled\n" and .compile.status == "success" and .language == "c"'

api_json POST /api/v1/code/execute "$(body 'int main(void) { return undefined_thing; }' c)"
api_check "a C syntax error is compile_error with the compiler's message" 200 \
    '.status == "compile_error" and .compile.status != "success"
     and ((.compile.error // "") + (.compile.output // "") + (.error // "") | test("undefined_thing"))'

api_json POST /api/v1/code/execute "$(body 'while True: pass' python '.limits = {wall_time: 1}')"
api_check "limits.wall_time: a busy loop is timeout" 200 '.status == "timeout"'

api_json POST /api/v1/code/execute "$(body 'x = bytearray(512 << 20); print(len(x))' python '.limits = {memory_mb: 64}')"
api_check "limits.memory_mb: a big allocation is memory_limit" 200 '.status == "memory_limit"'

api_json POST /api/v1/code/execute "$(body 'while True: print("y" * 100)' python '.limits = {output_kb: 16}')"
api_check "limits.output_kb: a flood is output_limit, truncated" 200 \
    '.status == "output_limit" and .output_truncated == true and (.output | length) <= 17000'

# ---- bad input ----
api_json POST /api/v1/code/execute "$(body 'print(1)' nosuchlang)"
api_check "an unknown language is 400 on field language" 400 '.field == "language" and (.error | type == "string")'
api_json POST /api/v1/code/execute '{"code": "print(1)", "language": '
api_check "invalid JSON is 400" 400 '.error | type == "string"'
api_json POST /api/v1/code/execute '[1, 2]'
api_check "a JSON array body is 400" 400 '.error | type == "string"'
api_json POST /api/v1/code/execute '{"language": "python"}'
api_check "a missing code is 400 on field code" 400 '.field == "code"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.files = [{name: "../x", content: "x"}]')"
api_check "a file name ../x is 400 on files[0].name" 400 '.field == "files[0].name"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.files = [{name: "/etc/passwd", content: "x"}]')"
api_check "a file name /etc/passwd is 400 on files[0].name" 400 '.field == "files[0].name"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.files = [{name: "ok.txt", content: "x"}, {name: "a/../../b", content: "x"}]')"
api_check "a climbing file name in the second file is 400 on files[1].name" 400 '.field == "files[1].name"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.limits = {memory_mb: 100000}')"
api_check "a memory limit over the server maximum is 400 on limits.memory_mb" 400 '.field == "limits.memory_mb"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.limits = {wall_time: 3600}')"
api_check "a wall time over the server maximum is 400 on limits.wall_time" 400 '.field == "limits.wall_time"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.limits = {memory_mb: "lots"}')"
api_check "a non-numeric limit is 400 on its field" 400 '.field == "limits.memory_mb"'
api_json POST /api/v1/code/execute "$(body 'print(1)' python '.project_id = "p1"')"
api_check "a non-integer project_id is 400 on project_id" 400 '.field == "project_id"'
python3 -c 'print("# " + "x" * 20 * 1024)' >"$TMP/big.py"
jq -nc --rawfile c "$TMP/big.py" '{code: $c, language: "python"}' >"$TMP/big.json"
api POST /api/v1/code/execute -H 'Content-Type: application/json' --data-binary @"$TMP/big.json"
api_check "code over max_code_kb is 413 on field code" 413 '.field == "code"'
api PUT /api/v1/code/execute
api_check "a wrong method on a known path is 405" 405 '.error | type == "string"'

# ---- users and keys ----
api_json POST /api/v1/users '{"username": "bob", "password": "bobpassword1", "admin": false}'
api_check "POST /users makes a user (201)" 201 '.name == "bob" and .admin == false and (.id | type == "number")'
BOB_ID=$(jq -r .id "$R")
api_json POST /api/v1/users '{"username": "bob", "password": "bobpassword1", "admin": false}'
api_check "a second user of the same name is 409" 409 '.field == "username"'
api GET /api/v1/users
api_check "GET /users lists the users, without password hashes" 200 \
    '(.users | map(.name) | sort) == ["admin", "bob"] and ([.. | objects | keys[] | select(test("pass|hash"))] | length == 0)'

BOB=$(srv_login bob bobpassword1)
[ -n "$BOB" ]
tap $? "the new user can log in"
SRV_TOKEN=$BOB
api GET /api/v1/auth/me
api_check "his token names him" 200 '.name == "bob" and .admin == false'
api GET /api/v1/users
api_check "a non-admin on GET /users is 403" 403 '.error | type == "string"'
api_json POST /api/v1/keys "{\"user_id\": $BOB_ID, \"name\": \"mine\"}"
api_check "a non-admin on POST /keys is 403" 403
api DELETE /api/v1/users/1
api_check "a non-admin on DELETE /users/1 is 403" 403
SRV_TOKEN=$ADMIN

api_json POST /api/v1/keys "{\"user_id\": $BOB_ID, \"name\": \"ci\"}"
api_check "POST /keys makes an API key (201)" 201 \
    "(.key | type == \"string\" and length > 16) and .user_id == $BOB_ID and .name == \"ci\" and (.id | type == \"number\")"
KEY=$(jq -r .key "$R")
KEY_ID=$(jq -r .id "$R")
api GET /api/v1/keys
api_check "GET /keys lists the key without its secret" 200 \
    "(.keys | map(.id) | index($KEY_ID)) != null and (tostring | contains(\"$KEY\") | not)"
SRV_TOKEN=$KEY
api GET /api/v1/auth/me
api_check "the API key authenticates as its user" 200 '.name == "bob"'
SRV_TOKEN=$ADMIN
api DELETE "/api/v1/keys/$KEY_ID"
[ "$CODE" = 200 ] || [ "$CODE" = 204 ]
tap $? "DELETE /keys/{id} revokes the key" || diag "HTTP $CODE: $(cat "$R")"
SRV_TOKEN=$KEY
api GET /api/v1/auth/me
api_check "a revoked key is 401" 401
SRV_TOKEN=$ADMIN

CLIKEY=$("$RUNBOX" key add bob --data "$DATA" 2>"$TMP/e" | grep -o 'rbk_[A-Za-z0-9_-]*' | head -1)
SRV_TOKEN=$CLIKEY
api GET /api/v1/auth/me
api_check "a key made by the CLI while the server runs works" 200 '.name == "bob"' || diag "$(cat "$TMP/e")"
SRV_TOKEN=$ADMIN
"$RUNBOX" user add carol --password-stdin --data "$DATA" <<<'carolpassword1' >/dev/null 2>"$TMP/e"
CAROL=$(srv_login carol carolpassword1)
[ -n "$CAROL" ]
tap $? "a user added by the CLI while the server runs can log in" || diag "$(cat "$TMP/e")"
api GET /api/v1/users
CAROL_ID=$(jq -r '.users[] | select(.name == "carol") | .id' "$R")
api DELETE "/api/v1/users/$CAROL_ID"
[ "$CODE" = 200 ] || [ "$CODE" = 204 ]
tap $? "DELETE /users/{id} deletes the user" || diag "HTTP $CODE: $(cat "$R")"
SRV_TOKEN=$CAROL
api GET /api/v1/auth/me
api_check "a deleted user's token is 401" 401
SRV_TOKEN=$ADMIN
api DELETE /api/v1/users/99999
api_check "DELETE of an unknown user is 404" 404

# ---- history ----
ids=()
for spec in 'print(1)|python|{project_id: 7}' 'echo b|bash|{project_id: 7}' \
    'import sys; sys.exit(2)|python|{project_id: 8}' 'print(4)|python|{project_id: 7, save_history: false}'; do
    IFS='|' read -r c l upd <<<"$spec"
    api_json POST /api/v1/code/execute "$(body "$c" "$l" ". + $upd")"
    ids+=("$(jq -r .id "$R")")
done
api GET "/api/v1/code/history?project_id=7"
api_check "history?project_id=7: the two saved runs, newest first" 200 \
    "(.runs | map(.id)) == [${ids[1]}, ${ids[0]}] and all(.runs[]; .project_id == 7)"
api GET "/api/v1/code/history?project_id=7&language=bash"
api_check "history filters by language" 200 "(.runs | map(.id)) == [${ids[1]}] and .runs[0].language == \"bash\""
api GET "/api/v1/code/history?status=runtime_error"
api_check "history filters by status" 200 \
    "(.runs | length) >= 1 and all(.runs[]; .status == \"runtime_error\") and (.runs | map(.id) | index(${ids[2]})) != null"
api GET "/api/v1/code/history?limit=100"
api_check "a run with save_history false is not in the history" 200 \
    "(.runs | map(.id) | index(${ids[3]})) == null and (.runs | map(.id) | index(${ids[2]})) != null"
api GET "/api/v1/code/history?limit=2"
api_check "history?limit=2: two runs and a next_before" 200 '(.runs | length) == 2 and (.next_before | type == "number")'
first_page=$(jq -c '[.runs[].id]' "$R")
nb=$(jq -r .next_before "$R")
api GET "/api/v1/code/history?limit=2&before=$nb"
api_check "history?before=next_before: the next page, older runs" 200 \
    "(.runs | length) == 2 and all(.runs[]; .id < ($first_page | min))"
api GET "/api/v1/code/history?limit=abc"
api_check "history?limit=abc is 400" 400 '.field == "limit"'

api GET "/api/v1/code/history/${ids[0]}"
api_check "GET /history/{id}: the run with its code and result" 200 \
    "(.id == ${ids[0]}) and .code == \"print(1)\" and .result.output == \"1\\n\" and .project_id == 7"
api GET "/api/v1/code/runs/${ids[3]}"
api_check "a run kept out of the history can still be fetched by id" 200 '.state == "done" and .status == "success"'

# Another user's runs: 404 everywhere.
SRV_TOKEN=$BOB
api GET "/api/v1/code/history/${ids[0]}"
api_check "another user's history entry is 404" 404
api DELETE "/api/v1/code/history/${ids[0]}"
api_check "deleting another user's history entry is 404" 404
api GET "/api/v1/code/runs/${ids[0]}"
api_check "another user's run is 404" 404
api DELETE "/api/v1/code/runs/${ids[0]}"
api_check "cancelling another user's run is 404" 404
api GET "/api/v1/code/runs/${ids[0]}/webhooks"
api_check "another user's webhooks are 404" 404
api GET "/api/v1/code/history?limit=100"
api_check "a user's history holds none of another user's runs" 200 '(.runs | length) == 0'
SRV_TOKEN=$ADMIN

api DELETE "/api/v1/code/history/${ids[1]}"
[ "$CODE" = 200 ] || [ "$CODE" = 204 ]
tap $? "DELETE /history/{id} deletes the entry" || diag "HTTP $CODE: $(cat "$R")"
api GET "/api/v1/code/history/${ids[1]}"
api_check "a deleted history entry is 404" 404
api GET "/api/v1/code/history?project_id=7"
api_check "a deleted entry is gone from the list" 200 "(.runs | map(.id)) == [${ids[0]}]"
api GET "/api/v1/code/history/99999"
api_check "an unknown history id is 404" 404

# ---- languages, stats, metrics ----
api GET /api/v1/code/languages
api_check "GET /languages lists every language with version, extensions and limits" 200 \
    '(.languages | length) >= 9 and all(.languages[]; has("name") and has("version") and has("extensions") and has("installed") and (.limits | type == "object"))
     and (.languages[] | select(.name == "python") | .installed == true and (.extensions | index(".py")) != null)'
api GET /api/v1/code/languages
api_check "each language's \"highlight\" (the page's mode) is FILE:EXPORT or null" 200 \
    'all(.languages[]; has("highlight") and (.highlight == null or (.highlight | test("^[a-z][a-z0-9-]*:[A-Za-z_][A-Za-z0-9_]*$"))))'
api GET /api/v1/code/stats
api_check "GET /stats counts the runs by language and status" 200 \
    '(.total | type == "number") and .total >= 10
     and ([.languages[] | select(.language == "python" and .status == "success") | .count] | add) >= 3'
curl -sS -o "$TMP/metrics" -D "$TMP/metrics.hdr" "$SRV_URL/metrics"
grep -qi '^content-type: text/plain' "$TMP/metrics.hdr"
tap $? "GET /metrics is text/plain" || diag "$(cat "$TMP/metrics.hdr")"
for m in runbox_runs_total runbox_queue_depth runbox_run_latency_seconds_bucket runbox_sandbox_setup_seconds_bucket; do
    grep -q "^${m}[{ ]" "$TMP/metrics"
    tap $? "/metrics has $m" || diag "$(grep -v '^#' "$TMP/metrics" | head -20)"
done
n=$(sed -n 's/^runbox_runs_total{language="python",status="success"} \([0-9]*\)$/\1/p' "$TMP/metrics")
[ "${n:-0}" -ge 3 ]
tap $? "runbox_runs_total counts the python successes" || diag "got '$n'"
n=$(sed -n 's/^runbox_run_latency_seconds_count \([0-9]*\)$/\1/p' "$TMP/metrics")
[ "${n:-0}" -ge 10 ]
tap $? "runbox_run_latency_seconds_count counts the runs" || diag "got '$n'"

# ---- async runs and cancel ----
slow=$(body 'import time; time.sleep(30)' python '.limits = {wall_time: 50}')
api_json POST "/api/v1/code/execute?wait=false" "$slow"
api_check "?wait=false is 202 queued with status and events URLs" 202 \
    '.state == "queued" and (.id | type == "number") and (.position | type == "number")
     and .status_url == "/api/v1/code/runs/\(.id)" and .events_url == "/api/v1/code/runs/\(.id)/events"'
A=$(jq -r .id "$R")
srv_wait_state "$A" running 30
tap $? "the async run starts running" || diag "$(cat "$R")"
api_json POST "/api/v1/code/execute?wait=false" "$slow"
B=$(jq -r .id "$R")
srv_wait_state "$B" running 30
tap $? "a second async run takes the second worker" || diag "$(cat "$R")"
api_json POST "/api/v1/code/execute?wait=false" "$slow"
api_check "a third waits in the queue at position 1" 202 '.state == "queued" and .position == 1'
C=$(jq -r .id "$R")
api GET "/api/v1/code/runs/$C"
api_check "GET runs/{id} of a queued run: state queued with its position" 200 '.state == "queued" and .position == 1'
api DELETE "/api/v1/code/runs/$C"
api_check "cancelling a queued run is 202 cancelling" 202 '.state == "cancelling"'
srv_wait_state "$C" "done" 30
api_check "the queued run ends cancelled" 200 '.state == "done" and .status == "cancelled"'
api DELETE "/api/v1/code/runs/$A"
api_check "cancelling a running run is 202 cancelling" 202 '.state == "cancelling"'
srv_wait_state "$A" "done" 30
api_check "the running run ends cancelled" 200 '.state == "done" and .status == "cancelled" and .result.status == "cancelled"'
api DELETE "/api/v1/code/runs/$A"
api_check "cancelling a finished run is 409" 409 '.error | type == "string"'
api DELETE "/api/v1/code/runs/$B"
srv_wait_state "$B" "done" 30
api_check "the second running run ends cancelled" 200 '.status == "cancelled"'
api GET "/api/v1/code/runs/$FIRST_ID"
api_check "GET runs/{id} of a finished run has its result" 200 \
    '.state == "done" and .status == "success" and .result.output == "Hello, World!\n"'
api GET "/api/v1/code/runs/99999"
api_check "an unknown run is 404" 404

# ---- the event stream (SSE) ----
# sse_parse FILE: the events of an SSE stream as one JSON array of {id, event, data}.
sse_parse() {
    python3 - "$1" <<'PY'
import json, sys
events, cur = [], {}
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    line = line.rstrip("\r")
    if line == "":
        if cur:
            cur["data"] = json.loads(cur["data"]) if "data" in cur else None
            events.append(cur)
        cur = {}
    elif line.startswith(":"):
        continue
    else:
        k, _, v = line.partition(":")
        v = v[1:] if v.startswith(" ") else v
        cur[k] = cur[k] + "\n" + v if k == "data" and k in cur else v
print(json.dumps(events))
PY
}
sse() { # sse ID OUT: the run's event stream until the server closes it
    curl -sS -N --max-time 60 -D "$2.hdr" -H "Authorization: Bearer $ADMIN" \
        "$SRV_URL/api/v1/code/runs/$1/events" >"$2.raw" 2>"$2.err"
    sse_parse "$2.raw" >"$2" 2>>"$2.err"
}
code='import sys, time
time.sleep(0.5)
print("out1", flush=True)
sys.stderr.write("err1\n"); sys.stderr.flush()
time.sleep(0.2)
print("out2")'
api_json POST "/api/v1/code/execute?wait=false" "$(body "$code")"
S=$(jq -r .id "$R")
sse "$S" "$TMP/sse.json"
grep -qi '^content-type: text/event-stream' "$TMP/sse.json.hdr"
tap $? "the event stream is text/event-stream" || diag "$(cat "$TMP/sse.json.hdr")"
types=$(jq -r '[.[] | .event + (if .event == "state" then "(" + .data.state + ")" elif .event == "stage" then "(" + .data.stage + ")" else "" end)] | join(" ")' "$TMP/sse.json" 2>/dev/null)
[[ "$types" =~ ^(state\(queued\) )?state\(running\)\ stage\(run\)\ (stdout |stderr )+result\ done$ ]]
tap $? "SSE: [queued] running, stage run, output, result, done, in that order" ||
    diag "got: $types" "$(head -c 800 "$TMP/sse.json.raw")"
jq -e '[.[].id | tonumber] | . == sort and (unique | length) == length' "$TMP/sse.json" >/dev/null 2>&1
tap $? "SSE: event ids increase"
jq -e '([.[] | select(.event == "stdout") | .data.data] | add) == "out1\nout2\n"
       and ([.[] | select(.event == "stderr") | .data.data] | add) == "err1\n"
       and all(.[] | select(.event == "stdout" or .event == "stderr"); .data.stage == "run")' \
    "$TMP/sse.json" >/dev/null 2>&1
tap $? "SSE: stdout and stderr chunks carry the whole output" || diag "$(cat "$TMP/sse.json")"
jq -e '.[] | select(.event == "result") | .data.status == "success" and .data.output == "out1\nout2\n" and .data.id == '"$S" \
    "$TMP/sse.json" >/dev/null 2>&1
tap $? "SSE: the result event is the run's result"

# A program of its own (no compile-cache hit) that takes a moment, so the stream sees it run.
api_json POST "/api/v1/code/execute?wait=false" "$(body '#include <stdio.h>
#include <unistd.h>
int main(void) { usleep(300000); puts("c out"); return 0; } /* '"$$-$RANDOM"' */' c)"
S2=$(jq -r .id "$R")
sse "$S2" "$TMP/sse2.json"
stages=$(jq -r '[.[] | select(.event == "stage") | .data.stage] | join(" ")' "$TMP/sse2.json" 2>/dev/null)
[ "$stages" = "compile run" ] && [ "$(jq -r '.[-1].event' "$TMP/sse2.json")" = "done" ]
tap $? "SSE of a compiled language: stage compile, then stage run, then done" || diag "stages: $stages"

sse "$S" "$TMP/sse3.json"
[ "$(jq -r '[.[].event] | join(" ")' "$TMP/sse3.json" 2>/dev/null)" = "result done" ] &&
    jq -e '.[0].data.output == "out1\nout2\n"' "$TMP/sse3.json" >/dev/null
tap $? "SSE of a finished run: just result and done" || diag "$(cat "$TMP/sse3.json.raw")"

SRV_TOKEN=$BOB
api GET "/api/v1/code/runs/$S/events"
api_check "another user's event stream is 404" 404
SRV_TOKEN=$ADMIN

srv_stop TERM
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM: the server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"

# ---- rate limits: a tight bucket and one run at a time per caller ----
cat >"$TMP/cfg-rate.json" <<'EOF'
{"server": {"rate_limit_per_s": 0.02, "rate_limit_burst": 3, "max_concurrent_runs": 1, "max_wall_time": 60}}
EOF
KEY1=$("$RUNBOX" key add bob --data "$DATA" 2>/dev/null | grep -o 'rbk_[A-Za-z0-9_-]*' | head -1)
KEY2=$("$RUNBOX" key add bob --data "$DATA" 2>/dev/null | grep -o 'rbk_[A-Za-z0-9_-]*' | head -1)
if srv_start "$DATA" --config "$TMP/cfg-rate.json"; then
    SRV_TOKEN=$KEY1
    codes=""
    for _ in 1 2 3 4 5; do
        api_json POST /api/v1/code/execute "$(body 'print(1)')"
        codes="$codes $CODE"
        [ "$CODE" = 429 ] && cp "$R" "$TMP/429.json" && cp "$R.hdr" "$TMP/429.json.hdr"
    done
    [ "$codes" = " 200 200 200 429 429" ]
    tap $? "rate limit: the burst passes, then 429" || diag "codes:$codes"
    ra=$(tr -d '\r' <"$TMP/429.json.hdr" 2>/dev/null | sed -n 's/^retry-after: *//Ip')
    [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && jq -e '.error | type == "string"' "$TMP/429.json" >/dev/null
    tap $? "rate limit: the 429 has a Retry-After and an error" || diag "Retry-After '$ra'"
    SRV_TOKEN=$KEY2
    api_json POST /api/v1/code/execute "$(body 'print(1)')"
    api_check "rate limit: another key of the same user has its own bucket" 200 '.status == "success"'
    api_json POST "/api/v1/code/execute?wait=false" "$(body 'import time; time.sleep(20)' python '.limits = {wall_time: 30}')"
    api_check "max_concurrent_runs 1: the first run is accepted" 202
    D=$(jq -r .id "$R")
    api_json POST "/api/v1/code/execute?wait=false" "$(body 'print(2)')"
    api_check "max_concurrent_runs 1: a second run at once is 429" 429 '.error | type == "string"'
    ra=$(srv_header retry-after)
    [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ]
    tap $? "max_concurrent_runs: the 429 has a Retry-After" || diag "Retry-After '$ra'"
    api DELETE "/api/v1/code/runs/$D"
    srv_wait_state "$D" "done" 30
    api_check "the limited caller can still cancel its run" 200 '.status == "cancelled"'
    SRV_TOKEN=""
    srv_stop TERM
    [ "$SRV_RC" = 0 ]
    tap $? "SIGTERM: the rate-limited server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"
else
    tap 1 "the server starts with rate limits"
fi

# ---- a full queue: one worker, a queue of one ----
if srv_start "$DATA" --workers 1 --queue 1; then
    SRV_TOKEN=$ADMIN
    slow=$(body 'import time; time.sleep(20)' python '.limits = {wall_time: 30}')
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    E1=$(jq -r .id "$R")
    srv_wait_state "$E1" running 30
    tap $? "full queue: the first run takes the only worker" || diag "$(cat "$R")"
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    api_check "full queue: the second run waits in the queue" 202 '.state == "queued" and .position == 1'
    E2=$(jq -r .id "$R")
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    api_check "full queue: a third run is 429" 429 '.error | type == "string"'
    ra=$(srv_header retry-after)
    [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ]
    tap $? "full queue: the 429 has a Retry-After" || diag "Retry-After '$ra'"
    api_json POST /api/v1/code/execute "$(body 'print(1)')"
    api_check "full queue: a synchronous run is 429 too" 429
    api GET /healthz
    api_check "full queue: /healthz shows the busy worker and the queue" 200 '.busy == 1 and .queued == 1 and .queue_size == 1'
    api DELETE "/api/v1/code/runs/$E2"
    api DELETE "/api/v1/code/runs/$E1"
    srv_wait_state "$E1" "done" 30
    api_json POST /api/v1/code/execute "$(body 'print(1)')"
    api_check "after the queue drains, runs are accepted again" 200 '.status == "success"'
    srv_stop TERM
    [ "$SRV_RC" = 0 ]
    tap $? "SIGTERM: the one-worker server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"
else
    tap 1 "the server starts with one worker and a queue of one"
fi

# ---- --no-auth: one local user, only on a loopback address ----
"$RUNBOX" serve --listen 0.0.0.0:0 --no-auth --data "$TMP/data-noauth" >"$TMP/na.out" 2>"$TMP/na.err" </dev/null &
na=$!
for _ in $(seq 100); do kill -0 "$na" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$na" 2>/dev/null; then
    kill -KILL "$na"
    wait "$na"
    tap 1 "--no-auth on 0.0.0.0 is refused" || diag "still running after 10 s: $(cat "$TMP/na.out")"
else
    wait "$na"
    rc=$?
    [ "$rc" != 0 ] && grep -q -- "--no-auth" "$TMP/na.err" && ! grep -q "serving on" "$TMP/na.out"
    tap $? "--no-auth on 0.0.0.0 is refused with a message" || diag "rc=$rc: $(cat "$TMP/na.err")"
fi
if srv_start "$TMP/data-noauth" --no-auth; then
    SRV_TOKEN=""
    api_json POST /api/v1/code/execute "$(body 'print(6 * 7)')"
    api_check "--no-auth on 127.0.0.1: execute needs no token" 200 '.status == "success" and .output == "42\n"'
    api GET /api/v1/code/history
    api_check "--no-auth: the local user has a history" 200 '(.runs | length) == 1'
    srv_stop TERM
    [ "$SRV_RC" = 0 ]
    tap $? "SIGTERM: the --no-auth server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"
else
    tap 1 "the server starts with --no-auth on 127.0.0.1"
fi

done_testing
