#!/usr/bin/env bash
# `runbox user` and `runbox key` on a cluster's PostgreSQL (--db URL, $RUNBOX_DB): accounts and
# keys made by the CLI land in the database that `runbox serve --db` reads, --data still means
# SQLite, and a server that cannot be reached is a clear error that never shows the URL's
# password. The PostgreSQL is a throwaway one this script starts (tests/lib.sh pg_start).
source "$(dirname "$0")/../lib.sh"
need_tools 31-users-pg psql jq curl

PGDIR=$(mktemp -d /tmp/runbox-pg.XXXXXX)
chmod 755 "$PGDIR"
users_cleanup() {
    srv_cleanup
    pg_stop "$PGDIR/pg"
    rm -rf "$PGDIR"
}
trap users_cleanup EXIT

# Every command of this script names its database: nothing may land in the default data dir.
export RUNBOX_DATA=$TMP/default-data
unset RUNBOX_DB

# ucli OUT ARGS...: runbox ARGS, stdout into OUT, stderr into OUT.err, exit status into UC_RC.
ucli() {
    local out=$1; shift
    "$RUNBOX" "$@" >"$out" 2>"$out.err"
    UC_RC=$?
}

# The URL's password, which no message may show.
SECRET=hunter2-secret
ucli "$TMP/o" user list --db "postgresql://runbox:$SECRET@127.0.0.1:1/runbox"
[ "$UC_RC" = 1 ] && grep -q "cannot open the database" "$TMP/o.err" &&
    grep -q "unavailable" "$TMP/o.err" && grep -q 'runbox:\*\*\*@127.0.0.1:1' "$TMP/o.err" &&
    ! grep -q "$SECRET" "$TMP/o.err" "$TMP/o"
tap $? "user list --db with nothing listening: exit 1, says the database is unavailable, password masked" ||
    diag "rc=$UC_RC $(cat "$TMP/o.err")"
ucli "$TMP/o" key list --db "postgres://runbox@127.0.0.1:1/runbox?password=$SECRET"
[ "$UC_RC" = 1 ] && grep -q 'password=\*\*\*' "$TMP/o.err" && ! grep -q "$SECRET" "$TMP/o.err"
tap $? "key list --db with the password as a parameter: masked too" || diag "$(cat "$TMP/o.err")"
ucli "$TMP/o" user list --db mysql://x/y
[ "$UC_RC" = 2 ] && grep -q "postgres" "$TMP/o.err"
tap $? "user list --db mysql://...: a usage error naming the schemes" || diag "$(cat "$TMP/o.err")"
RUNBOX_DB="postgresql://runbox:$SECRET@127.0.0.1:1/runbox" ucli "$TMP/o" user list
[ "$UC_RC" = 1 ] && grep -q "unavailable" "$TMP/o.err" && ! grep -q "$SECRET" "$TMP/o.err"
tap $? "\$RUNBOX_DB is the default database" || diag "$(cat "$TMP/o.err")"

if ! PG_URL=$(pg_start "$PGDIR/pg" 2>"$TMP/pg.err"); then
    tap 1 "PostgreSQL starts"
    diag "$(cat "$TMP/pg.err")"
    done_testing
    exit
fi
tap 0 "PostgreSQL starts"
pg_createdb "$PG_URL" users
DB=${PG_URL%/postgres}/users
sql() { psql -X -At -d "$DB" -c "$1" 2>/dev/null; }

ucli "$TMP/o" user add admin --admin --password-stdin --db "$DB" <<<'password123'
[ "$UC_RC" = 0 ] && grep -q "added admin user 'admin'" "$TMP/o"
tap $? "user add --admin --db: the first open migrates the new database" ||
    diag "rc=$UC_RC $(cat "$TMP/o" "$TMP/o.err")"
RUNBOX_DB=$DB ucli "$TMP/o" user add bob --password-stdin <<<'bobpassword1'
tap $? "user add with \$RUNBOX_DB" || diag "$(cat "$TMP/o.err")"
ucli "$TMP/o" user add bob --password-stdin --db "$DB" <<<'bobpassword1'
[ "$UC_RC" = 1 ] && grep -q "exists already" "$TMP/o.err"
tap $? "user add of an existing name: refused" || diag "rc=$UC_RC $(cat "$TMP/o.err")"
[ "$(sql "SELECT string_agg(name || ':' || admin, ',' ORDER BY id) FROM users")" = "admin:1,bob:0" ]
tap $? "the users are rows of the PostgreSQL database" || diag "$(sql "SELECT * FROM users")"

ucli "$TMP/o" key add bob --name ci --db "$DB"
KEY=$(cat "$TMP/o")
[ "$UC_RC" = 0 ] && [[ $KEY == rbk_* ]] && grep -q "shown only this once" "$TMP/o.err"
tap $? "key add --db prints the key once" || diag "rc=$UC_RC $(cat "$TMP/o" "$TMP/o.err")"
ucli "$TMP/o" user list --json --db "$DB"
jq -e '[.[] | [.name, .admin]] == [["admin", true], ["bob", false]]' "$TMP/o" >/dev/null
tap $? "user list --json --db" || diag "$(cat "$TMP/o" "$TMP/o.err")"
ucli "$TMP/o" key list --db "$DB" --json
jq -e 'length == 1 and .[0].user == "bob" and .[0].name == "ci" and .[0].revoked_at == null' \
    "$TMP/o" >/dev/null
tap $? "key list --json --db" || diag "$(cat "$TMP/o" "$TMP/o.err")"
ucli "$TMP/o" key list --db "$DB"
grep -q "^1 *bob *ci " "$TMP/o"
tap $? "key list --db as a table" || diag "$(cat "$TMP/o" "$TMP/o.err")"

# --data means SQLite even when $RUNBOX_DB is set: a flag beats the environment.
RUNBOX_DB=$DB ucli "$TMP/o" user list --json --data "$TMP/lite"
[ "$UC_RC" = 0 ] && [ "$(jq length "$TMP/o")" = 0 ] && [ -f "$TMP/lite/runbox.db" ]
tap $? "--data beats \$RUNBOX_DB" || diag "$(cat "$TMP/o" "$TMP/o.err")"
[ ! -e "$RUNBOX_DATA" ]
tap $? "nothing went to the default data dir"

# A server on the same database sees what the CLI made: the login and the key work.
echo '{"server": {"rate_limit_per_s": 0}}' >"$TMP/config.json"
srv_start_or_end "serve --db --role api starts on the database" "$TMP/srv" --db "$DB" --role api \
    --config "$TMP/config.json"
SRV_TOKEN=$(srv_login admin password123)
[ -n "$SRV_TOKEN" ]
tap $? "the admin made by the CLI logs in to the server"
SRV_TOKEN=$KEY
api GET /api/v1/auth/me
api_check "bob's key made by the CLI authenticates" 200 '.name == "bob" and .admin == false'
srv_stop
SRV_TOKEN=""

ucli "$TMP/o" key revoke 1 --db "$DB"
[ "$UC_RC" = 0 ] && [ "$(sql "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = 1")" = t ]
tap $? "key revoke --db" || diag "$(cat "$TMP/o" "$TMP/o.err")"
ucli "$TMP/o" user passwd bob --password-stdin --db "$DB" <<<'newpassword1'
tap $? "user passwd --db" || diag "$(cat "$TMP/o.err")"
ucli "$TMP/o" user del bob --db "$DB"
[ "$UC_RC" = 0 ] && [ "$(sql "SELECT count(*) FROM users")" = 1 ] &&
    [ "$(sql "SELECT count(*) FROM api_keys")" = 0 ]
tap $? "user del --db takes the user's keys with them" || diag "$(cat "$TMP/o" "$TMP/o.err")"

# The server goes away: a clear error, not a crash.
pg_ctl_as "$PGDIR/pg" -w -t 30 stop -m fast >/dev/null 2>&1
ucli "$TMP/o" user list --db "$DB"
[ "$UC_RC" = 1 ] && grep -q "cannot open the database" "$TMP/o.err" &&
    grep -q "unavailable" "$TMP/o.err"
tap $? "user list --db after the server stopped: exit 1, says the database is unavailable" ||
    diag "rc=$UC_RC $(cat "$TMP/o.err")"

! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP"/*.err "$TMP/srv.err"
tap $? "no sanitizer report" || diag "$(grep -E -h -A20 'Sanitizer|runtime error' "$TMP"/*.err | head -40)"

done_testing
