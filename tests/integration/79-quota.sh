#!/usr/bin/env bash
# Storage quotas (issue 17, item 7), on a real server with SQLite: what one run stores is capped
# ("stored_output_kb") while its client gets the whole output; a user past "user_quota_mb" loses
# their oldest runs, never a run of another user; the usage shows in GET /auth/me, in the admin's
# GET /users and in `runbox users`; a user's own quota (`runbox user quota`) wins over the
# default; and past "retention_mb" the oldest runs of every user go.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve" curl jq python3

DATA=$TMP/data
MIB=1048576
for u in admin alice bob; do
    flag=()
    [ "$u" = admin ] && flag=(--admin)
    "$RUNBOX" user add "$u" ${flag[@]+"${flag[@]}"} --password-stdin --data "$DATA" \
        <<<'password123' >/dev/null 2>"$TMP/e" || diag "$(cat "$TMP/e")"
done
"$RUNBOX" user quota bob 5 --data "$DATA" >"$TMP/o" 2>&1
tap $? "runbox user quota gives bob a quota of his own" || diag "$(cat "$TMP/o")"

# 1 MB per user, 256 KiB stored per run; programs may print up to 2 MB.
cat >"$TMP/cfg.json" <<'EOF'
{"server": {"user_quota_mb": 1, "stored_output_kb": 256, "retention_mb": 0},
 "limits": {"output_kb": 2048}}
EOF
srv_start_or_end "the server starts with a 1 MB quota" "$DATA" --config "$TMP/cfg.json" --workers 2
ALICE=$(srv_login alice password123)
BOB=$(srv_login bob password123)
ADMIN=$(srv_login admin password123)

# big N: a python program printing N bytes.
big() { jq -nc --arg c "import sys; sys.stdout.write('x' * $1)" '{code: $c, language: "python"}'; }

# usage TOKEN: the caller's usage from GET /auth/me into $R.
usage() { SRV_TOKEN=$1 api GET /api/v1/auth/me; }

# ---- the cap on one run's stored result ----
SRV_TOKEN=$BOB api_json POST /api/v1/code/execute '{"code": "print(42)", "language": "python"}'
api_check "bob runs a small program" 200 '.status == "success" and .output == "42\n"'
BOB_RUN=$(jq -r .id "$R")

SRV_TOKEN=$ALICE api_json POST /api/v1/code/execute "$(big 600000)"
api_check "the client gets the whole 600 KB output, not the stored cut" 200 \
    '.status == "success" and (.output | length) == 600000 and (has("stored_truncated") | not)'
FIRST=$(jq -r .id "$R")
SRV_TOKEN=$ALICE api GET "/api/v1/code/history/$FIRST"
api_check "the stored result is cut to the 256 KiB cap and says so" 200 \
    '.result.stored_truncated == true and .result.status == "success" and .result.exit_code == 0
     and (.result.output | length) > 100000 and (.result.output | length) <= 262144
     and (.result.output | test("^x+$"))'
SRV_TOKEN=$BOB api GET "/api/v1/code/history/$BOB_RUN"
api_check "a small result is stored whole, unmarked" 200 \
    '.result.output == "42\n" and (.result | has("stored_truncated") | not)'

# ---- the per-user quota: the oldest runs go ----
IDS=("$FIRST")
ok=0
for _ in 1 2 3 4 5 6; do
    SRV_TOKEN=$ALICE api_json POST /api/v1/code/execute "$(big 600000)"
    [ "$CODE" = 200 ] && [ "$(jq -r .status "$R")" = success ] || ok=1
    IDS+=("$(jq -r .id "$R")")
done
tap $ok "alice runs six more programs of 600 KB output (every one answered whole)" || diag "$(head -c 500 "$R")"

# The eviction follows the answer: wait for it (at most 10 s).
for _ in $(seq 100); do
    usage "$ALICE"
    [ "$(jq -r '.usage.stored_bytes <= .usage.quota_bytes' "$R")" = true ] && break
    sleep 0.1
done
api_check "GET /auth/me: alice's usage is within her 1 MB quota" 200 \
    ".usage.quota_bytes == $MIB and .usage.stored_bytes > 0 and .usage.stored_bytes <= $MIB
     and .usage.runs >= 3 and .usage.runs < 7"
KEPT=$(jq -r .usage.runs "$R")

SRV_TOKEN=$ALICE api GET "/api/v1/code/history/$FIRST"
api_check "alice's oldest run was evicted" 404
SRV_TOKEN=$ALICE api GET "/api/v1/code/history/${IDS[6]}"
api_check "alice's newest run is kept" 200 '.result.status == "success"'
SRV_TOKEN=$ALICE api GET "/api/v1/code/history?limit=50"
api_check "alice's history holds her newest runs, newest first" 200 \
    "(.runs | length) == $KEPT and .runs[0].id == ${IDS[6]}"
SRV_TOKEN=$BOB api GET "/api/v1/code/history/$BOB_RUN"
api_check "bob's run is untouched" 200 '.result.output == "42\n"'
usage "$BOB"
api_check "GET /auth/me: bob's own 5 MB quota and his one run" 200 \
    ".usage.quota_bytes == 5 * $MIB and .usage.runs == 1 and .usage.stored_bytes > 0
     and .usage.stored_bytes < 4096"

SRV_TOKEN=$ADMIN api GET /api/v1/users
api_check "GET /users (admin): each user's runs, stored bytes and quota" 200 \
    "(.users[] | select(.name == \"alice\") | .runs == $KEPT and .stored_bytes <= $MIB
       and .quota_bytes == $MIB and .quota_mb == null)
     and (.users[] | select(.name == \"bob\") | .runs == 1 and .quota_mb == 5
       and .quota_bytes == 5 * $MIB)"
SRV_TOKEN=$ALICE api GET /api/v1/users
api_check "GET /users is for admins only" 403

# ---- the CLI ----
"$RUNBOX" --config "$TMP/cfg.json" users --data "$DATA" >"$TMP/users" 2>&1
grep -Eq "^[0-9]+ +alice +no +$KEPT +[0-9.]+ (KiB|MiB) +1\.0 MiB " "$TMP/users"
tap $? "runbox users: alice's runs, stored size and the 1 MiB default quota" || diag "$(cat "$TMP/users")"
grep -Eq "^[0-9]+ +bob +no +1 +[0-9]+ B +5\.0 MiB \(own\)" "$TMP/users"
tap $? "runbox users: bob's run and his own 5 MiB quota" || diag "$(cat "$TMP/users")"
"$RUNBOX" --config "$TMP/cfg.json" users --json --data "$DATA" >"$TMP/users.json" 2>&1
jq -e "(.[] | select(.name == \"alice\") | .runs == $KEPT and .quota_bytes == $MIB
        and .stored_bytes <= $MIB)" "$TMP/users.json" >/dev/null
tap $? "runbox users --json has the same usage" || diag "$(cat "$TMP/users.json")"
grep -q "quota: user [0-9]* stores .* evicted [0-9]* oldest runs" "$TMP/srv.err"
tap $? "the server logs the eviction" || diag "$(tail -5 "$TMP/srv.err")"

srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (exit $SRV_RC)"

# ---- retention by size: every user's oldest runs go ----
cat >"$TMP/cfg2.json" <<'EOF'
{"server": {"user_quota_mb": 0, "stored_output_kb": 256, "retention_mb": 1},
 "limits": {"output_kb": 2048}}
EOF
srv_start_or_end "the server restarts with a 1 MB retention size and no user quota" "$DATA" \
    --config "$TMP/cfg2.json" --workers 2
BOB=$(srv_login bob password123)
ADMIN=$(srv_login admin password123)
BOB_IDS=()
for _ in 1 2 3 4 5 6; do
    SRV_TOKEN=$BOB api_json POST /api/v1/code/execute "$(big 600000)"
    BOB_IDS+=("$(jq -r .id "$R")")
done
total=0
for _ in $(seq 100); do
    SRV_TOKEN=$ADMIN api GET /api/v1/users
    # -1 when the server does not say.
    total=$(jq '[.users[].stored_bytes] | if all(type == "number") then add else -1 end' "$R")
    [ "$total" -ge 0 ] && [ "$total" -le $((MIB + MIB / 10 + 262144)) ] && break
    sleep 0.1
done
[ "$total" -ge 0 ] && [ "$total" -le $((MIB + MIB / 10 + 262144)) ]
tap $? "every run stored fits the retention size, give or take one run ($total bytes)"
SRV_TOKEN=$BOB api GET "/api/v1/code/history/$BOB_RUN"
api_check "bob's oldest run went" 404
SRV_TOKEN=$ADMIN api GET "/api/v1/code/history/${IDS[6]}"
api_check "alice's runs, older than bob's new ones, went too" 404
SRV_TOKEN=$BOB api GET "/api/v1/code/history/${BOB_IDS[5]}"
api_check "bob's newest run is kept" 200 '.result.status == "success"'
grep -q "retention: pruned [0-9]* oldest runs" "$TMP/srv.err"
tap $? "the server logs the pruning" || diag "$(tail -5 "$TMP/srv.err")"

srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (exit $SRV_RC)"
done_testing
