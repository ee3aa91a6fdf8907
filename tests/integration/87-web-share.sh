#!/usr/bin/env bash
# runbox serve: share links. PUT /api/v1/code/history/{id}/share {"shared": true|false} by the
# run's owner or an admin answers an unguessable "share_id"; GET /api/v1/code/shared/{share_id}
# then works for any logged-in user (not for nobody), without the callback URL, and
# /api/v1/code/history/{id} stays the owner's; an unshared run, a run kept out of the history and
# an unknown id are the same 404 for another user; the history and the run say "shared"; the
# flag survives a restart (the store's migration).
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: share links" curl jq

DATA=$TMP/data
for u in alice bob; do
    "$RUNBOX" user add $u --password-stdin --data "$DATA" <<<"password-$u" >/dev/null 2>"$TMP/e"
    tap $? "user add $u" || diag "$(cat "$TMP/e")"
done
"$RUNBOX" user add root --admin --password-stdin --data "$DATA" <<<'password-root' >/dev/null 2>"$TMP/e"
tap $? "user add root (admin)" || diag "$(cat "$TMP/e")"
srv_start_or_end "the server starts" "$DATA" --workers 1 --web "$TMP/no-page"
ALICE=$(srv_login alice password-alice)
BOB=$(srv_login bob password-bob)
ROOT=$(srv_login root password-root)
[ -n "$ALICE" ] && [ -n "$BOB" ] && [ -n "$ROOT" ]
tap $? "alice, bob and root log in"

# as TOKEN METHOD PATH [BODY]: a call as one user (an empty TOKEN: nobody).
as() {
    local t=$1 m=$2 p=$3 b=${4:-}
    SRV_TOKEN=$t
    if [ -n "$b" ]; then api_json "$m" "$p" "$b"; else api "$m" "$p"; fi
}

as "$ALICE" POST /api/v1/code/execute \
    '{"language": "python", "code": "print(\"shared hello\")", "callback_url": "http://127.0.0.1:9/hook?secret=s3cr3t"}'
api_check "alice runs something" 200 '.status == "success"'
RUN=$(jq -r .id "$R")
as "$ALICE" POST /api/v1/code/execute '{"language": "python", "code": "print(2)"}'
OTHER=$(jq -r .id "$R")
as "$ALICE" POST /api/v1/code/execute '{"language": "python", "code": "print(3)", "save_history": false}'
HIDDEN=$(jq -r .id "$R")

as "$ALICE" GET "/api/v1/code/history/$RUN"
api_check "a run is not shared at first" 200 '.shared == false'
as "$BOB" GET "/api/v1/code/history/$RUN"
api_check "bob cannot read alice's unshared run (404)" 404 '.field == "id"'
NOT_SHARED=$(jq -c . "$R")
as "$BOB" GET "/api/v1/code/history/999999"
api_check "an unknown id is 404 for bob too" 404
[ "$(jq -c . "$R" | sed 's/999999/ID/')" = "$(sed "s/$RUN/ID/" <<<"$NOT_SHARED")" ]
tap $? "with the same answer: an unshared run's existence is not revealed"

as "$BOB" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
api_check "bob cannot share alice's run (404)" 404 '.field == "id"'
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": "yes"}'
api_check "shared must be a boolean (400)" 400 '.field == "shared"'
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{}'
api_check "shared is required (400)" 400 '.field == "shared"'
as "" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
api_check "sharing needs a login (401)" 401
as "$ALICE" PUT "/api/v1/code/history/$HIDDEN/share" '{"shared": true}'
api_check "a run kept out of the history cannot be shared (404)" 404
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
api_check "alice shares her run" 200 ".id == $RUN and .shared == true and (.share_id | length) >= 22"
SID=$(jq -r .share_id "$R")

as "$BOB" GET "/api/v1/code/history/$RUN"
api_check "bob cannot read it by its run id (only by its share id)" 404
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "bob reads the shared run: code, request, result" 200 \
    ".id == $RUN and .shared == true and (.code | test(\"shared hello\"))
     and .result.output == \"shared hello\\n\" and .request.language == \"python\""
api_check "without alice's callback URL" 200 'has("callback_url") | not'
grep -q s3cr3t "$R"
tap $((!$?)) "nothing of the callback URL in bob's answer"
as "$ALICE" GET "/api/v1/code/history/$RUN"
api_check "alice still sees her callback URL" 200 '.callback_url | test("s3cr3t")'
as "" GET "/api/v1/code/shared/$SID"
api_check "a shared run still needs a login (401)" 401
as "$BOB" GET "/api/v1/code/history/$OTHER"
api_check "alice's other runs stay hidden from bob" 404
as "$BOB" GET "/api/v1/code/history"
api_check "a shared run is not in bob's history" 200 "[.runs[].id] | index($RUN) == null"
as "$BOB" DELETE "/api/v1/code/history/$RUN"
api_check "bob cannot delete the shared run" 404
as "$BOB" GET "/api/v1/code/runs/$RUN"
api_check "nor read it as a run (only the history is shared)" 404
as "$ALICE" GET "/api/v1/code/history"
api_check "alice's history says which run is shared" 200 \
    "(.runs[] | select(.id == $RUN) | .shared == true) and (.runs[] | select(.id == $OTHER) | .shared == false)"

# The flag survives a restart.
srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)"
if ! srv_start "$DATA" --workers 1 --web "$TMP/no-page"; then
    tap 1 "the server starts again"
    done_testing
    exit
fi
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "after a restart the run is still shared" 200 '.shared == true'
api GET /healthz
api_check "the schema has share ids' migration (version 5 or later)" 200 '.schema_version >= 5'

as "$ROOT" PUT "/api/v1/code/history/$RUN/share" '{"shared": false}'
api_check "an admin may stop sharing anyone's run" 200 ".id == $RUN and .shared == false"
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "then bob gets 404 again" 404
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
SID=$(jq -r .share_id "$R")
as "$ALICE" DELETE "/api/v1/code/history/$RUN"
api_check "alice deletes her shared run" 204 'true'
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "a deleted shared run is gone for bob" 404

srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)"
done_testing
