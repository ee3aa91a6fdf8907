#!/usr/bin/env bash
# runbox serve: how the page's files travel (issue 20, item 6). Precompressed siblings (NAME.br,
# NAME.gz, written by web/build.mjs) chosen by Accept-Encoding: br before gzip before the file
# itself, q=0 honoured, nothing encoded without the header, a sibling older than its file
# ignored, Content-Encoding, Vary and Content-Length right, the bytes decompressing to the
# file's; each representation its own ETag (304 on If-None-Match); names with a content hash and
# files below a version directory cached immutable for a year, other names no-cache; the
# security headers on every answer. Last, the real build (web/dist) when there is one: every
# file index.html names is hashed, immutable, and smaller in brotli.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: compressed transfer" curl jq cmp gzip

DATA=$TMP/data
WEB=$TMP/web
mkdir -p "$WEB/assets" "$WEB/pyodide/0.25.1"
printf '<!doctype html><title>transfer test</title>\n' >"$WEB/index.html"
for i in $(seq 400); do printf 'console.log("line %d of the app");\n' "$i"; done >"$WEB/assets/main-AB12CD34.js"
cp "$WEB/assets/main-AB12CD34.js" "$WEB/assets/plain.js"
head -c 100000 /dev/zero >"$WEB/pyodide/0.25.1/pyodide.asm.wasm"
printf 'not hashed\n' >"$WEB/assets/main-ab12cd34.js"
# The siblings: brotli made by Node (what build.mjs does), gzip by gzip.
mkz() {
    node -e 'const z = require("zlib"), fs = require("fs"); const f = process.argv[1];
        fs.writeFileSync(f + ".br", z.brotliCompressSync(fs.readFileSync(f)))' "$1" &&
        gzip -9 -k -n "$1"
}
for f in index.html assets/main-AB12CD34.js assets/plain.js pyodide/0.25.1/pyodide.asm.wasm; do
    mkz "$WEB/$f" || { tap 1 "node makes the brotli siblings"; done_testing; exit; }
done
# A sibling older than its file is stale: never sent.
printf 'console.log("fresh");\n' >"$WEB/assets/stale.js"
printf 'stale gzip' >"$WEB/assets/stale.js.gz"
printf 'stale br' >"$WEB/assets/stale.js.br"
touch -d '2020-01-01' "$WEB/assets/stale.js.gz" "$WEB/assets/stale.js.br"

srv_start_or_end "the server starts with --web" "$DATA" --workers 1 --web "$WEB"

# get PATH [curl args]: GET (no decoding by curl); body in $R, headers in $R.hdr.
get() {
    local p=$1; shift
    : >"$R"
    CODE=$(curl -sS --max-time 60 -o "$R" -D "$R.hdr" -w '%{http_code}' "$@" "$SRV_URL$p")
}
unbr() { node -e 'process.stdout.write(require("zlib").brotliDecompressSync(require("fs").readFileSync(process.argv[1])))' "$1"; }
length_is_body() { [ "$(srv_header Content-Length)" = "$(stat -c %s "$R")" ]; }

JS='text/javascript; charset=utf-8'
IMM='public, max-age=31536000, immutable'
SEC=(Cross-Origin-Opener-Policy same-origin Cross-Origin-Embedder-Policy require-corp
    Cross-Origin-Resource-Policy same-origin X-Content-Type-Options nosniff Referrer-Policy no-referrer)
A=/assets/main-AB12CD34.js

get $A -H 'Accept-Encoding: gzip, deflate, br, zstd'
http_is "br is chosen over gzip (Chromium's Accept-Encoding)" 200 Content-Encoding br \
    Content-Type "$JS" Vary Accept-Encoding Cache-Control "$IMM" "${SEC[@]}"
length_is_body
tap $? "Content-Length is the brotli body's ($(srv_header Content-Length) of $(stat -c %s "$WEB$A"))"
cmp -s <(unbr "$R") "$WEB$A"
tap $? "the brotli body decompresses to the file"
br_etag=$(srv_header ETag)

get $A -H 'Accept-Encoding: gzip'
http_is "gzip when only gzip is accepted" 200 Content-Encoding gzip Content-Type "$JS" \
    Vary Accept-Encoding Cache-Control "$IMM" "${SEC[@]}"
length_is_body && cmp -s <(gzip -dc "$R") "$WEB$A"
tap $? "the gzip body decompresses to the file, with its Content-Length"
gz_etag=$(srv_header ETag)

get $A
http_is "no Accept-Encoding: the file itself" 200 Content-Encoding "" Vary Accept-Encoding \
    Cache-Control "$IMM" "${SEC[@]}"
cmp -s "$R" "$WEB$A" && length_is_body
tap $? "with its own bytes and length"
id_etag=$(srv_header ETag)
[ -n "$id_etag" ] && [ "$id_etag" != "$br_etag" ] && [ "$id_etag" != "$gz_etag" ] &&
    [ "$br_etag" != "$gz_etag" ]
tap $? "each representation has its own ETag ($id_etag $gz_etag $br_etag)"

get $A -H 'Accept-Encoding: br;q=0, gzip'
http_is "br;q=0 is never sent br" 200 Content-Encoding gzip
get $A -H 'Accept-Encoding: gzip;q=0, br;q=0'
http_is "both refused: the file itself" 200 Content-Encoding ""
cmp -s "$R" "$WEB$A"
tap $? "with its own bytes"
get $A -H 'Accept-Encoding: *;q=0'
http_is "*;q=0: the file itself" 200 Content-Encoding ""
get $A -H 'Accept-Encoding: *'
http_is "*: br" 200 Content-Encoding br
get $A -H 'Accept-Encoding: br;q=0.5, gzip;q=0.8'
http_is "q-values: gzip at 0.8 before br at 0.5" 200 Content-Encoding gzip
get $A -H 'Accept-Encoding: BR;Q=0.001'
http_is "names and q are case-insensitive; q=0.001 is still accepted" 200 Content-Encoding br
get $A -H 'Accept-Encoding: identity, br;q=0.5'
http_is "identity named before a lower br: the file itself" 200 Content-Encoding ""
get $A -H 'Accept-Encoding: deflate, compress'
http_is "only codings that have no sibling: the file itself" 200 Content-Encoding ""
get $A -H 'Accept-Encoding: brotli, gzipx'
http_is "a name that only starts like br or gzip is not br or gzip" 200 Content-Encoding ""

# Conditional requests.
get $A -H 'Accept-Encoding: br' -H "If-None-Match: $br_etag"
http_is "If-None-Match with the brotli ETag: 304" 304 ETag "$br_etag" Vary Accept-Encoding \
    Cache-Control "$IMM" "${SEC[@]}"
[ ! -s "$R" ]
tap $? "a 304 has no body"
get $A -H 'Accept-Encoding: gzip' -H "If-None-Match: $br_etag"
http_is "the brotli ETag does not stand for the gzip body: 200" 200 Content-Encoding gzip
get / -H 'Accept-Encoding: br'
http_is "index.html in brotli, no-cache, with its CSP" 200 Content-Encoding br Cache-Control no-cache \
    Content-Type 'text/html; charset=utf-8' "${SEC[@]}"
[ -n "$(srv_header Content-Security-Policy)" ]
tap $? "the brotli index.html has the Content-Security-Policy"
cmp -s <(unbr "$R") "$WEB/index.html"
tap $? "and decompresses to index.html"
get / -H 'Accept-Encoding: br' -H "If-None-Match: $(srv_header ETag)"
http_is "index.html: 304 on its ETag" 304 Cache-Control no-cache

# Cache-Control by name.
get /assets/plain.js -H 'Accept-Encoding: br'
http_is "a name without a hash: no-cache (and still br)" 200 Cache-Control no-cache Content-Encoding br
get /assets/main-ab12cd34.js -H 'Accept-Encoding: br'
http_is "a lowercase 'hash' is no hash: no-cache, nothing to encode" 200 Cache-Control no-cache \
    Content-Encoding ""
get /pyodide/0.25.1/pyodide.asm.wasm -H 'Accept-Encoding: br'
http_is "a file below a version directory: immutable, br" 200 Cache-Control "$IMM" \
    Content-Encoding br Content-Type application/wasm
cmp -s <(unbr "$R") "$WEB/pyodide/0.25.1/pyodide.asm.wasm" && length_is_body
tap $? "its bytes decompress to the wasm"

# Stale siblings, and the siblings themselves.
get /assets/stale.js -H 'Accept-Encoding: br, gzip'
http_is "a sibling older than its file is not sent" 200 Content-Encoding ""
grep -q fresh "$R"
tap $? "the file's own bytes come instead"
get $A.br -H 'Accept-Encoding: br'
http_is "a request for NAME.br itself: its bytes as they are, not declared br" 200 Content-Encoding "" \
    Content-Type application/octet-stream
cmp -s "$R" "$WEB$A.br"
tap $? "the .br file's bytes"
get $A.gz -H 'Accept-Encoding: gzip'
http_is "a request for NAME.gz itself: application/gzip, not declared gzip" 200 Content-Encoding "" \
    Content-Type application/gzip

# HEAD: the length of what a GET would send.
CODE=$(curl -sS --max-time 60 -I -o /dev/null -D "$R.hdr" -w '%{http_code}' \
    -H 'Accept-Encoding: br' "$SRV_URL$A")
http_is "HEAD with br: the brotli sibling's length" 200 Content-Encoding br \
    Content-Length "$(stat -c %s "$WEB$A.br")"
# Traversal is still refused with a sibling name in the way.
get /assets/..%2fmain-AB12CD34.js -H 'Accept-Encoding: br'
http_is "traversal is still refused" 404
srv_stop

# ---- the real build, when there is one ----
DIST=$(cd "$(dirname "$0")/../../web" && pwd)/dist
if [ ! -f "$DIST/index.html" ]; then
    skip "web/dist is not built (bash web/build.sh)"
    done_testing
    exit
fi
srv_start_or_end "the server starts with the built page" "$DATA" --workers 1 --web "$DIST"
names=$(grep -oE '(src|href)="/assets/[^"]+"' "$DIST/index.html" | sed -E 's/.*"\/(.*)"/\1/')
[ -n "$names" ]
tap $? "index.html names its assets ($(echo $names | wc -w))"
total=0
for n in $names; do
    get "/$n" -H 'Accept-Encoding: gzip, deflate, br'
    http_is "/$n: hashed, immutable, brotli" 200 Cache-Control "$IMM" Content-Encoding br
    total=$((total + $(stat -c %s "$R")))
done
get / -H 'Accept-Encoding: gzip, deflate, br'
http_is "the built index.html: no-cache, brotli" 200 Cache-Control no-cache Content-Encoding br
total=$((total + $(stat -c %s "$R")))
diag "first load (index.html and what it names), brotli: $total bytes"
[ "$total" -le $((300 * 1024)) ]
tap $? "first load ≤ 300 KB on the wire ($total bytes)"
py=$(cd "$DIST/pyodide" && ls -d */ | head -1)
get "/pyodide/${py}pyodide.asm.wasm" -H 'Accept-Encoding: gzip, deflate, br'
http_is "Pyodide's wasm: immutable, brotli" 200 Cache-Control "$IMM" Content-Encoding br
diag "Pyodide's wasm in brotli: $(stat -c %s "$R") bytes of $(stat -c %s "$DIST/pyodide/${py}pyodide.asm.wasm")"
srv_stop
done_testing
