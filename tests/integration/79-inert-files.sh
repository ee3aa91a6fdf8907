#!/usr/bin/env bash
# runbox serve: files a program made are inert (issue 17, item 8), and share links are
# unguessable. A run writes out/report.html and out/drawing.svg with script, a real PNG, HTML
# named fake.png and an awkward name; each comes back from
# GET /api/v1/code/history/{id}/files/{n} (and .../shared/{share_id}/files/{n}) as an
# attachment under nosniff and "Content-Security-Policy: sandbox", typed
# application/octet-stream, except the PNG whose bytes are one (image/png). Sharing gives a
# share_id of 128 random bits (22 base64url characters), different each time; a shared run is
# read at /api/v1/code/shared/{share_id} and no longer by its sequential id.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: inert files and share ids" curl jq

DATA=$TMP/data
for u in alice bob; do
    "$RUNBOX" user add $u --password-stdin --data "$DATA" <<<"password-$u" >/dev/null 2>"$TMP/e"
    tap $? "user add $u" || diag "$(cat "$TMP/e")"
done
srv_start_or_end "the server starts" "$DATA" --workers 1 --web "$TMP/no-page"
ALICE=$(srv_login alice password-alice)
BOB=$(srv_login bob password-bob)
[ -n "$ALICE" ] && [ -n "$BOB" ]
tap $? "alice and bob log in"

as() {
    local t=$1 m=$2 p=$3 b=${4:-}
    SRV_TOKEN=$t
    if [ -n "$b" ]; then api_json "$m" "$p" "$b"; else api "$m" "$p"; fi
}

PROGRAM=$(
    cat <<'PY'
import os, struct, zlib
os.makedirs("out", exist_ok=True)
open("out/report.html", "w").write("<html><body><script>fetch('/api/v1/auth/me')</script>report</body></html>")
open("out/drawing.svg", "w").write('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="5"/></svg>')
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("out/dot.png", "wb").write(png)
open("out/fake.png", "w").write("<html><script>alert(1)</script></html>")
open('out/na"me \u00e9;x.txt', "w").write("hi")
print("made")
PY
)
as "$ALICE" POST /api/v1/code/execute "$(jq -n --arg c "$PROGRAM" '{language: "python", code: $c}')"
api_check "alice's run writes five files" 200 '.status == "success" and (.files | length) == 5'
RUN=$(jq -r .id "$R")
jq -c '[.files[] | {name, mime}]' "$R" >"$TMP/files.json"
idx() { jq -r --arg n "$1" 'map(.name) | index($n)' "$TMP/files.json"; }

# check_inert WHAT URL TYPE: the file at URL comes back inert, typed TYPE.
check_inert() {
    local what=$1 url=$2 type=$3
    api GET "$url"
    local ct cd xcto csp
    ct=$(srv_header Content-Type)
    cd=$(srv_header Content-Disposition)
    xcto=$(srv_header X-Content-Type-Options)
    csp=$(srv_header Content-Security-Policy)
    [ "$CODE" = 200 ] && [ "$ct" = "$type" ] && [[ "$cd" == attachment\;* ]] &&
        [ "$xcto" = nosniff ] && [[ "$csp" == sandbox\;* ]] && [[ "$csp" == *"default-src 'none'"* ]]
    tap $? "$what: HTTP 200, $type, attachment, nosniff, CSP sandbox" ||
        diag "HTTP $CODE; Content-Type: $ct; Content-Disposition: $cd; nosniff: $xcto; CSP: $csp"
}

SRV_TOKEN=$ALICE
B=/api/v1/code/history/$RUN/files
check_inert "report.html (with a script)" "$B/$(idx report.html)" application/octet-stream
grep -q '<script>' "$R"
tap $? "report.html's bytes are as the program wrote them"
[[ "$(srv_header Content-Disposition)" == *'filename="report.html"'* ]]
tap $? "report.html is named in its Content-Disposition" || diag "$(srv_header Content-Disposition)"
check_inert "drawing.svg (with a script)" "$B/$(idx drawing.svg)" application/octet-stream
check_inert "a PNG" "$B/$(idx dot.png)" image/png
[ "$(head -c 4 "$R" | od -An -tx1 | tr -d ' \n')" = 89504e47 ]
tap $? "the PNG's bytes come back whole"
check_inert "HTML named fake.png (the name is not the type)" "$B/$(idx fake.png)" application/octet-stream
check_inert "an awkward name" "$B/$(idx 'na"me é;x.txt')" application/octet-stream
cd=$(srv_header Content-Disposition)
[ "$cd" = "attachment; filename=\"na_me __x.txt\"; filename*=UTF-8''na%22me%20%C3%A9%3Bx.txt" ]
tap $? "its Content-Disposition: an ASCII filename and filename*= in UTF-8" || diag "$cd"
api GET "$B/99"
tap "$([ "$CODE" = 404 ] && echo 0 || echo 1)" "a file index the run does not have is 404"
as "$BOB" GET "$B/$(idx dot.png)"
tap "$([ "$CODE" = 404 ] && echo 0 || echo 1)" "bob cannot fetch alice's unshared run's files (404)"

# Share ids.
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
api_check "alice shares her run: a share_id of 22 base64url characters" 200 \
    '.shared == true and (.share_id | test("^[A-Za-z0-9_-]{22}$"))'
SID=$(jq -r .share_id "$R")
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
api_check "sharing again keeps the link" 200 ".share_id == \"$SID\""
[ "$SID" != "$RUN" ] && ! [[ "$SID" =~ ^[0-9]+$ ]]
tap $? "the share id is not the run's id ($SID vs $RUN)"
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "bob reads the shared run by its share id" 200 \
    ".id == $RUN and .shared == true and (.result.output | test(\"made\"))"
as "$BOB" GET "/api/v1/code/history/$RUN"
api_check "the old sequential form (/history/{id}) does not open another user's shared run" 404
as "$BOB" GET "/api/v1/code/shared/$RUN"
api_check "nor does a run id in place of the share id" 404
as "" GET "/api/v1/code/shared/$SID"
api_check "a shared run still needs a login (401)" 401
SRV_TOKEN=$BOB
check_inert "bob fetches report.html of the shared run" \
    "/api/v1/code/shared/$SID/files/$(idx report.html)" application/octet-stream
check_inert "bob fetches the shared run's PNG" "/api/v1/code/shared/$SID/files/$(idx dot.png)" image/png

# Unsharing kills the link; sharing again makes a new, unrelated one.
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": false}'
api_check "alice stops sharing" 200 '.shared == false and .share_id == null'
as "$BOB" GET "/api/v1/code/shared/$SID"
api_check "the old link is dead (404)" 404
as "$ALICE" PUT "/api/v1/code/history/$RUN/share" '{"shared": true}'
SID2=$(jq -r .share_id "$R")
as "$ALICE" POST /api/v1/code/execute '{"language": "python", "code": "print(2)"}'
RUN2=$(jq -r .id "$R")
as "$ALICE" PUT "/api/v1/code/history/$RUN2/share" '{"shared": true}'
SID3=$(jq -r .share_id "$R")
ids_ok=1
for s in "$SID2" "$SID3"; do [[ "$s" =~ ^[A-Za-z0-9_-]{22}$ ]] || ids_ok=0; done
[ "$ids_ok" = 1 ] && [ "$SID2" != "$SID" ] && [ "$SID3" != "$SID2" ] &&
    [ "${SID2:0:8}" != "${SID3:0:8}" ] && [ "${SID2: -8}" != "${SID3: -8}" ]
tap $? "share ids differ unpredictably ($SID, $SID2, $SID3)"
as "$BOB" GET "/api/v1/code/shared/$SID2"
api_check "the new link works" 200 ".id == $RUN"

srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)"
done_testing
