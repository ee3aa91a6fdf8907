#!/usr/bin/env bash
# Deeply nested input cannot crash the server. JSON nested 1,000 and 100,000 levels (arrays and
# objects, bare and inside a request) goes to every route that takes a body (the POST/PUT/PATCH
# rows of src/server/routes.def, and Piston's DELETE /api/v2/packages), with and without
# credentials, on a server with auth on: each answers 4xx, the ones that read the body name the
# limit ("nested deeper than 64 levels"), and /healthz still answers after each. Then the same
# as a WebSocket message on /api/v1/code/interactive and /api/v2/connect (an error message, the server up),
# and as a course file (runbox course check refuses it, no crash). Before the depth limit, the
# first 1,000-deep body (POST /api/v1/auth/token, no login needed) killed the server.
. "$(dirname "$0")/../lib.sh"

need_tools "deep input against runbox serve" curl jq python3

WSPY=$(ws_python)

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin" || diag "$(cat "$TMP/e")"
"$RUNBOX" course init --lang python "$TMP/course" >/dev/null 2>"$TMP/e"
tap $? "a sample course to serve" || diag "$(cat "$TMP/e")"
# A rate limit high enough that every deep request reaches the parser.
cat >"$TMP/cfg.json" <<'EOF'
{"server": {"rate_limit_per_s": 1000, "rate_limit_burst": 1000}}
EOF
srv_start_or_end "the server starts with auth on" "$DATA" --config "$TMP/cfg.json" --workers 1 \
    --courses "$TMP/course"

TOKEN=$(srv_login admin password123)
[ -n "$TOKEN" ]
tap $? "the admin logs in" || { done_testing; exit; }
AUTH=(-H "Authorization: Bearer $TOKEN")
KEY=$(curl -sS "${AUTH[@]}" -H 'Content-Type: application/json' -d '{"user_id": 1, "name": "j0"}' \
    "$SRV_URL/api/v1/keys" | jq -r .key)
COURSE=$(curl -sS "${AUTH[@]}" "$SRV_URL/api/v1/courses" | jq -r '.courses[0].id // empty')
EXERCISE=$(curl -sS "${AUTH[@]}" "$SRV_URL/api/v1/courses/$COURSE/exercises" |
    jq -r '.exercises[0].id // .exercises[0].slug // empty')
RUN_ID=$(curl -sS "${AUTH[@]}" -H 'Content-Type: application/json' \
    -d '{"language": "python", "code": "print(1)"}' "$SRV_URL/api/v1/code/execute" | jq -r '.id // empty')
[ -n "$KEY" ] && [ "$KEY" != null ] && [ -n "$COURSE" ] && [ -n "$EXERCISE" ] && [ -n "$RUN_ID" ]
tap $? "an API key, a course exercise and a run in the history to aim at" ||
    diag "key=$KEY course=$COURSE exercise=$EXERCISE run=$RUN_ID"

# ---- the bodies: DEPTH levels of arrays or of objects, bare or as a request's field ----
mk() { # DEPTH arrays|objects bare|field
    python3 - "$@" <<'PY'
import sys
n, kind, where = int(sys.argv[1]), sys.argv[2], sys.argv[3]
deep = "[" * n + "1" + "]" * n if kind == "arrays" else '{"a":' * n + "1" + "}" * n
if where == "field":
    deep = '{"language": "python", "code": "print(1)", "stdin": ' + deep + "}"
sys.stdout.write(deep)
PY
}
bodies=()
for depth in 1000 100000; do
    for kind in arrays objects; do
        for where in bare field; do
            mk $depth $kind $where >"$TMP/deep-$depth-$kind-$where.json"
            bodies+=("$depth-$kind-$where")
        done
    done
done

# Every route that takes a body: METHOD PATH AUTH, AUTH being how an authenticated call
# authenticates (bearer, or the Judge0 key) and whether it reads the body (a trailing "+").
routes=(
    "POST /api/v1/auth/token none+"
    "POST /api/v1/users bearer+"
    "POST /api/v1/keys bearer+"
    "POST /api/v1/code/execute bearer+"
    "POST /api/v1/code/compile?target=wasm bearer+"
    "PUT /api/v1/code/history/$RUN_ID/share bearer+"
    "POST /api/v1/courses/$COURSE/exercises/$EXERCISE/test bearer+"
    "POST /api/v2/execute bearer+"
    "POST /api/v2/packages bearer"
    "DELETE /api/v2/packages bearer"
    "POST /judge0/submissions judge0+"
    "POST /judge0/submissions/batch judge0+"
)

alive() { curl -sf --max-time 5 -o /dev/null "$SRV_URL/healthz"; }

# send METHOD PATH BODY_NAME CREDENTIALS...: the answer's status in $CODE, its body in $R.
send() {
    local m=$1 p=$2 b=$3; shift 3
    CODE=$(curl -sS --max-time 30 -o "$R" -w '%{http_code}' -X "$m" "$@" \
        -H 'Content-Type: application/json' --data-binary @"$TMP/deep-$b.json" "$SRV_URL$p")
}

for row in "${routes[@]}"; do
    read -r m p how <<<"$row"
    parses=false
    [ "${how%+}" != "$how" ] && parses=true
    how=${how%+}
    case $how in
    bearer) cred=("${AUTH[@]}") ;;
    judge0) cred=(-H "X-Auth-Token: $KEY" -H "X-Auth-User: $KEY") ;;
    *) cred=() ;;
    esac
    bad=""
    for b in "${bodies[@]}"; do
        for who in anonymous authenticated; do
            c=()
            [ $who = authenticated ] && c=(${cred[@]+"${cred[@]}"})
            send "$m" "$p" "$b" ${c[@]+"${c[@]}"}
            # Piston's packages routes never read a body: they answer 501 (not implemented).
            if ! [[ $CODE =~ ^4 ]] && ! { [ "$parses" = false ] && [ "$CODE" = 501 ]; }; then
                bad+=" $b/$who:HTTP-$CODE"
            elif [ "$parses" = true ] && [ $who = authenticated ] && [ "${b%%-*}" = 1000 ] &&
                ! jq -e 'tostring | test("nested deeper than 64 levels")' "$R" >/dev/null 2>&1; then
                bad+=" $b/$who:HTTP-$CODE-without-the-limit:$(head -c 200 "$R")"
            fi
            if ! alive; then
                bad+=" $b/$who:SERVER-DOWN"
                break 2
            fi
        done
    done
    [ -z "$bad" ]
    tap $? "$m $p: deep bodies answer 4xx and the server stays up" || diag "$bad"
    if ! alive; then
        diag "the server died: $(tail -5 "$TMP/srv.err")"
        done_testing
        exit
    fi
done

# ---- WebSocket messages ----
if [ -n "$WSPY" ]; then
    cat >"$TMP/ws.py" <<'PY'
import asyncio, json, sys
import websockets

url, token, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()

async def main():
    ws = await websockets.connect(url, extra_headers={"Authorization": "Bearer " + token},
                                  open_timeout=10, max_size=None)
    await ws.send(body)
    # The first answer that is not runbox's greeting ({"type": "ready"}).
    try:
        while True:
            reply = await asyncio.wait_for(ws.recv(), 10)
            if json.loads(reply).get("type") != "ready":
                break
        print(reply)
    except websockets.exceptions.ConnectionClosed as e:
        print(json.dumps({"closed": e.code, "reason": e.reason}))

asyncio.run(main())
PY
    wsbase=${SRV_URL/http:/ws:}
    for path in /api/v1/code/interactive /api/v2/connect; do
        for b in 1000-arrays-bare 1000-objects-field 100000-objects-field; do
            out=$(timeout 30 "$WSPY" "$TMP/ws.py" "$wsbase$path" "$TOKEN" "$TMP/deep-$b.json" 2>&1)
            jq -e '.type == "error" and ((.error // .message) | test("nested deeper than 64"))' \
                <<<"$out" >/dev/null 2>&1 && alive
            tap $? "WebSocket $path: a $b message is refused and the server stays up" ||
                diag "$(head -c 300 <<<"$out")"
            alive || { done_testing; exit; }
        done
    done
else
    skip "deep WebSocket messages" "python3 has no websockets module (python3-websockets)"
fi

# ---- a deep course file ----
cp -r "$TMP/course" "$TMP/deepcourse"
mk 1000 objects bare >"$TMP/deepcourse/course.json"
"$RUNBOX" course check "$TMP/deepcourse" >"$TMP/out" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc -lt 128 ] && grep -q "deeper than 64" "$TMP/out"
tap $? "runbox course check refuses a 1,000-deep course.json by name, without a crash" ||
    diag "rc=$rc $(head -c 300 "$TMP/out")"

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server exits 0 on SIGTERM" || diag "rc=$SRV_RC $(tail -5 "$TMP/srv.err")"

done_testing
