#!/usr/bin/env bash
# The database's side of a cluster: how many runs per second one PostgreSQL can hand out to
# workers and take in from API nodes, measured with pgbench against a runs-like table.
#   (a) claim + finish: the claim statement of src/cluster/cluster.c (one queued run, the
#       oldest, FOR UPDATE SKIP LOCKED, so that claimers never wait on one another), then the
#       run marked done, fenced by node and attempt as cluster_finish() does; two transactions,
#       as on a worker;
#   (b) insert + NOTIFY: a queued run inserted with pg_notify('runbox_queue', id) in the same
#       statement, as store_run_insert() does with a payload, while a node LISTENs;
# each at 1, 4 and 16 clients, with the ratio to 1 client.
#
#   bench/pg_claim.sh [ROWS] [SECONDS]   ROWS queued runs before each claim measurement
#                                        (default 300000; more than the run can claim),
#                                        SECONDS per measurement (default 10)
#
# The PostgreSQL is a throwaway one this script starts (tests/lib.sh pg_start: Debian's
# postgresql as user postgres, fsync and synchronous_commit on, so every commit waits for the
# disk). pgbench uses the extended protocol, as libpq's PQexecParams() does. The real finish
# also stores the result and an event row, so (a) is an upper bound of the cluster's rate.
# Needs root (for pg_start). This is a benchmark: it asserts nothing. It exits 1 when a
# measurement fails (a client aborted, e.g. the queue ran dry: raise ROWS), 2 on a setup error.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${1:-300000}
SECS=${2:-10}
CLIENTS=(1 4 16)
source "$ROOT/tests/lib.sh" # pg_start / pg_stop, PG_BIN, $TMP (removed at exit)

PGBENCH=$PG_BIN/pgbench
[ -x "$PGBENCH" ] || { echo "bench: no pgbench in '$PG_BIN' (Debian's postgresql)" >&2; exit 2; }
PGDIR=$(mktemp -d /tmp/runbox-bench-pg.XXXXXX)
chmod 755 "$PGDIR"
LISTENER=""
finish() {
    [ -z "$LISTENER" ] || { kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null; }
    pg_stop "$PGDIR/pg"
    rm -rf "$PGDIR" "$TMP"
}
trap finish EXIT
trap 'exit 130' INT TERM

PG_URL=$(pg_start "$PGDIR/pg") || exit 2
pg_createdb "$PG_URL" claim || exit 2
DB=${PG_URL%/postgres}/claim
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "$1" >/dev/null; }

# The columns the claim touches, as migration 3 of src/store/store.c has them, and its index of
# queued runs; lease_until as a timestamp.
sql "CREATE TABLE runs (id bigserial PRIMARY KEY, state text NOT NULL, node text,
        attempts int NOT NULL DEFAULT 0, lease_until timestamptz, payload text);
     CREATE INDEX runs_queued ON runs(id) WHERE state = 'queued'" || exit 2
# A job of about half a kilobyte, as a small program's.
PAYLOAD="'{\"language\":\"python\",\"code\":\"' || repeat('x', 480) || '\"}'"

cat >"$TMP/claim.sql" <<'SQL'
UPDATE runs SET state = 'running', node = 'node-' || :client_id, attempts = attempts + 1,
    lease_until = clock_timestamp() + interval '30 seconds'
  WHERE id IN (SELECT id FROM runs WHERE state = 'queued' AND payload IS NOT NULL
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id AS run, attempts AS attempt, payload \gset
UPDATE runs SET state = 'done', payload = NULL, lease_until = NULL
  WHERE id = :run AND node = 'node-' || :client_id AND attempts = :attempt AND state = 'running';
SQL
cat >"$TMP/insert.sql" <<SQL
INSERT INTO runs (state, payload) VALUES ('queued', $PAYLOAD)
  RETURNING id, pg_notify('runbox_queue', CAST(id AS TEXT));
SQL

# fill N: the table with N queued runs and nothing else, vacuumed, as a fresh start.
fill() {
    sql "TRUNCATE runs RESTART IDENTITY" &&
        sql "INSERT INTO runs (state, payload) SELECT 'queued', $PAYLOAD FROM generate_series(1, $1)" &&
        sql "VACUUM ANALYZE runs"
}

# measure NAME SCRIPT CLIENTS: pgbench for SECS seconds; prints a row, keeps the rate in RATE.
declare -A RATE
measure() {
    local name=$1 script=$2 c=$3 out tps lat
    out=$("$PGBENCH" -n -M extended -T "$SECS" -c "$c" -j "$(( c < $(nproc) ? c : $(nproc) ))" \
        -f "$script" "$DB" 2>&1)
    if [ $? != 0 ] || grep -q "aborted" <<<"$out"; then
        echo "bench: $name with $c clients failed:" >&2
        echo "$out" | tail -15 >&2
        exit 1
    fi
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
    RATE[$name/$c]=$tps
    printf "%-16s %7s %10.0f %9.2fx %12s\n" "$name" "$c" "$tps" \
        "$(awk -v a="$tps" -v b="${RATE[$name/1]}" 'BEGIN { print a / b }')" "$lat"
}

echo "PostgreSQL claim rate: $(psql -X -At -d "$DB" -c 'SHOW server_version'), $(nproc) cores," \
    "$SECS s per measurement, $ROWS queued runs before each claim measurement"
printf "%-16s %7s %10s %10s %12s\n" "" clients "per s" "vs 1" "latency ms"
for c in "${CLIENTS[@]}"; do
    fill "$ROWS" || exit 2
    measure "claim + finish" "$TMP/claim.sql" "$c"
done
# A node that LISTENs, as every cluster node does (it takes its notifications only at the end).
psql -X -q -d "$DB" -c "LISTEN runbox_queue" -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
LISTENER=$!
for c in "${CLIENTS[@]}"; do
    fill 0 || exit 2
    measure "insert + NOTIFY" "$TMP/insert.sql" "$c"
done
