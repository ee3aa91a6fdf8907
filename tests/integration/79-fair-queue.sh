#!/usr/bin/env bash
# Fair sharing (issue 17): users are served in turn, so one user's backlog delays another
# user's first run by one run at most. With two workers, alice queues four 3 s runs; bob's
# print(1), sent once both workers are busy with hers, must finish within 4 s and before her
# third and fourth runs (FIFO ran it after them: about 6 s). Then the per-user caps:
# max_running_per_user keeps a worker free for others, max_queued_per_user answers 429 with
# Retry-After to that user only.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve" curl jq python3

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin before the server runs" || diag "$(cat "$TMP/e")"

# body CODE [JQ_UPDATE]: a python execute request as JSON.
body() { jq -nc --arg c "$1" "{code: \$c, language: \"python\"} | ${2:-.}"; }
slow=$(body 'import time; time.sleep(3)' '.limits = {wall_time: 20}')
now_ms() { echo $(($(date +%s%N) / 1000000)); }

srv_start_or_end "the server starts with two workers" "$DATA" --workers 2
SRV_TOKEN=$(srv_login admin password123)
for u in alice bob; do
    api_json POST /api/v1/users "{\"username\": \"$u\", \"password\": \"${u}password1\"}"
    api_check "the admin makes user $u" 201
done
ALICE=$(srv_login alice alicepassword1)
BOB=$(srv_login bob bobpassword1)
[ -n "$ALICE" ] && [ -n "$BOB" ]
tap $? "alice and bob log in"

# ---- round robin: bob's first run goes before alice's backlog ----
SRV_TOKEN=$ALICE
A=()
for i in 1 2 3 4; do
    api_json POST "/api/v1/code/execute?wait=false" "$slow"
    [ "$CODE" = 202 ] && A+=("$(jq -r .id "$R")")
done
[ "${#A[@]}" = 4 ]
tap $? "alice queues four 3 s runs (twice the workers)" || diag "HTTP $CODE: $(cat "$R")"
srv_wait_state "${A[0]}" running 30 && srv_wait_state "${A[1]}" running 30
tap $? "alice's first two runs take both workers" || diag "$(cat "$R")"

SRV_TOKEN=$BOB
t0=$(now_ms)
api_json POST /api/v1/code/execute "$(body 'print(1)')"
t1=$(now_ms)
api_check "bob's print(1) succeeds" 200 '.status == "success" and .output == "1\n"'
B=$(jq -r .id "$R")
[ $((t1 - t0)) -lt 4000 ]
tap $? "bob's print(1) finishes within 4 s of its request" || diag "it took $((t1 - t0)) ms"
diag "bob's print(1) took $((t1 - t0)) ms"

# The history has each run's started_at and finished_at (unix ms).
SRV_TOKEN=$ALICE
for i in 0 1 2 3; do
    srv_wait_state "${A[$i]}" "done" 60
    api GET "/api/v1/code/history/${A[$i]}"
    cp "$R" "$TMP/a$i.json"
done
SRV_TOKEN=$BOB
api GET "/api/v1/code/history/$B"
cp "$R" "$TMP/b.json"
# at FILE NAME: a field of a saved run (times in unix ms).
at() { jq -r ".$2 // 0" "$TMP/$1.json"; }
b_start=$(at b started_at) b_end=$(at b finished_at)
ok=0
for i in 2 3; do
    [ "$(at "a$i" status)" = success ] && [ "$b_end" -gt 0 ] &&
        [ "$b_end" -le "$(at "a$i" finished_at)" ] || ok=1
done
tap $ok "bob's run finished before alice's third and fourth" ||
    diag "bob $b_start..$b_end; alice: $(for i in 0 1 2 3; do printf '%s..%s ' "$(at "a$i" started_at)" "$(at "a$i" finished_at)"; done)"
[ "$b_start" -gt 0 ] && [ "$b_start" -le "$(at a3 started_at)" ]
tap $? "bob's run started before alice's fourth" || diag "bob started $b_start, alice's fourth $(at a3 started_at)"
srv_stop TERM
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM: the server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"

# ---- the per-user caps ----
cat >"$TMP/caps.json" <<'EOF'
{"server": {"max_running_per_user": 1, "max_queued_per_user": 1}}
EOF
srv_start_or_end "the server starts with max_running_per_user 1, max_queued_per_user 1" \
    "$DATA" --workers 2 --config "$TMP/caps.json"
long=$(body 'import time; time.sleep(20)' '.limits = {wall_time: 30}')
SRV_TOKEN=$ALICE
api_json POST "/api/v1/code/execute?wait=false" "$long"
C1=$(jq -r .id "$R")
srv_wait_state "$C1" running 30
tap $? "alice's first run starts" || diag "$(cat "$R")"
api_json POST "/api/v1/code/execute?wait=false" "$long"
api_check "her second is accepted" 202 '.state == "queued"'
C2=$(jq -r .id "$R")
api_json POST "/api/v1/code/execute?wait=false" "$long"
api_check "a third, past max_queued_per_user, is 429 with a message for her" 429 \
    '.error | test("the most one user may queue")'
ra=$(srv_header retry-after)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ]
tap $? "the per-user 429 has a Retry-After" || diag "Retry-After '$ra'"
sleep 1
api GET "/api/v1/code/runs/$C2"
api_check "at max_running_per_user her second run waits while a worker is free" 200 '.state == "queued"'
api GET /healthz
api_check "/healthz: one worker busy, one run queued" 200 '.busy == 1 and .queued == 1'
SRV_TOKEN=$BOB
t0=$(now_ms)
api_json POST /api/v1/code/execute "$(body 'print(2)')"
t1=$(now_ms)
api_check "bob is not refused: his run takes the free worker" 200 '.status == "success" and .output == "2\n"'
[ $((t1 - t0)) -lt 4000 ]
tap $? "... at once (within 4 s)" || diag "it took $((t1 - t0)) ms"
SRV_TOKEN=$ALICE
api DELETE "/api/v1/code/runs/$C2"
api DELETE "/api/v1/code/runs/$C1"
srv_wait_state "$C1" "done" 30
api_check "alice's running run is cancelled" 200 '.status == "cancelled"'
srv_stop TERM
[ "$SRV_RC" = 0 ]
tap $? "SIGTERM: the capped server exits 0" || diag "exit status $SRV_RC: $(cat "$TMP/srv.err")"

done_testing
