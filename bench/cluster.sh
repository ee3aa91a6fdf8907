#!/usr/bin/env bash
# Cluster throughput: the same load (N bash runs, each `echo tok-i`, submitted asynchronously
# by 16 client threads, then followed to their end) through
#   - one node on SQLite (`runbox serve`, the default),
#   - one node of role all on PostgreSQL,
#   - one API node + 1, 2 and 3 worker processes (`--role worker`) on PostgreSQL,
# measured in one run on this machine, with the ratio of each to one worker. The database is a
# throwaway PostgreSQL this script starts (Debian's postgresql, as user postgres).
#
#   bench/cluster.sh [RUNS] [SLOTS]   RUNS per setup (default 1000); SLOTS per worker
#                                     (default: the number of cores)
#
# On a machine with few cores, the worker processes share the same cores: what more of them
# buy here is overlap (claims, result writes and sandbox starts interleaved), not compute;
# across machines each adds its cores. The figure that bounds a cluster is the database's
# claim rate: bench/pg_claim.sh measures it. This is a benchmark: it asserts nothing.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNBOX=${RUNBOX_BUILD:-$ROOT/build}/runbox
RUNS=${1:-1000}
SLOTS=${2:-$(nproc)}
LOAD=$ROOT/tests/tools/cluster-load.py
source "$ROOT/tests/lib.sh" # pg_start / pg_stop, $TMP (removed at exit)

PGDIR=$(mktemp -d /tmp/runbox-bench-pg.XXXXXX)
chmod 755 "$PGDIR"
PIDS=()
stop_nodes() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null; done
    for p in ${PIDS[@]+"${PIDS[@]}"}; do wait "$p" 2>/dev/null; done
    PIDS=()
}
finish() {
    stop_nodes
    pg_stop "$PGDIR/pg"
    rm -rf "$PGDIR" "$TMP"
}
trap finish EXIT
trap 'exit 130' INT TERM

PG_URL=$(pg_start "$PGDIR/pg") || exit 2
echo '{"server": {"rate_limit_per_s": 0, "max_concurrent_runs": 0}}' >"$TMP/config.json"

# node NAME ARGS...: start a node; its URL in $URL. (Not in a command substitution: the
# subshell's PIDS would be lost, and its node never stopped.)
node() {
    local name=$1; shift
    URL=""
    "$RUNBOX" serve --listen 127.0.0.1:0 --data "$TMP/$name" --config "$TMP/config.json" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    PIDS+=($!)
    for _ in $(seq 300); do
        URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/$name.out")
        [ -n "$URL" ] && curl -sf -o /dev/null "$URL/healthz" && break
        URL=""
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "bench: $name did not start: $(cat "$TMP/$name.err")" >&2; exit 1; }
}

# measure LABEL URL: run the load and print one row.
declare -A RATE
measure() {
    local label=$1 url=$2 out
    # A warm-up: the first runs of a node pay for its sandboxes' templates.
    python3 "$LOAD" --url "$url" --runs 50 --concurrency 8 >/dev/null
    out=$(python3 "$LOAD" --url "$url" --runs "$RUNS" --concurrency 16)
    RATE[$label]=$(jq -r .runs_per_s <<<"$out")
    printf "%-34s %6s runs  %7.2f s  %8s runs/s  %s  retries %s\n" "$label" \
        "$(jq -r .done <<<"$out")" "$(jq -r .total_s <<<"$out")" "${RATE[$label]}" \
        "$(jq -c .statuses <<<"$out")" "$(jq -c .retries <<<"$out")"
}

db=0
newdb() { # a fresh database for each setup, in $DB
    db=$((db + 1))
    pg_createdb "$PG_URL" "bench$db"
    DB=${PG_URL%/postgres}/bench$db
}

echo "runbox cluster throughput: $RUNS runs per setup, $SLOTS slots per worker, $(nproc) cores"
# Its own queue as deep as the run count: without it, a single node answers 429 (queue full)
# beyond 64 waiting runs and the clients' back-off is what gets measured.
node sqlite --no-auth --workers "$SLOTS" --queue "$RUNS"
measure "1 node, SQLite (all)" "$URL"
stop_nodes
newdb
node pg-all --no-auth --workers "$SLOTS" --queue "$RUNS" --db "$DB"
measure "1 node, PostgreSQL (all)" "$URL"
stop_nodes
for k in 1 2 3; do
    newdb
    node api --no-auth --role api --db "$DB"
    api=$URL
    for w in $(seq "$k"); do node "w$w" --role worker --workers "$SLOTS" --db "$DB"; done
    measure "API + $k worker process(es)" "$api"
    stop_nodes
done
base=${RATE["API + 1 worker process(es)"]}
echo
echo "ratios to API + 1 worker:"
for label in "1 node, SQLite (all)" "1 node, PostgreSQL (all)" "API + 1 worker process(es)" \
    "API + 2 worker process(es)" "API + 3 worker process(es)"; do
    printf "  %-34s %5.2fx\n" "$label" "$(python3 -c "print(${RATE[$label]} / $base)")"
done
