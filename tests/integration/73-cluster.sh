#!/usr/bin/env bash
# A cluster on one machine: two API nodes and three worker nodes (`runbox serve --db ...
# --role api|worker`) sharing one real PostgreSQL that this script starts (Debian's
# postgresql). 1,000 runs go in through one API node; in the middle one worker is killed with
# SIGKILL and PostgreSQL is restarted. Every run must end exactly once with its own output; the
# killed worker's runs are re-queued after their lease and finished by the others. Also: the
# node list and metrics, a worker serves no API, SSE through the other API node, cancel across
# nodes, 503 while the database is down, and a run lost more than max-attempts times.
source "$(dirname "$0")/../lib.sh"
need_tools 73-cluster psql jq python3 curl

LOAD=$ROOT/tests/tools/cluster-load.py
PGDIR=$(mktemp -d /tmp/runbox-pg.XXXXXX)
chmod 755 "$PGDIR"
declare -A NODE_PID NODE_URL

cluster_cleanup() {
    local n
    for n in "${!NODE_PID[@]}"; do kill -TERM "${NODE_PID[$n]}" 2>/dev/null; done
    for n in "${!NODE_PID[@]}"; do
        for _ in $(seq 150); do kill -0 "${NODE_PID[$n]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${NODE_PID[$n]}" 2>/dev/null
        wait "${NODE_PID[$n]}" 2>/dev/null
    done
    pg_stop "$PGDIR/pg"
    rm -rf "$PGDIR"
    srv_cleanup
}
trap cluster_cleanup EXIT

# Settings that cannot work are refused before anything starts.
"$RUNBOX" serve --role worker --data "$TMP/x" >"$TMP/o" 2>&1
tap $([ $? = 2 ] && grep -q "needs the shared database" "$TMP/o"; echo $?) \
    "serve --role worker without --db: refused, saying why" || diag "$(cat "$TMP/o")"
"$RUNBOX" serve --role boss --db postgresql://x/y --data "$TMP/x" >"$TMP/o" 2>&1
tap $([ $? = 2 ] && grep -q "not all, api or worker" "$TMP/o"; echo $?) "serve --role boss: refused"
"$RUNBOX" serve --db mysql://x/y --data "$TMP/x" >"$TMP/o" 2>&1
tap $([ $? = 2 ] && grep -q "postgres" "$TMP/o"; echo $?) "serve --db mysql://...: refused"
"$RUNBOX" serve --db postgresql://x/y --node-name 'a:b' --data "$TMP/x" >"$TMP/o" 2>&1
tap $([ $? = 2 ] && grep -q "node name" "$TMP/o"; echo $?) "serve --node-name with a colon: refused"
"$RUNBOX" serve --db postgresql://nobody@127.0.0.1:1/none --data "$TMP/x" --listen 127.0.0.1:0 \
    >"$TMP/o" 2>&1
tap $([ $? = 1 ] && grep -qi "database" "$TMP/o" && ! grep -q "serving on" "$TMP/o"; echo $?) \
    "serve --db with no database there: a clear error, no service" || diag "$(cat "$TMP/o")"

if ! PG_URL=$(pg_start "$PGDIR/pg"); then
    tap 1 "PostgreSQL starts"
    done_testing
    exit
fi
tap 0 "PostgreSQL starts"
pg_createdb "$PG_URL" cluster
DB=${PG_URL%/postgres}/cluster
sql() { psql -X -At -d "$DB" -c "$1" 2>/dev/null; }

# No rate limits: one client submits everything.
echo '{"server": {"rate_limit_per_s": 0, "max_concurrent_runs": 0}}' >"$TMP/config.json"

# node_start NAME ROLE [serve args...]: start a node; its URL in NODE_URL[NAME].
node_start() {
    local name=$1 role=$2 url=""; shift 2
    "$RUNBOX" serve --listen 127.0.0.1:0 --data "$TMP/$name" --db "$DB" --role "$role" \
        --node-name "$name" --config "$TMP/config.json" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    NODE_PID[$name]=$!
    for _ in $(seq 300); do
        url=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/$name.out")
        [ -n "$url" ] && curl -sf -o /dev/null "$url/healthz" && break
        url=""
        kill -0 "${NODE_PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    NODE_URL[$name]=$url
    [ -n "$url" ] || { diag "$name did not start: $(cat "$TMP/$name.out" "$TMP/$name.err")"; return 1; }
}

# A short lease so that a dead worker's runs come back within seconds, yet long enough that
# the PostgreSQL restart below (a second or two, more on a loaded machine) ends before a
# worker that cannot renew fences itself (at 2/3 of the lease): the restart must cost no run an
# attempt, a worker's death must cost its runs one.
LEASE=(--lease-seconds 8 --max-attempts 5)
ok=0
node_start api1 api --no-auth "${LEASE[@]}" || ok=1
node_start api2 api --no-auth "${LEASE[@]}" || ok=1
for w in w1 w2 w3; do node_start "$w" worker --workers 2 "${LEASE[@]}" || ok=1; done
tap $ok "two API nodes and three workers start on one database"
[ $ok = 0 ] || { done_testing; exit; }

SRV_URL=${NODE_URL[api1]}
api GET /api/v1/workers
api_check "GET /api/v1/workers lists the five nodes, alive, with their roles and slots" 200 \
    '([.nodes[] | select(.alive)] | length) == 5 and
     ([.nodes[] | select(.role == "worker") | .slots] == [2, 2, 2]) and
     ([.nodes[] | select(.role == "api") | .slots] == [0, 0])'
api GET /metrics
grep -q '^runbox_cluster_nodes 5$' "$R" && grep -q '^runbox_cluster_db_up 1$' "$R" &&
    grep -q '^runbox_cluster_node_slots{node="w1:' "$R"
tap $? "/metrics has the cluster's nodes, queue and database gauges" ||
    diag "$(grep cluster "$R")"
api GET /healthz
api_check "/healthz says the role and that the store is PostgreSQL" 200 \
    '.role == "api" and .store == "postgresql" and .workers == 0'

SRV_URL=${NODE_URL[w1]}
api_json POST /api/v1/code/execute '{"language":"bash","code":"echo hi"}'
api_check "a worker node serves no API (404, says where the API is)" 404 '.error | test("worker")'
api GET /healthz
api_check "a worker node serves /healthz" 200 '.role == "worker" and .workers == 2'

# One run through the queue, answered synchronously by the API node.
SRV_URL=${NODE_URL[api1]}
api_json POST /api/v1/code/execute '{"language":"python","code":"print(6*7)"}'
api_check "a synchronous run on an API node is executed by a worker" 200 \
    '.status == "success" and .output == "42\n"'
RUN=$(jq -r .id "$R")
sql "SELECT node FROM runs WHERE id = $RUN" | grep -Eq '^w[123]:'
tap $? "the run's row names the worker that ran it"

# Streaming through the other API node: submitted on api1, followed on api2.
api_json POST '/api/v1/code/execute?wait=false' \
    '{"language":"bash","code":"echo first; sleep 1; echo second"}'
RUN=$(jq -r .id "$R")
curl -sN --max-time 30 "${NODE_URL[api2]}/api/v1/code/runs/$RUN/events" >"$TMP/sse.txt"
grep -q '^event: stdout' "$TMP/sse.txt" && grep -q 'first' "$TMP/sse.txt" &&
    grep -q 'second' "$TMP/sse.txt" && grep -q '^event: result' "$TMP/sse.txt" &&
    grep -q '^event: done' "$TMP/sse.txt" &&
    [ "$(grep -n '^event: stdout' "$TMP/sse.txt" | head -1 | cut -d: -f1)" -lt \
        "$(grep -n '^event: result' "$TMP/sse.txt" | cut -d: -f1)" ]
tap $? "SSE on another API node streams the output before the result" || diag "$(cat "$TMP/sse.txt")"

# Cancel across nodes: submitted on api1, cancelled on api2 while a worker runs it.
api_json POST '/api/v1/code/execute?wait=false' '{"language":"bash","code":"sleep 30"}'
RUN=$(jq -r .id "$R")
srv_wait_state "$RUN" running 20
SRV_URL=${NODE_URL[api2]}
api DELETE "/api/v1/code/runs/$RUN"
api_check "DELETE on another API node cancels a run running on a worker" 202
srv_wait_state "$RUN" done 15
api_check "the cancelled run ends cancelled, long before its 30 s" 200 '.result.status == "cancelled"'
SRV_URL=${NODE_URL[api1]}

# A follower whose run's result event is gone (pruned while it could not read) takes the result
# from the run itself: here the row is ended by hand, with no result event, while api2 streams.
api_json POST '/api/v1/code/execute?wait=false' '{"language":"bash","code":"sleep 20"}'
RUN=$(jq -r .id "$R")
srv_wait_state "$RUN" running 20
curl -sN --max-time 30 "${NODE_URL[api2]}/api/v1/code/runs/$RUN/events" >"$TMP/sse2.txt" &
sse_pid=$!
sleep 1
sql "UPDATE runs SET state = 'done', status = 'success', payload = NULL, lease_until = NULL,
     finished_at = (extract(epoch from now()) * 1000)::bigint,
     result = '{\"id\": $RUN, \"state\": \"done\", \"status\": \"success\", \"output\": \"from-the-row\"}'
     WHERE id = $RUN" >/dev/null
wait "$sse_pid"
grep -q '^event: result' "$TMP/sse2.txt" && grep -q 'from-the-row' "$TMP/sse2.txt" &&
    grep -q '^event: done' "$TMP/sse2.txt"
tap $? "a follower whose result event is gone ends with the run's stored result" ||
    diag "$(cat "$TMP/sse2.txt")"

# An interactive run (WebSocket) runs on the node that holds the connection: a node of role
# all, leased like a claimed run; an API node has no sandbox for it and says so.
cat >"$TMP/ws.py" <<'PY'
import asyncio, json, sys
import websockets
async def main(url, out):
    msgs = []
    async with websockets.connect(url, open_timeout=10) as ws:
        async for raw in ws:
            m = json.loads(raw)
            msgs.append(m)
            if m.get("type") == "ready":
                await ws.send(json.dumps({"type": "run", "language": "bash",
                                          "code": "read x; echo got $x"}))
            elif m.get("type") == "queued":
                await ws.send(json.dumps({"type": "stdin", "data": "ping\n"}))
            elif m.get("type") in ("result", "error"):
                break
    json.dump(msgs, open(out, "w"))
asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 60))
PY
if /usr/bin/python3 -c 'import websockets' 2>/dev/null && node_start all1 all --no-auth --workers 1 "${LEASE[@]}"; then
    timeout 90 /usr/bin/python3 "$TMP/ws.py" "ws://${NODE_URL[all1]#http://}/api/v1/code/interactive" \
        "$TMP/ws1.json" 2>"$TMP/ws1.err"
    jq -e '[.[] | select(.type == "result")][0] | .status == "success" and .output == "got ping\n"' \
        "$TMP/ws1.json" >/dev/null
    tap $? "WebSocket on a node of role all: an interactive run in the cluster" ||
        diag "$(cat "$TMP/ws1.json" "$TMP/ws1.err")"
    RUN=$(jq -r '[.[] | select(.type == "queued")][0].id' "$TMP/ws1.json")
    [ "$(sql "SELECT split_part(node, ':', 1) || ' ' || attempts || ' ' || state FROM runs WHERE id = $RUN")" = "all1 1 done" ]
    tap $? "... recorded in the shared database, held by that node"
    timeout 90 /usr/bin/python3 "$TMP/ws.py" "ws://${NODE_URL[api1]#http://}/api/v1/code/interactive" \
        "$TMP/ws2.json" 2>"$TMP/ws2.err"
    jq -e '[.[] | select(.type == "error")][0].error | test("--role all")' "$TMP/ws2.json" >/dev/null
    tap $? "WebSocket on an API node: refused, saying which node can" ||
        diag "$(cat "$TMP/ws2.json" "$TMP/ws2.err")"
    kill -TERM "${NODE_PID[all1]}"
    wait "${NODE_PID[all1]}" 2>/dev/null
    unset "NODE_PID[all1]"
else
    skip "WebSocket in the cluster" "python3-websockets missing, or the node did not start"
fi

# The load: 1,000 runs; a worker killed with SIGKILL and PostgreSQL restarted in the middle.
python3 "$LOAD" --url "${NODE_URL[api1]}" --runs 1000 --concurrency 16 --sleep 0.1 \
    --timeout 400 >"$TMP/load.json" 2>"$TMP/load.err" &
LOAD_PID=$!
done_count() { sql "SELECT count(*) FROM runs WHERE state = 'done' AND in_history = 0"; }
victim="" in_flight=""
for _ in $(seq 600); do
    n=$(done_count)
    if [ -z "$victim" ] && [ "${n:-0}" -ge 150 ]; then
        # The worker holding the most runs right now.
        victim=$(sql "SELECT split_part(node, ':', 1) FROM runs WHERE state = 'running'
                      AND node LIKE 'w%' GROUP BY node ORDER BY count(*) DESC LIMIT 1")
        if [ -n "$victim" ]; then
            killed_ms=$(date +%s%3N)
            kill -KILL "${NODE_PID[$victim]}"
            wait "${NODE_PID[$victim]}" 2>/dev/null
            unset "NODE_PID[$victim]"
            # A claim the worker sent just before it died still commits in the database (the
            # server runs a statement it received whoever waits for the answer): what it held
            # is read once such a statement has had time to end.
            sleep 1
            # What it held when it died (nothing of it changes any more until the lease ends).
            in_flight=$(sql "SELECT string_agg(id::text, ',') FROM runs WHERE state = 'running'
                             AND node LIKE '$victim:%'")
        fi
    fi
    if [ -n "$victim" ] && [ "${n:-0}" -ge 500 ]; then
        pg_ctl_as "$PGDIR/pg" -w -t 60 restart -m fast >/dev/null 2>&1
        pg_restarted=$?
        break
    fi
    sleep 0.1
done
tap $([ -n "$victim" ] && [ -n "$in_flight" ]; echo $?) \
    "a worker was killed (SIGKILL) while it held runs ($victim: ${in_flight:-none})"
tap "${pg_restarted:-1}" "PostgreSQL was restarted in the middle of the load"
wait "$LOAD_PID"
jq -e '.submitted == 1000 and .done == 1000' "$TMP/load.json" >/dev/null
tap $? "all 1,000 runs were accepted and finished" ||
    diag "$(jq -c 'del(.ids)' "$TMP/load.json"; tail -5 "$TMP/load.err")"
jq -e '.statuses == {"success": 1000} and .wrong == []' "$TMP/load.json" >/dev/null
tap $? "every run succeeded with its own output" || diag "$(jq -c 'del(.ids)' "$TMP/load.json")"
diag "load: $(jq -c 'del(.ids)' "$TMP/load.json")"
ids=$(jq -r '[.ids[]] | map(tostring) | join(",")' "$TMP/load.json")
[ "$(sql "SELECT count(*) FROM runs WHERE id IN ($ids) AND state = 'done'
          AND status = 'success' AND payload IS NULL")" = 1000 ]
tap $? "the database has the 1,000 runs done, their payloads (tests) gone"
dups=$(sql "SELECT count(*) FROM (SELECT run_id FROM run_events WHERE type = 'result'
            AND run_id IN ($ids) GROUP BY run_id HAVING count(*) <> 1) d")
tap $([ "$dups" = 0 ]; echo $?) "each run has exactly one result (none finished twice)" ||
    diag "$dups runs with more or less than one result"
if [ -n "$in_flight" ]; then
    again=$(sql "SELECT count(*) FROM runs WHERE id IN ($in_flight) AND attempts >= 2
                 AND status = 'success' AND node NOT LIKE '$victim:%'")
    n_in=$(tr ',' '\n' <<<"$in_flight" | wc -l)
    tap $([ "$again" = "$n_in" ]; echo $?) \
        "the killed worker's $n_in runs were re-queued and finished by the others" ||
        diag "$again of $n_in; $(sql "SELECT id, state, status, attempts, node FROM runs WHERE id IN ($in_flight)")"
    # A re-queued run starts again only after its lease ended: never two boxes at once. The
    # worker renewed its leases (8 s) at most lease/6 before it was killed, so none ends before
    # 6 s after the kill. (Measured from the kill, not from the run's first event: a run claimed
    # just before the kill may have had no event written yet.)
    early=$(sql "SELECT count(*) FROM run_events e WHERE e.run_id IN ($in_flight)
                 AND e.type = 'state' AND e.data LIKE '%requeued%' AND e.at < $killed_ms + 6000")
    tap $([ "$early" = 0 ]; echo $?) "a lost run was re-queued only after its lease ran out" ||
        diag "$(sql "SELECT run_id, at - $killed_ms FROM run_events WHERE run_id IN ($in_flight)
                     AND type = 'state' AND data LIKE '%requeued%'")"
else
    tap 1 "the killed worker's runs were re-queued and finished by the others"
    tap 1 "a lost run was re-queued only after its lease ran out"
fi
[ "$(sql "SELECT count(*) FROM runs WHERE id IN ($ids) AND attempts > 1")" -le "$(tr ',' '\n' <<<"${in_flight:-x}" | wc -l)" ]
tap $? "only the killed worker's runs needed a second attempt (the restart cost none)" ||
    diag "in flight: $in_flight; more attempts: $(sql "SELECT id, attempts, node FROM runs
          WHERE id IN ($ids) AND attempts > 1")"

# The cluster after the restart: nodes renew, the API answers, a new run works.
sleep 2
api GET /api/v1/workers
api_check "after the restart the node list shows the killed worker gone, four alive" 200 \
    "([.nodes[] | select(.alive)] | length) == 4 and
     ([.nodes[] | select(.id | startswith(\"$victim:\")) | .alive] == [false])"
api_json POST /api/v1/code/execute '{"language":"bash","code":"echo after"}'
api_check "a run after the restart works" 200 '.status == "success" and .output == "after\n"'

# Events of runs finished long ago are pruned (5 minutes after the result; the stored result
# holds everything): one of the load's runs is made old, the others keep theirs.
old_run=$(tr ',' '\n' <<<"$ids" | head -1)
young_run=$(tr ',' '\n' <<<"$ids" | tail -1)
sql "UPDATE runs SET finished_at = finished_at - 600000 WHERE id = $old_run" >/dev/null
for _ in $(seq 30); do
    [ "$(sql "SELECT count(*) FROM run_events WHERE run_id = $old_run")" = 0 ] && break
    sleep 1
done
[ "$(sql "SELECT count(*) FROM run_events WHERE run_id = $old_run")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM run_events WHERE run_id = $young_run")" -gt 0 ] &&
    [ "$(sql "SELECT status FROM runs WHERE id = $old_run")" = success ]
tap $? "the events of a run finished over 5 minutes ago are pruned, a recent run keeps its own" ||
    diag "old $old_run: $(sql "SELECT count(*) FROM run_events WHERE run_id = $old_run"), young $young_run: $(sql "SELECT count(*) FROM run_events WHERE run_id = $young_run")"

# PostgreSQL down: the API answers 503 with Retry-After; nothing is lost; then it comes back.
pg_ctl_as "$PGDIR/pg" -w -t 60 stop -m fast >/dev/null 2>&1
api GET /api/v1/code/history
api_check "with the database down, the history answers 503" 503
[ -n "$(srv_header Retry-After)" ]
tap $? "... with Retry-After"
api_json POST '/api/v1/code/execute?wait=false' '{"language":"bash","code":"echo x"}'
api_check "with the database down, a run is refused with 503 (not lost: never accepted)" 503
api GET /healthz
api_check "/healthz still answers (the process is alive)" 200
api GET /metrics
grep -q '^runbox_cluster_db_up 0$' "$R"
tap $? "/metrics says the database is down"
pg_ctl_as "$PGDIR/pg" -w -t 60 start >/dev/null 2>&1
for _ in $(seq 100); do api GET /api/v1/code/history; [ "$CODE" = 200 ] && break; sleep 0.1; done
api_check "the database back, the same API node answers again without a restart" 200
api_json POST /api/v1/code/execute '{"language":"bash","code":"echo back"}'
api_check "... and runs work again" 200 '.output == "back\n"'

# A run whose worker keeps dying ends internal_error after max-attempts (here 1).
for n in "${!NODE_PID[@]}"; do kill -TERM "${NODE_PID[$n]}"; done
for n in "${!NODE_PID[@]}"; do wait "${NODE_PID[$n]}" 2>/dev/null; done
NODE_PID=()
node_start api3 api --no-auth --lease-seconds 2 --max-attempts 1 &&
    node_start w4 worker --workers 1 --lease-seconds 2 --max-attempts 1
tap $? "a cluster with --max-attempts 1 starts"
SRV_URL=${NODE_URL[api3]}
api_json POST '/api/v1/code/execute?wait=false' '{"language":"bash","code":"sleep 30"}'
RUN=$(jq -r .id "$R")
srv_wait_state "$RUN" running 20
kill -KILL "${NODE_PID[w4]}"
wait "${NODE_PID[w4]}" 2>/dev/null
unset "NODE_PID[w4]"
srv_wait_state "$RUN" done 20
api_check "a run lost max-attempts times ends internal_error, saying why" 200 \
    '.result.status == "internal_error" and (.result.message | test("lost 1 times"))'

# Every node stopped cleanly, without a sanitizer report.
for n in "${!NODE_PID[@]}"; do kill -TERM "${NODE_PID[$n]}"; done
rc=0
for n in "${!NODE_PID[@]}"; do wait "${NODE_PID[$n]}" || rc=1; done
NODE_PID=()
tap $rc "the remaining nodes stop on SIGTERM with status 0"
! grep -El 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP"/*.err
tap $? "no sanitizer report from any node" || diag "$(grep -El 'Sanitizer|runtime error' "$TMP"/*.err)"
done_testing
