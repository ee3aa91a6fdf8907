#!/usr/bin/env bash
# runbox serve: the browser page's static files (--web DIR). index.html at / and /r/{share_id}, MIME
# types, ETag and If-None-Match (304), the cross-origin isolation and security headers (COOP,
# COEP, CORP, CSP on HTML), HEAD, a large file streamed whole, 404s, path traversal refused
# (raw, percent-encoded, encoded slash, NUL, backslash, dotfiles), a symlink inside DIR refused,
# API paths still answered by the API (no page for an unknown /api/ path), no login needed, the
# "not built" page when DIR does not exist, and a DIR removed and made again (web/build.sh) or
# made after the start served without a restart.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: static files" curl jq cmp

DATA=$TMP/data
WEB=$TMP/web
mkdir -p "$WEB/assets/sub" "$WEB/.hidden"
printf '<!doctype html><title>runbox test page</title>\n' >"$WEB/index.html"
printf 'console.log("app");\n' >"$WEB/assets/app.js"
printf 'export const x = 1;\n' >"$WEB/assets/mod.mjs"
printf 'body { color: red; }\n' >"$WEB/assets/style.css"
printf '{"a": 1}\n' >"$WEB/assets/data.json"
printf '\0asm\1\0\0\0' >"$WEB/assets/m.wasm"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >"$WEB/favicon.svg"
printf 'PK\5\6' >"$WEB/assets/lib.zip"
printf 'hello\n' >"$WEB/assets/sub/notes.txt"
printf 'binary' >"$WEB/assets/blob.xyz"
printf 'secret\n' >"$WEB/.env"
printf 'secret\n' >"$WEB/.hidden/a.txt"
printf 'outside\n' >"$TMP/outside.txt"
ln -s "$TMP/outside.txt" "$WEB/assets/link.txt"
ln -s app.js "$WEB/assets/inner-link.js"
ln -s "$TMP" "$WEB/dirlink"
mkfifo "$WEB/assets/fifo.js"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$WEB/assets/big.wasm"

"$RUNBOX" user add alice --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add alice (auth is on: the page needs no login)" || diag "$(cat "$TMP/e")"

srv_start_or_end "the server starts with --web" "$DATA" --workers 1 --web "$WEB"
grep -q "served from '$WEB'" "$TMP/srv.err"
tap $? "startup says where the page is served from" || diag "$(cat "$TMP/srv.err")"

# get PATH [curl args]: GET without a token; body in $R, headers in $R.hdr, status in $CODE.
get() {
    local p=$1; shift
    : >"$R"
    CODE=$(curl -sS --max-time 60 --path-as-is -o "$R" -D "$R.hdr" -w '%{http_code}' "$@" \
        "$SRV_URL$p")
}


HTML='text/html; charset=utf-8'
get /
http_is "/ is index.html, without a login" 200 Content-Type "$HTML" Cache-Control no-cache
cmp -s "$R" "$WEB/index.html"
tap $? "/ has index.html's bytes"
http_is "/ has COOP, COEP, CORP, nosniff and no referrer" 200 \
    Cross-Origin-Opener-Policy same-origin Cross-Origin-Embedder-Policy require-corp \
    Cross-Origin-Resource-Policy same-origin X-Content-Type-Options nosniff \
    Referrer-Policy no-referrer
csp=$(srv_header Content-Security-Policy)
grep -q "default-src 'self'" <<<"$csp" && grep -q "'wasm-unsafe-eval'" <<<"$csp" &&
    grep -q "frame-ancestors 'none'" <<<"$csp" && grep -q "worker-src 'self' blob:" <<<"$csp"
tap $? "/ has the Content-Security-Policy" || diag "CSP: $csp"
# No form of the page (a course README's, say) posts to another site.
grep -Eq "(^|; )form-action 'self'(;|$)" <<<"$csp"
tap $? "the CSP has form-action 'self'" || diag "CSP: $csp"
[ "$(srv_header Content-Length)" = "$(stat -c %s "$WEB/index.html")" ]
tap $? "/ has its Content-Length"

get /r/5
http_is "/r/5 is index.html" 200 Content-Type "$HTML" Cross-Origin-Embedder-Policy require-corp
cmp -s "$R" "$WEB/index.html"
tap $? "/r/5 has index.html's bytes"
get /index.html
http_is "/index.html itself" 200 Content-Type "$HTML" Cache-Control no-cache
get /r/vDbuwUuAo6YL_zMSYBpXsA
http_is "/r/{share_id} (base64url) is index.html" 200 Content-Type "$HTML"
get /r/a.b
http_is "/r/a.b is not a run page" 404
get "/r/$(printf 'a%.0s' {1..65})"
http_is "/r/ with 65 characters is not a run page" 404
get /r/abc/def
http_is "/r/abc/def is not a run page" 404

for pair in "assets/app.js:text/javascript; charset=utf-8" \
    "assets/mod.mjs:text/javascript; charset=utf-8" "assets/style.css:text/css; charset=utf-8" \
    "assets/data.json:application/json" "assets/m.wasm:application/wasm" \
    "favicon.svg:image/svg+xml" "assets/lib.zip:application/zip" \
    "assets/sub/notes.txt:text/plain; charset=utf-8" "assets/blob.xyz:application/octet-stream"; do
    f=${pair%%:*} mime=${pair#*:}
    get "/$f"
    http_is "/$f is $mime, checked again on each use (no-cache: no hash in its name)" 200 \
        Content-Type "$mime" Cache-Control no-cache Cross-Origin-Opener-Policy same-origin
done
get /assets/app.js
[ -z "$(srv_header Content-Security-Policy)" ]
tap $? "no CSP on a script"
cmp -s "$R" "$WEB/assets/app.js"
tap $? "a file's bytes come back as they are"

# ETag and If-None-Match.
etag=$(srv_header ETag)
[ -n "$etag" ]
tap $? "a file has an ETag ($etag)"
get /assets/app.js -H "If-None-Match: $etag"
http_is "If-None-Match with its ETag is 304" 304 ETag "$etag" Cross-Origin-Embedder-Policy require-corp
[ ! -s "$R" ]
tap $? "a 304 has no body"
get /assets/app.js -H "If-None-Match: \"other\", W/$etag"
http_is "a list holding the weak ETag is 304 too" 304
get /assets/app.js -H 'If-None-Match: "other"'
http_is "another ETag is 200" 200
sleep 1.1
printf 'console.log("changed");\n' >"$WEB/assets/app.js"
get /assets/app.js -H "If-None-Match: $etag"
http_is "a changed file's old ETag is 200" 200
[ "$(srv_header ETag)" != "$etag" ] && grep -q changed "$R"
tap $? "with a new ETag and the new bytes"

# HEAD.
CODE=$(curl -sS --max-time 60 -I -o /dev/null -D "$R.hdr" -w '%{http_code}' "$SRV_URL/assets/big.wasm")
: >"$R"
http_is "HEAD of a file: headers only" 200 Content-Type application/wasm \
    Content-Length "$(stat -c %s "$WEB/assets/big.wasm")"
CODE=$(curl -sS --max-time 60 -I -o /dev/null -D "$R.hdr" -w '%{http_code}' "$SRV_URL/")
http_is "HEAD /" 200 Content-Type "$HTML" Cross-Origin-Opener-Policy same-origin

# A large file, streamed.
get /assets/big.wasm
http_is "a 12 MiB file" 200 Content-Type application/wasm
cmp -s "$R" "$WEB/assets/big.wasm"
tap $? "comes back whole"

# 404s and refusals: each a JSON error, never a file.
for p in /nope.js /assets/ /assets /assets/sub/ /../etc/passwd /%2e%2e/etc/passwd \
    /assets/%2e%2e/%2e%2e/etc/passwd /a/%2F.. /assets/%2Fapp.js //etc/passwd \
    '/assets/app.js%00.png' '/assets%5capp.js' /.env /%2eenv /.hidden/a.txt /assets/./app.js \
    /assets/link.txt /assets/inner-link.js /dirlink/outside.txt /assets/fifo.js '/%zz' \
    '/assets/app.js%'; do
    get "$p"
    if [ "$CODE" = 404 ] && jq -e '.error | type == "string"' "$R" >/dev/null 2>&1 &&
        ! grep -q -e secret -e outside -e root: "$R"; then
        tap 0 "$p is a 404 JSON error"
    else
        tap 1 "$p is a 404 JSON error"
        diag "HTTP $CODE: $(head -c 300 "$R")"
    fi
done
get '/assets/app%2Ejs'
http_is "a percent-encoded name is decoded once" 200 Content-Type "text/javascript; charset=utf-8"
printf 'pct\n' >"$WEB/assets/a%2e.txt"
get '/assets/a%252e.txt'
http_is "%25 decodes to a literal %, not again" 200
grep -q pct "$R"
tap $? "the file named with a literal %"

# The API still answers its own paths, with or without a page.
get /api/v1/nope
http_is "an unknown /api/ path is the API's 404" 404 Content-Type application/json
jq -e '.error == "no such endpoint"' "$R" >/dev/null
tap $? "with the API's message, not the page"
get /api/v1/code/languages
http_is "an API route still needs a login" 401
get /healthz
http_is "/healthz is still the API" 200 Content-Type application/json
CODE=$(curl -sS --max-time 60 -o "$R" -w '%{http_code}' -X POST "$SRV_URL/index.html")
http_is "POST to a file is not served" 404

# web/build.sh removes dist/ and makes it again while the server runs.
cp -a "$WEB" "$TMP/web-copy"
rm -rf "$WEB"
mkdir -p "$WEB/assets"
printf '<!doctype html><title>rebuilt page</title>\n' >"$WEB/index.html"
printf 'console.log("new");\n' >"$WEB/assets/new.js"
get /
http_is "after the directory was removed and made again, / is the new index.html" 200
grep -q "rebuilt page" "$R"
tap $? "with the new bytes"
get /assets/new.js
http_is "and its new files" 200 Content-Type "text/javascript; charset=utf-8"
get /assets/app.js
http_is "and not the old ones" 404
# A deploy renames a new directory into place.
mkdir -p "$TMP/web-next"
printf '<!doctype html><title>swapped page</title>\n' >"$TMP/web-next/index.html"
mv "$WEB" "$TMP/web-prev" && mv "$TMP/web-next" "$WEB"
get /
grep -q "swapped page" "$R"
tap $? "a directory renamed into place is served at once" || diag "HTTP $CODE: $(head -c 200 "$R")"
srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)"

# ---- no page built ----
srv_start_or_end "the server starts without a page" "$DATA" --workers 1 --web "$TMP/no-such-dir"
[ "$(grep -c "not built" "$TMP/srv.err")" = 1 ] && grep -q "web/build.sh" "$TMP/srv.err"
tap $? "startup says once that the page is not built" || diag "$(cat "$TMP/srv.err")"
get /
http_is "/ says the page is not built" 200 Content-Type "$HTML" Cross-Origin-Opener-Policy same-origin
grep -q "bash web/build.sh" "$R"
tap $? "and how to build it"
get /assets/app.js
http_is "a file without a page is a 404" 404
get /healthz
http_is "the API works without a page" 200
mkdir -p "$TMP/no-such-dir"
printf '<!doctype html><title>built later</title>\n' >"$TMP/no-such-dir/index.html"
get /
http_is "a page built after the start is served without a restart" 200 Cache-Control no-cache
grep -q "built later" "$R"
tap $? "with its bytes"
srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)"

# ---- "server": {"web_dir"} in the config file ----
echo "{\"server\": {\"web_dir\": \"$TMP/web-copy\"}}" >"$TMP/config.json"
if srv_start "$DATA" --workers 1 --config "$TMP/config.json"; then
    get /assets/sub/notes.txt
    http_is "the config's web_dir is served" 200 Content-Type "text/plain; charset=utf-8"
    srv_stop
else
    tap 1 "the server starts with server.web_dir"
fi

done_testing
