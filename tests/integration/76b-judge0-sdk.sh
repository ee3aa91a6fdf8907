#!/usr/bin/env bash
# Judge0's official Python SDK against /judge0/, replayed (tests/tools/judge0-sdk-replay.py:
# its requests and its parsing, from reading judge0/judge0-python; CI has no PyPI): creating a
# client, the language constants, run, async_run and wait, batches of 20, test cases,
# compile errors, time limits, SIGFPE, the Extra CE flavor. Then what Judge0 itself answers
# that the SDK does not exercise: the info routes, /authenticate and /authorize, wait=true on
# a batch, non-UTF-8 output with its token, per-item batch errors, and being busy (503 as
# Judge0, never the 429 the SDK turns into None).
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve (Judge0 SDK replay)" curl jq python3

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e" &&
    "$RUNBOX" user add ann --password-stdin --data "$DATA" <<<'password456' >/dev/null 2>>"$TMP/e"
tap $? "users for the SDK replay" || diag "$(cat "$TMP/e")"

# The defaults, but for the workers: what an operator gets out of the box.
srv_start_or_end "the server starts with the default limits" "$DATA" --workers 2

SRV_TOKEN=$(srv_login admin password123)
ANN_ID=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" "$SRV_URL/api/v1/users" | jq '.users[] | select(.name == "ann") | .id')
KEY=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"user_id\": $ANN_ID, \"name\": \"sdk\"}" "$SRV_URL/api/v1/keys" | jq -r .key)
AKEY=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" -H 'Content-Type: application/json' \
    -d '{"user_id": 1, "name": "sdk-admin"}' "$SRV_URL/api/v1/keys" | jq -r .key)
SRV_TOKEN=""
[ -n "$KEY" ] && [ "$KEY" != null ] && [ -n "$AKEY" ] && [ "$AKEY" != null ]
tap $? "an API key, as the SDK's auth header"

# ---- the SDK's calls ----
python3 "$ROOT/tests/tools/judge0-sdk-replay.py" "$SRV_URL/judge0" \
    "{\"X-Auth-Token\": \"$KEY\"}" "$SRV_URL/judge0-extra" >"$TMP/replay" 2>"$TMP/replay.err"
while IFS= read -r line; do
    case $line in
    "ok "*) tap 0 "SDK: ${line#ok }" ;;
    "not ok "*) tap 1 "SDK: ${line#not ok }" ;;
    *) diag "$line" ;;
    esac
done <"$TMP/replay"
[ -s "$TMP/replay.err" ] && diag "$(cat "$TMP/replay.err")"
[ "$(grep -c '^ok ' "$TMP/replay")" -ge 15 ]
tap $? "the replay made every SDK call ($(grep -c '^ok ' "$TMP/replay") passed)"

# ---- what Judge0 answers beyond the SDK's calls ----
J0=(-H "X-Auth-Token: $KEY")
j0() {
    local m=$1 p=$2
    shift 2
    api "$m" "/judge0$p" "${J0[@]}" "$@"
}
j0_json() { j0 "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
sub() { jq -nc --arg s "$1" --argjson l "$2" '{source_code: $s, language_id: $l}'; }

j0 GET /about
api_check "/about: a Judge0 version, runbox's own apart" 200 \
    '.version == "1.13.1" and (.runbox_version | type == "string") and .runbox_version != .version'
j0 GET /version
http_is "/version: the same version in plain text" 200
[ "$(cat "$R")" = 1.13.1 ]
tap $? "... exactly 1.13.1" || diag "$(head -c 200 "$R")"
j0 GET /license
http_is "/license in plain text" 200
j0 GET /isolate
http_is "/isolate in plain text" 200
j0 POST /authenticate
http_is "POST /authenticate with a key: 200" 200
J0=(-H "X-Auth-Token: rbk_nope")
j0 POST /authenticate
http_is "POST /authenticate with an unknown key: 401" 401
J0=(-H "X-Auth-Token: $KEY")
j0 POST /authorize
http_is "POST /authorize without an admin's X-Auth-User: 403" 403
J0=(-H "X-Auth-Token: $KEY" -H "X-Auth-User: $AKEY")
j0 POST /authorize
http_is "POST /authorize with an admin's X-Auth-User: 200" 200
J0=(-H "X-Auth-Token: $KEY")
j0 GET /languages/71
api_check "/languages/71: Judge0's name and script.py" 200 \
    '.name == "Python (3.8.1)" and .source_file == "script.py" and .compile_cmd == null'
j0 GET /languages/52
api_check "/languages/52: C++ (GCC 7.4.0), compiled without optimisation, %s for the options" 200 \
    '.name == "C++ (GCC 7.4.0)" and (.compile_cmd | test("-O0 %s")) and .source_file == "main.cpp"'
j0 GET /languages/10
api_check "an Extra CE id is not a CE language" 404

j0_json POST "/submissions?wait=true" "$(sub 'import sys; sys.stdout.buffer.write(b"\xff\xfe ok")' 71)"
api_check "non-UTF-8 output, wait=true, no base64: 201 with the token and Judge0's message" 201 \
    '(.token | type == "string") and (.error | test("use base64_encoded=true query parameter"))'
TOK=$(jq -r .token "$R")
j0 GET "/submissions/$TOK?base64_encoded=true"
api_check "... and the token gives the output in base64" 200 '.stdout == "//4gb2s=" and .status.id == 3'
j0 GET "/submissions/batch?tokens=$TOK"
api_check "a batch GET of it without base64: Judge0's batch message" 400 \
    '.error | test("one or more submissions")'

j0_json POST "/submissions/batch?wait=true" "{\"submissions\": [$(sub 'print(1)' 71)]}"
api_check "wait=true on a batch is accepted and ignored, as Judge0 does" 201 \
    'length == 1 and (.[0].token | type == "string")'
j0_json POST /submissions/batch "{\"submissions\": [$(sub 'print(1)' 71), {\"language_id\": 71}]}"
api_check "a batch item's errors in Judge0's shape ({attribute: [messages]})" 201 \
    '(.[0].token | type == "string") and (.[1] | has("error") | not) and (.[1].source_code | type == "array")'
j0_json POST /submissions/batch '{"submissions": [{"language_id": 71}]}'
api_check "no valid item: 422" 422
j0_json POST /submissions/batch '{"submissions": []}'
api_check "an empty batch: 400" 400 '.error | test("at least one")'
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server stops cleanly" || diag "exit status $SRV_RC; $(tail -5 "$TMP/srv.err")"

# ---- busy: 503 in Judge0's shape, never 429 ----
cat >"$TMP/cfg.json" <<'EOF2'
{"server": {"judge0_rate_limit_per_s": 0.01, "judge0_rate_limit_burst": 2}}
EOF2
srv_start_or_end "a server with a small Judge0 request budget starts" "$DATA" --config "$TMP/cfg.json" --workers 1
codes=""
for _ in 1 2 3; do
    j0_json POST /submissions "$(sub 'print(1)' 71)"
    codes="$codes $CODE"
done
[ "$codes" = " 201 201 503" ] && jq -e '.error | type == "string"' "$R" >/dev/null &&
    [ -n "$(srv_header Retry-After)" ]
tap $? "past the budget: 503 {\"error\"} with Retry-After (got$codes)" || diag "$(cat "$R")"
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the second server stops cleanly" || diag "exit status $SRV_RC; $(tail -5 "$TMP/srv.err")"

done_testing
