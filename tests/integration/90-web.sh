#!/usr/bin/env bash
# The browser page (web/) end to end: a real `runbox serve --web web/dist` with the tests' own
# course, driven in headless Chromium by tests/e2e/web.test.mjs (playwright-core), whose TAP lines
# are this script's. Screenshots and the browser's request log go to
# ${RUNBOX_TEST_OUT:-test-output}/<build dir>/web/. Skipped when web/dist, Chromium or
# playwright-core is missing (a failure under SBX_MUST_WORK=1).
. "$(dirname "$0")/../lib.sh"

WEB=$ROOT/web/dist
CHROME=${RUNBOX_CHROMIUM:-/usr/bin/chromium}
E2E=$ROOT/tests/e2e
COURSE=$E2E/courses/e2e-python
COURSE2=$E2E/courses/e2e-hostile # a README that tries too much, a 120-character name
NAME="the browser page end to end (tests/e2e)"

# Every "highlight" of languages/*.json names a stream parser the page has (an unknown one would
# show plain text): FILE a module of @codemirror/legacy-modes/mode/, EXPORT its parser (an object
# with token()), not a factory (clike:clike, sql:sql) nor a typo (clike:objectivec). Node only.
MODES_DIR=$ROOT/web/node_modules/@codemirror/legacy-modes/mode
if command -v node >/dev/null && [ -d "$MODES_DIR" ]; then
    node --input-type=module - "$ROOT/languages" "$MODES_DIR" >"$TMP/hl.out" 2>&1 <<'EOF'
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
const [dir, modes] = process.argv.slice(2);
let n = 0, bad = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const h = JSON.parse(readFileSync(join(dir, f), "utf8")).highlight;
  if (h == null) continue;
  n++;
  const [, file, name] = String(h).match(/^([a-z][a-z0-9-]*):([A-Za-z_][A-Za-z0-9_]*)$/) || [];
  const path = file && join(modes, `${file}.js`);
  const m = path && existsSync(path) ? await import(path) : null;
  if (!m || !Object.hasOwn(m, name) || typeof m[name]?.token !== "function") bad.push(`${f}: ${h}`);
}
console.log(`${n} languages name a mode`);
for (const b of bad) console.log(`not a stream parser of @codemirror/legacy-modes: ${b}`);
process.exit(bad.length ? 1 : 0);
EOF
    tap $? "every \"highlight\" in languages/ names a mode the page has ($(head -1 "$TMP/hl.out"))" || diag "$(cat "$TMP/hl.out")"
fi

missing=""
[ -f "$WEB/index.html" ] || missing="$missing web/dist (bash web/build.sh);"
[ -x "$CHROME" ] || missing="$missing $CHROME (apt-get install chromium);"
[ -f "$ROOT/web/node_modules/playwright-core/package.json" ] ||
    missing="$missing web/node_modules/playwright-core (cd web && npm ci);"
for tool in node curl jq; do
    command -v "$tool" >/dev/null || missing="$missing $tool;"
done
if command -v node >/dev/null && ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    missing="$missing Node.js >= 20 for playwright-core (this is $(node --version));"
fi
if [ -n "$missing" ]; then
    skip "$NAME" "missing:${missing%;}"
    done_testing
    exit
fi
if ! "$RUNBOX" serve --help 2>&1 | grep -q -- '--web'; then
    skip "$NAME" "this runbox serve has no --web"
    done_testing
    exit
fi

for c in "$COURSE" "$COURSE2"; do
    "$RUNBOX" course check --starter "$c" >"$TMP/check.out" 2>&1
    tap $? "the e2e course $(basename "$c") checks: solutions pass, starters do not (runbox course check --starter)" ||
        diag "$(cat "$TMP/check.out")"
done

srv_start_or_end "runbox serve --web starts" "$TMP/data" --no-auth --workers 2 --web "$WEB" --courses "$COURSE" --courses "$COURSE2"

# A second server, with auth on and two users, for the log-in test.
AUTH_DATA=$TMP/auth-data
AUTH_USERS="alice:alice-password-1 bob:bob-password-2"
AUTH_URL=""
AUTH_PID=""
for u in $AUTH_USERS; do
    "$RUNBOX" user add "${u%%:*}" --password-stdin --data "$AUTH_DATA" <<<"${u#*:}" >/dev/null 2>"$TMP/user.err" ||
        diag "user add ${u%%:*}: $(cat "$TMP/user.err")"
done
"$RUNBOX" serve --listen 127.0.0.1:0 --data "$AUTH_DATA" --workers 1 --web "$WEB" \
    >"$TMP/auth.out" 2>"$TMP/auth.err" </dev/null &
AUTH_PID=$!
srv_bg "$AUTH_PID"
for _ in $(seq 200); do
    AUTH_URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/auth.out")
    [ -n "$AUTH_URL" ] && curl -sf -o /dev/null "$AUTH_URL/healthz" && break
    AUTH_URL=""
    kill -0 "$AUTH_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$AUTH_URL" ]
tap $? "a second runbox serve --web starts, with auth on" || diag "$(cat "$TMP/auth.out" "$TMP/auth.err")"

# A third server, on a languages directory of its own (the picker's and the highlighting's tests):
# 45 and more languages, most of them stand-ins that print their source (/bin/cat: no toolchain
# needed) with the names, aliases, extensions and "highlight" modes of real ones, a mode the page
# does not have, and Python twice: python and python@3.13 (a version: the same python3, telling
# which it is by E2E_VARIANT), when this runbox takes '@' in a name.
LANGS_DIR=$TMP/e2e-languages
LANGS_URL=""
LANGS_PID=""
mkdir -p "$LANGS_DIR"
fake_lang() { # NAME DISPLAY ALIASES(a,b) EXT HIGHLIGHT(or -)
    jq -n --arg name "$1" --arg display "$2" --arg aliases "$3" --arg ext "$4" --arg hl "$5" '{
        name: $name, display_name: $display, extensions: [$ext], source_file: ("main" + $ext),
        aliases: ($aliases | split(",") | map(select(. != ""))),
        version: ["/bin/cat", "--version"], run: ["/bin/cat", "{main}"],
        selftest: {files: {("main" + $ext): "hi"}, expected_output: "hi"}}
        + (if $hl == "-" then {} else {highlight: $hl} end)' >"$LANGS_DIR/$1.json"
}
while IFS='|' read -r name display aliases ext hl; do
    [ -n "$name" ] && fake_lang "$name" "$display" "$aliases" "$ext" "$hl"
done <<'EOF'
ada|Ada|adb|.adb|-
asm|Assembly (NASM)|nasm|.asm|gas:gas
awk|AWK|gawk|.awk|-
clojure|Clojure|clj|.clj|clojure:clojure
cobol|COBOL|cob|.cob|cobol:cobol
coffeescript|CoffeeScript|coffee|.coffee|coffeescript:coffeeScript
commonlisp|Common Lisp|lisp,sbcl|.lisp|commonlisp:commonLisp
crystal|Crystal|cr|.cr|crystal:crystal
csharp|C#|cs,mono|.cs|clike:csharp
d|D|gdc|.d|d:d
elixir|Elixir|exs|.exs|ruby:ruby
elisp|Emacs Lisp|el,emacs|.el|commonlisp:commonLisp
erlang|Erlang|erl|.erl|erlang:erlang
forth|Forth|gforth|.fth|forth:forth
fortran|Fortran|f90|.f90|fortran:fortran
groovy|Groovy|gvy|.groovy|groovy:groovy
haskell|Haskell|hs,ghc|.hs|haskell:haskell
kotlin|Kotlin|kt|.kt|clike:kotlin
lua|Lua|lua5.4|.lua|lua:lua
nim|Nim||.nim|python:python
objc|Objective-C|objective-c,m|.m|clike:objectiveC
ocaml|OCaml|ml|.ml|mllike:oCaml
octave|Octave|matlab|.m|octave:octave
pascal|Pascal|fpc,pas|.pas|pascal:pascal
perl|Perl|pl|.pl|perl:perl
php|PHP||.php|-
prolog|Prolog|swipl|.pl|-
r|R|rscript|.r|r:r
racket|Racket|rkt|.rkt|scheme:scheme
raku|Raku|perl6|.raku|perl:perl
ruby|Ruby|rb|.rb|ruby:ruby
scala|Scala|sc|.scala|clike:scala
scheme|Scheme|guile,scm|.scm|scheme:scheme
sml|Standard ML|polyml|.sml|mllike:sml
sql|SQL (SQLite)|sqlite,sqlite3|.sql|sql:sqlite
swift|Swift||.swift|swift:swift
tcl|Tcl|tclsh|.tcl|tcl:tcl
e2e-nomode|E2E no such mode||.nomode|nosuchmode:nothing
e2e-noexport|E2E no such export||.noexport|ruby:noSuchExport
EOF
# The page's own modes, and Python twice.
for f in c cpp java javascript typescript rust go bash; do
    jq --arg f "$f" '{name, display_name, aliases, extensions, source_file,
        version: ["/bin/cat", "--version"], run: ["/bin/cat", "{main}"],
        selftest: {files: {(.source_file): "hi"}, expected_output: "hi"}}' \
        "$ROOT/languages/$f.json" >"$LANGS_DIR/$f.json"
done
jq '{name, display_name, aliases, extensions, source_file, version, run, selftest, limits}
    + {env: {E2E_VARIANT: "default"}}' "$ROOT/languages/python.json" >"$LANGS_DIR/python.json"
jq '{name: "python@3.13", display_name: "Python 3.13", aliases: ["python3.13"], extensions,
     source_file, version, run, selftest, limits, env: {E2E_VARIANT: "3.13"}}' \
    "$ROOT/languages/python.json" >"$TMP/python@3.13.json"
mkdir -p "$TMP/at-probe"
cp "$TMP/python@3.13.json" "$TMP/at-probe/"
if "$RUNBOX" --languages "$TMP/at-probe" languages >/dev/null 2>&1; then
    cp "$TMP/python@3.13.json" "$LANGS_DIR/"
    LANGS_VERSIONS=1
else
    LANGS_VERSIONS=0
    diag "this runbox refuses '@' in a language's name: the picker's version test is skipped"
fi
XDG_CACHE_HOME=$TMP/langs-cache "$RUNBOX" serve --listen 127.0.0.1:0 --data "$TMP/langs-data" --no-auth \
    --workers 1 --web "$WEB" --languages "$LANGS_DIR" >"$TMP/langs.out" 2>"$TMP/langs.err" </dev/null &
LANGS_PID=$!
srv_bg "$LANGS_PID"
for _ in $(seq 300); do
    LANGS_URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/langs.out")
    [ -n "$LANGS_URL" ] && curl -sf -o /dev/null "$LANGS_URL/healthz" && break
    LANGS_URL=""
    kill -0 "$LANGS_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$LANGS_URL" ]
tap $? "a third runbox serve --web starts, on $(ls "$LANGS_DIR" | wc -l) languages of its own" ||
    diag "$(cat "$TMP/langs.out" "$TMP/langs.err")"

SHOTS=${RUNBOX_TEST_OUT:-$ROOT/test-output}/$(basename "$(dirname "$RUNBOX")")/web
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png "$SHOTS/requests.log"

env E2E_URL="$SRV_URL" E2E_SERVER_PID="$SRV_PID" E2E_SHOTS="$SHOTS" E2E_TAP_START="$T_NUM" \
    E2E_COURSE="$(basename "$COURSE")" E2E_COURSE2="$(basename "$COURSE2")" E2E_CHROMIUM="$CHROME" \
    E2E_AUTH_URL="$AUTH_URL" E2E_AUTH_USERS="$AUTH_USERS" \
    E2E_LANGS_URL="$LANGS_URL" E2E_LANGS_VERSIONS="$LANGS_VERSIONS" \
    node "$E2E/web.test.mjs" 2>"$TMP/e2e.err" | tee "$TMP/e2e.tap"
rc=${PIPESTATUS[0]}
n_ok=$(grep -c '^ok ' "$TMP/e2e.tap")
n_fail=$(grep -c '^not ok ' "$TMP/e2e.tap")
T_NUM=$((T_NUM + n_ok + n_fail))
T_FAILED=$((T_FAILED + n_fail))
if [ "$rc" != 0 ] && [ "$n_fail" = 0 ]; then
    tap 1 "the browser test script exits 0" || diag "exit status $rc: $(tail -20 "$TMP/e2e.err")"
elif [ -s "$TMP/e2e.err" ]; then
    diag "the browser test script's stderr: $(tail -20 "$TMP/e2e.err")"
fi

# The script stopped the server (SIGTERM) to show in-browser runs need none: it must have exited
# cleanly, with no sanitizer report.
srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server exits with status 0 after the browser tests" || diag "rc $SRV_RC: $(tail -20 "$TMP/srv.err")"

kill -TERM "$LANGS_PID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$LANGS_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$LANGS_PID" 2>/dev/null
wait "$LANGS_PID" 2>/dev/null
rc=$?
if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/langs.err"; then rc="sanitizer report ($rc)"; fi
[ "$rc" = 0 ]
tap $? "the server on its own languages exits with status 0" || diag "rc $rc: $(tail -20 "$TMP/langs.err")"

kill -TERM "$AUTH_PID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$AUTH_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$AUTH_PID" 2>/dev/null
wait "$AUTH_PID" 2>/dev/null
rc=$?
if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/auth.err"; then rc="sanitizer report ($rc)"; fi
[ "$rc" = 0 ]
tap $? "the server with auth exits with status 0" || diag "rc $rc: $(tail -20 "$TMP/auth.err")"

done_testing
