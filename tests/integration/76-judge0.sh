#!/usr/bin/env bash
# The Judge0 CE API (/judge0, and / with --judge0-root): every endpoint's shape, X-Auth-Token /
# X-Auth-User, base64 in and out (non-UTF-8 output too), wait=true, fields=, batches, each
# status mapping, expected_output, number_of_runs, compiler options and arguments, additional
# files (zip, path traversal refused), callbacks (PUT), limits over the maxima (422 per field),
# DELETE, and an anonymous user. Each server is stopped with SIGTERM and must exit 0.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve (Judge0 API)" curl jq python3

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e" &&
    "$RUNBOX" user add bob --password-stdin --data "$DATA" <<<'password456' >/dev/null 2>>"$TMP/e"
tap $? "users for the Judge0 tests" || diag "$(cat "$TMP/e")"

cat >"$TMP/cfg.json" <<'EOF2'
{"server": {"max_cpu_time": 10, "max_wall_time": 20, "max_memory_mb": 512,
            "webhook_allow_hosts": ["127.0.0.1"]}}
EOF2
srv_start_or_end "the server starts" "$DATA" --config "$TMP/cfg.json" --workers 2

SRV_TOKEN=$(srv_login admin password123)
BOB_ID=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" "$SRV_URL/api/v1/users" | jq '.users[] | select(.name == "bob") | .id')
AKEY=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" -H 'Content-Type: application/json' \
    -d '{"user_id": 1, "name": "judge0-admin"}' "$SRV_URL/api/v1/keys" | jq -r .key)
BKEY=$(curl -sS -H "Authorization: Bearer $SRV_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"user_id\": $BOB_ID, \"name\": \"judge0\"}" "$SRV_URL/api/v1/keys" | jq -r .key)
SRV_TOKEN=""
[ -n "$AKEY" ] && [ "$AKEY" != null ] && [ -n "$BKEY" ] && [ "$BKEY" != null ]
tap $? "API keys for an admin and for bob"

# j0 METHOD PATH [curl args]: a Judge0 call as bob (X-Auth-Token), unless J0_AUTH says otherwise.
J0_AUTH=(-H "X-Auth-Token: $BKEY")
J0_PREFIX=/judge0
j0() {
    local m=$1 p=$2
    shift 2
    api "$m" "$J0_PREFIX$p" ${J0_AUTH[@]+"${J0_AUTH[@]}"} "$@"
}
j0_json() {
    local m=$1 p=$2 b=$3
    shift 3
    j0 "$m" "$p" -H 'Content-Type: application/json' --data-binary "$b" "$@"
}
# sub CODE LANGUAGE_ID [JQ_UPDATE]: a submission as JSON.
sub() { jq -nc --arg s "$1" --argjson l "$2" "{source_code: \$s, language_id: \$l} | ${3:-.}"; }
# run_wait NAME STATUS_ID CODE LANGUAGE_ID [JQ_UPDATE] [JQ_CHECK]: POST ?wait=true&fields=*, check.
run_wait() {
    local name=$1 want=$2 code=$3 lang=$4 upd=${5:-.} check=${6:-true}
    j0_json POST "/submissions?wait=true&fields=*" "$(sub "$code" "$lang" "$upd")"
    api_check "$name" 201 ".status.id == $want and .status.description != null and ($check)"
}

# ---- information ----
j0 GET /statuses
api_check "GET /statuses: Judge0's 14" 200 \
    'length == 14 and .[0] == {id: 1, description: "In Queue"} and .[2].description == "Accepted"
     and .[10].description == "Runtime Error (NZEC)" and .[13].description == "Exec Format Error"'
j0 GET /languages
api_check "GET /languages: [{id, name}] with Judge0's ids and names" 200 \
    'any(.[]; .id == 71 and (.name | test("^Python \\([0-9]"))) and all(.[]; keys == ["id", "name"])'
j0 GET /languages/all
api_check "GET /languages/all has is_archived" 200 'all(.[]; .is_archived == false)'
j0 GET /languages/50
api_check "GET /languages/50: C with its commands" 200 \
    '.id == 50 and .source_file == "main.c" and (.compile_cmd | test("gcc")) and (.run_cmd | type == "string") and .is_archived == false'
j0 GET /languages/71
api_check "GET /languages/71: Python, no compile, Judge0's script.py" 200 '.compile_cmd == null and .source_file == "script.py"'
j0 GET /languages/9999
api_check "an unknown language is 404" 404 '.error | type == "string"'
j0 GET /config_info
api_check "GET /config_info: Judge0's defaults under runbox's maxima" 200 \
    '.cpu_time_limit == 5 and .max_cpu_time_limit == 10 and .wall_time_limit == 10
     and .max_wall_time_limit == 20 and .memory_limit == 128000 and .max_memory_limit == 524288
     and .max_submission_batch_size == 20 and .enable_wait_result == true and .number_of_runs == 1'
j0 GET /about
api_check "GET /about names runbox" 200 '(.version | type == "string") and (.maintainer | test("runbox")) and has("homepage") and has("source_code")'
j0 GET /system_info
api_check "GET /system_info" 200 '(."CPU(s)" | type == "number") and (.Architecture | type == "string")'
j0 GET /workers
api_check "GET /workers: queue, size, available, idle, working" 200 \
    '.[0] | .queue == "runbox" and .available == 2 and has("idle") and has("working") and has("size")'

# ---- authentication ----
J0_AUTH=()
j0 GET /statuses
api_check "no credentials is 401" 401
J0_AUTH=(-H "X-Auth-Token: rbk_not-a-key")
j0 GET /statuses
api_check "an unknown X-Auth-Token is 401" 401
J0_AUTH=(-H "Authorization: Bearer $BKEY")
j0 GET /statuses
api_check "runbox's own Authorization: Bearer works too" 200
J0_AUTH=(-H "X-Auth-Token: $BKEY")
j0 GET /submissions
api_check "GET /submissions (admin) without X-Auth-User is 403" 403
J0_AUTH=(-H "X-Auth-Token: $BKEY" -H "X-Auth-User: $BKEY")
j0 GET /submissions
api_check "GET /submissions with a non-admin X-Auth-User is 403" 403
J0_AUTH=(-H "X-Auth-Token: $BKEY")

# ---- submissions ----
j0_json POST /submissions "$(sub 'print("hello")' 71)"
api_check "POST /submissions: 201 with a UUID token" 201 \
    '(.token | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and (keys == ["token"])'
TOK=$(jq -r .token "$R")
for _ in $(seq 100); do
    j0 GET "/submissions/$TOK"
    [ "$(jq -r .status.id "$R")" = 3 ] && break
    sleep 0.1
done
api_check "GET /submissions/{token}: the default fields" 200 \
    '.stdout == "hello\n" and .status == {id: 3, description: "Accepted"} and .token == "'"$TOK"'"
     and (.time | test("^[0-9]+\\.[0-9]{3}$")) and (.memory | type == "number")
     and (keys | sort) == (["token","time","memory","stdout","stderr","compile_output","message","status"] | sort)'
j0 GET "/submissions/$TOK?fields=stdout,status_id,language_id"
api_check "fields= selects attributes" 200 'keys == ["language_id","status_id","stdout"] and .status_id == 3'
j0 GET "/submissions/$TOK?fields=stdout,nope"
api_check "an unknown field is 400" 400 '.error | test("invalid fields")'
j0 GET "/submissions/$TOK?base64_encoded=true"
api_check "base64_encoded=true encodes the output" 200 '.stdout == "aGVsbG8K"'
j0 GET /submissions/00000000-0000-4000-8000-000000000000
api_check "an unknown token is 404 with an error" 404 '.error | type == "string"'
J0_AUTH=(-H "X-Auth-Token: $AKEY")
j0 GET "/submissions/$TOK"
api_check "another user's token is 404 (an admin's key as X-Auth-Token only authenticates)" 404
J0_AUTH=(-H "X-Auth-Token: $AKEY" -H "X-Auth-User: $AKEY")
j0 GET "/submissions/$TOK"
api_check "an admin (X-Auth-User) sees bob's submission" 200 '.token == "'"$TOK"'"'
J0_AUTH=(-H "X-Auth-Token: $BKEY")

run_wait "wait=true answers the result, with every field for fields=*" 3 'print(input()[::-1])' 71 \
    '.stdin = "abc"' '.stdout == "cba\n" and .stdin == "abc" and .language_id == 71 and .exit_code == 0
     and .cpu_time_limit == "5.0" and .memory_limit == 128000 and (.wall_time | type == "string")
     and (.created_at | test("Z$")) and (.finished_at | test("Z$")) and .source_code != null'
SRC=$(printf 'import sys\nsys.stdout.write(sys.stdin.read().upper())' | base64 -w0)
j0_json POST "/submissions?wait=true&base64_encoded=true" \
    "{\"source_code\": \"$SRC\", \"language_id\": 71, \"stdin\": \"$(printf 'x\ny' | base64 -w0)\"}"
api_check "base64_encoded=true decodes the inputs and encodes the outputs" 201 \
    ".stdout == \"$(printf 'X\nY' | base64 -w0)\" and .status.id == 3"
j0_json POST "/submissions?wait=true" "$(sub 'import sys; sys.stdout.buffer.write(b"\xff\xfe ok")' 71)"
api_check "output that is not UTF-8 without base64 is Judge0's error, with the token" 201 \
    '(.error | test("base64_encoded=true")) and (.token | type == "string")'
j0_json POST "/submissions" "$(sub 'import sys; sys.stdout.buffer.write(b"\xff\xfe")' 71)"
TOKB=$(jq -r .token "$R")
for _ in $(seq 100); do
    j0 GET "/submissions/$TOKB?base64_encoded=true"
    [ "$(jq -r .status.id "$R")" = 3 ] && break
    sleep 0.1
done
api_check "the same output in base64" 200 '.stdout == "//4="'
j0 GET "/submissions/$TOKB"
api_check "GET of non-UTF-8 output without base64 is still the error (valid JSON)" 400 '.error | type == "string"'

# ---- expected output and statuses ----
run_wait "expected_output matched as Judge0 does (trailing spaces and lines): Accepted" 3 \
    'print("a  "); print("b"); print(); print()' 71 '.expected_output = "a\nb"'
run_wait "a different output is Wrong Answer" 4 'print("a")' 71 '.expected_output = "b"' '.stdout == "a\n"'
run_wait "a compile error is 6 with compile_output" 6 'int main( { return 0; }' 50 . \
    '(.compile_output | test("error")) and .stdout == null'
run_wait "a CPU loop past cpu_time_limit is 5" 5 'while True: pass' 71 '.cpu_time_limit = 1 | .cpu_extra_time = 0.5'
run_wait "SIGSEGV is 7" 7 '#include <signal.h>
int main(void) { raise(SIGSEGV); return 0; }' 50 . '.exit_signal == 11'
run_wait "a file over max_file_size is SIGXFSZ (8)" 8 '#include <stdio.h>
int main(void) { FILE *f = fopen("big.bin", "w"); for (int i = 0; i < 100000; i++) fputc(1, f); fclose(f); return 0; }' \
    50 '.max_file_size = 16' '.exit_signal == 25'
run_wait "SIGFPE is 9" 9 '#include <stdio.h>
int main(void) { volatile int a = 7, z = 0; printf("%d\n", a / z); return 0; }' 50 . '.exit_signal == 8'
run_wait "SIGABRT is 10" 10 '#include <stdlib.h>
int main(void) { abort(); }' 50 . '.exit_signal == 6'
run_wait "a non-zero exit is NZEC (11) with the exit code" 11 'import sys; sys.exit(3)' 71 . '.exit_code == 3'
run_wait "another signal is 12" 12 'import os; os.kill(os.getpid(), 10)' 71 . '.exit_signal == 10'
run_wait "the memory limit is 12 with a message" 12 'x = bytearray(400 * 1024 * 1024)' 71 \
    '.memory_limit = 65536' '.message | test("[Mm]emory limit")'
run_wait "stderr, and redirect_stderr_to_stdout" 3 \
    'import sys; print("out"); sys.stdout.flush(); print("err", file=sys.stderr)' 71 \
    '.redirect_stderr_to_stdout = true' '.stdout == "out\nerr\n" and .stderr == null'

# ---- number_of_runs, options, arguments, files ----
run_wait "number_of_runs runs it that many times" 3 'print(input())' 71 \
    '.number_of_runs = 3 | .stdin = "x" | .expected_output = "x"' '.number_of_runs == 3 and .stdout == "x\n"'
SRV_TOKEN=$BKEY api GET "/api/v1/code/history?limit=1"
HID=$(jq -r '.runs[0].id' "$R")
SRV_TOKEN=$BKEY api GET "/api/v1/code/history/$HID"
api_check "... as three cases of one runbox run in the history" 200 '.request.cases | length == 3'
run_wait "compiler_options reach the compiler (quotes split like a shell)" 3 '#include <stdio.h>
int main(void) { puts(GREETING); return N > 1 ? 0 : 1; }' 50 \
    '.compiler_options = "-DN=2 \"-DGREETING=\\\"hi there\\\"\""' '.stdout == "hi there\n"'
run_wait "command_line_arguments become argv" 3 'import sys; print(sys.argv[1:])' 71 \
    ".command_line_arguments = \"a 'b c'  d\"" '.stdout == "[\u0027a\u0027, \u0027b c\u0027, \u0027d\u0027]\n"'
j0_json POST "/submissions" "$(sub 'print(1)' 71 '.command_line_arguments = "a; rm -rf /"')"
api_check "a shell character in the arguments is refused (422)" 422 '.command_line_arguments | length == 1'
j0_json POST "/submissions" "$(sub 'print(1)' 71 '.compiler_options = "-O2"')"
api_check "compiler_options for an interpreted language is refused" 422 '.compiler_options | length == 1'
ZIP=$(python3 -c '
import base64, io, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("data.txt", "from the zip\n")
    z.writestr("sub/more.txt", "nested\n")
print(base64.b64encode(b.getvalue()).decode())')
run_wait "additional_files: a zip unpacked beside the source" 3 \
    'print(open("data.txt").read() + open("sub/more.txt").read(), end="")' 71 \
    ".additional_files = \"$ZIP\"" '.stdout == "from the zip\nnested\n"'
EVIL=$(python3 -c '
import base64, io, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, "w") as z:
    z.writestr("../evil.txt", "x")
print(base64.b64encode(b.getvalue()).decode())')
j0_json POST "/submissions" "$(sub 'print(1)' 71 ".additional_files = \"$EVIL\"")"
api_check "a zip entry outside the directory is refused (422)" 422 '.additional_files[0] | test("evil")'

# ---- limits and validation ----
j0_json POST "/submissions" "$(sub 'print(1)' 71 '.cpu_time_limit = 100 | .memory_limit = 100')"
api_check "limits over the maxima: 422 per field" 422 \
    '.cpu_time_limit == ["must be less than or equal to 10"] and .memory_limit == ["must be greater than or equal to 2048"]'
j0_json POST "/submissions" "$(sub 'print(1)' 71 '.wall_time_limit = 30 | .number_of_runs = 21')"
api_check "wall_time_limit and number_of_runs over their maxima" 422 \
    '.wall_time_limit == ["must be less than or equal to 20"] and .number_of_runs == ["must be less than or equal to 20"]'
j0_json POST "/submissions" '{"language_id": 9999}'
api_check "an unknown language and no source: 422" 422 '(.language_id[0] | test("9999")) and has("source_code")'

# ---- callbacks ----
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/cb.py" <<EOF2
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("$TMP/cb.json.tmp", "wb") as f:
            f.write(body)
        import os; os.rename("$TMP/cb.json.tmp", "$TMP/cb.json")
        with open("$TMP/cb.method", "w") as f:
            f.write(self.command)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", $PORT), H).serve_forever()
EOF2
python3 "$TMP/cb.py" &
srv_bg $!
sleep 0.3
j0_json POST "/submissions" "$(sub 'print("hi")' 71 ".callback_url = \"http://127.0.0.1:$PORT/done\"")"
CBT=$(jq -r .token "$R")
for _ in $(seq 150); do [ -f "$TMP/cb.json" ] && break; sleep 0.1; done
jq -e ".token == \"$CBT\" and .status.id == 3 and .stdout == \"aGkK\"" "$TMP/cb.json" >/dev/null 2>&1 &&
    [ "$(cat "$TMP/cb.method" 2>/dev/null)" = PUT ]
tap $? "callback_url gets a PUT of the submission (base64, default fields)" ||
    diag "$(cat "$TMP/cb.json" 2>/dev/null)"

# ---- batches ----
j0_json POST /submissions/batch "{\"submissions\": [$(sub 'print(1)' 71), $(sub 'print(2)' 71), {\"language_id\": 71}]}"
api_check "POST /submissions/batch: tokens and per-item errors" 201 \
    'length == 3 and (.[0].token | type == "string") and (.[1].token | type == "string") and (.[2].source_code | length == 1)'
T1=$(jq -r '.[0].token' "$R")
T2=$(jq -r '.[1].token' "$R")
for _ in $(seq 100); do
    j0 GET "/submissions/batch?tokens=$T1,$T2,00000000-0000-4000-8000-000000000000&fields=token,stdout,status_id"
    [ "$(jq -r '[.submissions[0:2][].status_id] | map(. == 3) | all' "$R")" = true ] && break
    sleep 0.1
done
api_check "GET /submissions/batch?tokens=: each, null for an unknown one" 200 \
    '.submissions[0].stdout == "1\n" and .submissions[1].stdout == "2\n" and .submissions[2] == null'
j0_json POST "/submissions/batch?wait=true" "{\"submissions\": [$(sub 'print(1)' 71)]}"
api_check "wait on a batch is ignored, as Judge0 does" 201 '.[0].token | type == "string"'
BIG=$(jq -nc --argjson s "$(sub 'print(1)' 71)" '{submissions: [range(21) | $s]}')
j0_json POST /submissions/batch "$BIG"
api_check "more than 20 in a batch is refused" 400 '.error | test("20")'

# ---- admin: list and delete ----
J0_AUTH=(-H "X-Auth-Token: $BKEY" -H "X-Auth-User: $AKEY")
j0 GET "/submissions?per_page=2&page=1"
api_check "GET /submissions with an admin's X-Auth-User: a page and meta" 200 \
    '(.submissions | length == 2) and .meta.current_page == 1 and .meta.next_page == 2 and .meta.prev_page == null and .meta.total_count > 20'
J0_AUTH=(-H "X-Auth-Token: $BKEY")
j0 DELETE "/submissions/$TOK"
api_check "DELETE without authorization is 403" 403
J0_AUTH=(-H "X-Auth-Token: $BKEY" -H "X-Auth-User: $AKEY")
j0 DELETE "/submissions/$TOK?fields=stdout,status"
api_check "DELETE answers the deleted submission in base64" 200 '.stdout == "aGVsbG8K" and .status.id == 3'
j0 GET "/submissions/$TOK"
api_check "a deleted submission is 404" 404
j0 GET /statistics
api_check "GET /statistics: totals by language and status" 200 \
    '.submissions.total > 10 and any(.languages[]; .language.id == 71) and any(.statuses[]; .status.id == 3)'

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server stops cleanly" || diag "exit status $SRV_RC; $(tail -5 "$TMP/srv.err")"

# ---- --judge0-root and an anonymous user ----
cat >"$TMP/cfg2.json" <<'EOF2'
{"server": {"judge0_anonymous_user": "bob"}}
EOF2
srv_start_or_end "a server with --judge0-root and an anonymous user starts" "$DATA" \
    --config "$TMP/cfg2.json" --judge0-root --workers 1
J0_AUTH=()
J0_PREFIX=""
j0 GET /languages
api_check "--judge0-root: GET /languages at /" 200 'any(.[]; .id == 71)'
j0_json POST "/submissions?wait=true" "$(sub 'print("anon")' 71)"
api_check "an anonymous client submits as the configured user" 201 '.stdout == "anon\n" and .status.id == 3'
j0 GET /submissions
api_check "... but is no admin" 403
J0_PREFIX=/judge0
j0 GET /statuses
api_check "/judge0/ still answers" 200 'length == 14'
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the second server stops cleanly" || diag "exit status $SRV_RC; $(tail -5 "$TMP/srv.err")"

done_testing
