#!/usr/bin/env bash
# Accounts (issue 17, item 6): login sessions (list, revoke one by id, log out, log out
# everywhere), a password change through the API and the CLI revokes every login token, users
# revoke their own API keys (not others'), and the login backoff: per account (from any
# address) and per client address (spraying accounts), answered 429 with Retry-After, with the
# right password refused while backed off. Each phase comes from its own loopback address
# (127.0.0.x), so the per-address counts of one phase do not reach the next.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve" curl jq

DATA=$TMP/data
PW=password123
for u in admin alice bob carol dave erin frank gina hank ivan judy; do
    flag=()
    [ "$u" = admin ] && flag=(--admin)
    "$RUNBOX" user add "$u" ${flag[@]+"${flag[@]}"} --password-stdin --data "$DATA" \
        <<<"$PW" >/dev/null 2>"$TMP/e" || { tap 1 "user add $u"; diag "$(cat "$TMP/e")"; }
done

# A backoff long enough to see, thresholds small enough to reach.
cat >"$TMP/cfg.json" <<'EOF'
{"server": {"login_max_failures": 5, "login_max_failures_per_address": 12,
            "login_backoff_s": 60, "login_backoff_max_s": 900, "login_window_s": 900}}
EOF
srv_start_or_end "the server starts" "$DATA" --config "$TMP/cfg.json" --workers 1

# login FROM USER PASSWORD: POST /auth/token from address FROM; the body in $R, status in $CODE.
login() {
    SRV_TOKEN="" api POST /api/v1/auth/token --interface "$1" -d "username=$2" \
        --data-urlencode "password=$3"
}
# as TOKEN METHOD PATH [curl args...]: one call with TOKEN.
as() {
    local t=$1; shift
    SRV_TOKEN=$t api "$@"
}
token_of() { # FROM USER PASSWORD: a fresh token (empty when refused)
    login "$@"
    jq -r '.access_token // empty' "$R" 2>/dev/null
}

# ---- sessions: list, revoke by id, logout ----
A1=$(token_of 127.0.0.1 alice $PW)
A2=$(token_of 127.0.0.1 alice $PW)
B1=$(token_of 127.0.0.1 bob $PW)
as "$A1" GET /api/v1/auth/tokens
api_check "GET /auth/tokens lists the user's two sessions, one of them current, no secret" 200 \
    '(.tokens | length == 2) and ([.tokens[] | select(.current)] | length == 1)
     and all(.tokens[]; (.id | type == "number") and (.created_at | type == "number")
                        and (.expires_at > .created_at) and has("last_used_at"))
     and (tostring | test("rbt_") | not)'
A2_ID=$(jq -r '.tokens[] | select(.current | not) | .id' "$R")
A1_ID=$(jq -r '.tokens[] | select(.current) | .id' "$R")
as "$B1" GET /api/v1/auth/tokens
B1_ID=$(jq -r '.tokens[0].id' "$R")
as "$A1" DELETE "/api/v1/auth/tokens/$B1_ID"
api_check "another user's token cannot be revoked (404)" 404
as "$B1" GET /api/v1/auth/me
api_check "... and it still works" 200
as "$A1" DELETE "/api/v1/auth/tokens/$A2_ID"
[ "$CODE" = 204 ]
tap $? "DELETE /auth/tokens/{id} revokes that session (204)" || diag "got $CODE: $(cat "$R")"
as "$A2" GET /api/v1/auth/me
api_check "the revoked token is 401" 401
as "$A1" GET /api/v1/auth/me
api_check "the other session still works" 200 '.name == "alice"'
as "$A1" POST /api/v1/auth/logout
[ "$CODE" = 204 ]
tap $? "POST /auth/logout: 204" || diag "got $CODE: $(cat "$R")"
as "$A1" GET /api/v1/auth/me
api_check "the token used to log out is 401 after" 401
as "$B1" GET /api/v1/auth/tokens
api_check "... and another user's session is untouched" 200 '.tokens | length == 1'
[ -n "$A1_ID" ] && [ "$A1_ID" != "$A2_ID" ]
tap $? "session ids are distinct"

# ---- password change through the API ----
A3=$(token_of 127.0.0.1 alice $PW)
A4=$(token_of 127.0.0.1 alice $PW)
as "$A3" PUT /api/v1/auth/password -H 'Content-Type: application/json' \
    --data-binary '{"current_password": "not-the-password", "new_password": "newpassword1"}'
api_check "a password change with a wrong current password is 403" 403
as "$A3" PUT /api/v1/auth/password -H 'Content-Type: application/json' \
    --data-binary "{\"current_password\": \"$PW\", \"new_password\": \"newpassword1\"}"
api_check "PUT /auth/password: 200 with a fresh token" 200 \
    '(.access_token | startswith("rbt_")) and .revoked_keys == 0'
A5=$(jq -r .access_token "$R")
as "$A3" GET /api/v1/auth/me
api_check "the token used for the change is revoked (401)" 401
as "$A4" GET /api/v1/auth/me
api_check "every other token of the user is revoked (401)" 401
as "$A5" GET /api/v1/auth/me
api_check "the fresh token works" 200 '.name == "alice"'
login 127.0.0.1 alice newpassword1
api_check "the new password logs in" 200

# ---- password change with the CLI, while the server runs ----
B2=$(token_of 127.0.0.1 bob $PW)
"$RUNBOX" user passwd bob --password-stdin --data "$DATA" <<<'bobsnewpassword' >"$TMP/o" 2>&1
tap $? "runbox user passwd" || diag "$(cat "$TMP/o")"
as "$B1" GET /api/v1/auth/me
api_check "runbox user passwd revokes the user's tokens (401)" 401
as "$B2" GET /api/v1/auth/me
api_check "... all of them" 401

# ---- API keys: a user lists and revokes their own, an admin anyone's ----
ADMIN=$(token_of 127.0.0.1 admin $PW)
as "$ADMIN" POST /api/v1/keys -H 'Content-Type: application/json' \
    --data-binary '{"name": "ci", "user_id": 2}' # alice
KA=$(jq -r .key "$R"); KA_ID=$(jq -r .id "$R")
as "$ADMIN" POST /api/v1/keys -H 'Content-Type: application/json' \
    --data-binary '{"name": "bobs", "user_id": 3}' # bob
KB=$(jq -r .key "$R"); KB_ID=$(jq -r .id "$R")
as "$A5" GET /api/v1/keys
api_check "a user lists their own keys only" 200 '(.keys | length == 1) and .keys[0].name == "ci"'
as "$A5" DELETE "/api/v1/keys/$KB_ID"
api_check "a user cannot revoke another user's key (404)" 404
as "$KB" GET /api/v1/auth/me
api_check "... which still works" 200 '.name == "bob"'
as "$KA" POST /api/v1/auth/logout
api_check "logout with an API key is 400 (keys are revoked by id)" 400
as "$A5" DELETE "/api/v1/keys/$KA_ID"
[ "$CODE" = 204 ]
tap $? "a user revokes their own key (204)" || diag "got $CODE: $(cat "$R")"
as "$KA" GET /api/v1/auth/me
api_check "the revoked key is 401" 401
as "$ADMIN" DELETE "/api/v1/keys/$KB_ID"
[ "$CODE" = 204 ]
tap $? "an admin revokes anyone's key (204)" || diag "got $CODE: $(cat "$R")"

# ---- log out everywhere ----
A6=$(token_of 127.0.0.1 alice newpassword1)
as "$A5" DELETE /api/v1/auth/tokens
api_check "DELETE /auth/tokens revokes every session of the user (A5, A6, the new password's)" 200 '.revoked == 3'
as "$A6" GET /api/v1/auth/me
api_check "... the other one included (401)" 401

# ---- backoff per account: carol, from 127.0.0.2 ----
ok=0
for i in 1 2 3 4 5; do
    login 127.0.0.2 carol "wrong-password-$i"
    [ "$CODE" = 401 ] || ok=1
done
tap $ok "5 wrong passwords of one account: 401 each"
login 127.0.0.2 carol wrong-password-6
RETRY=$(srv_header Retry-After)
api_check "the 6th attempt is 429" 429 '.error | test("failed logins")'
[[ "$RETRY" =~ ^[0-9]+$ ]] && [ "$RETRY" -ge 1 ] && [ "$RETRY" -le 60 ]
tap $? "... with Retry-After in seconds (1..60)" || diag "Retry-After: '$RETRY'"
login 127.0.0.2 carol $PW
api_check "the right password is refused while the account is backed off" 429
login 127.0.0.6 carol $PW
api_check "... from another address too (the account's backoff)" 429
login 127.0.0.2 dave $PW
api_check "another account logs in from that address" 200

# ---- a successful login resets the account's count: erin, from 127.0.0.5 ----
ok=0
for i in 1 2 3 4; do login 127.0.0.5 erin "nope-$i"; [ "$CODE" = 401 ] || ok=1; done
login 127.0.0.5 erin $PW
[ "$CODE" = 200 ] || ok=1
for i in 1 2 3 4; do login 127.0.0.5 erin "nope-again-$i"; [ "$CODE" = 401 ] || ok=1; done
tap $ok "a successful login resets the account's count (4 wrong, right, 4 wrong: no 429)"

# ---- backoff per address: spraying accounts from 127.0.0.3 ----
ok=0
n=0
for u in frank gina hank ivan judy dave; do
    for i in 1 2; do
        login 127.0.0.3 "$u" "spray-$i"
        [ "$CODE" = 401 ] || ok=1
        n=$((n + 1))
    done
done
tap $ok "12 wrong passwords over 6 accounts from one address: 401 each ($n)"
login 127.0.0.3 frank $PW
RETRY=$(srv_header Retry-After)
api_check "then that address is backed off: the right password of an account is 429" 429
[[ "$RETRY" =~ ^[0-9]+$ ]] && [ "$RETRY" -ge 1 ]
tap $? "... with Retry-After" || diag "Retry-After: '$RETRY'"
login 127.0.0.3 nobody-at-all whatever-password
api_check "... and so is an unknown name" 429
login 127.0.0.4 frank $PW
api_check "the same account logs in from another address (200)" 200

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server exits 0 on SIGTERM" || diag "exit status $SRV_RC: $(tail -5 "$TMP/srv.err")"
done_testing
