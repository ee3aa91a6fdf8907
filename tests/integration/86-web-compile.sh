#!/usr/bin/env bash
# runbox serve: compiling for the browser, POST /api/v1/code/compile?target=wasm. C, C++, Rust
# and Go give a WebAssembly module (application/wasm, "\0asm") with the X-Runbox-* headers; the
# WASI modules run under node's WASI with stdin and give their output and exit code; a second
# identical compile comes from the compile cache; a compile error is a 422 with the compiler's
# message; a bad target, a language without a browser compile, a run-only field and a bad limit
# are 400s; a login is needed; a compile is never in the history; GET /code/languages has
# "browser" for every language. A course with "runner": {"type": "wasm"} shows its runner type
# (and an exercise's own), and its Run Tests runs on the server.
. "$(dirname "$0")/../lib.sh"

need_tools "runbox serve: compile for the browser" curl jq node

DATA=$TMP/data
# A course whose Run happens in the browser ("runner": {"type": "wasm"}); one exercise back in
# the sandbox by its exercise.json.
WC=$TMP/wasm-course
mkdir -p "$WC/exercises/add/tests" "$WC/exercises/sub/tests"
echo '{"name": "In the browser", "language": "python", "runner": {"type": "wasm"}}' >"$WC/course.json"
for ex in add sub; do
    op=$([ $ex = add ] && echo + || echo -)
    printf '# %s\n\nWrite f(a, b).\n' "$ex" >"$WC/exercises/$ex/README.md"
    printf 'def f(a, b):\n    return 0\n' >"$WC/exercises/$ex/calc.py"
    printf 'from calc import f\n\ndef test_f():\n    assert f(5, 3) == 5 %s 3\n' "$op" \
        >"$WC/exercises/$ex/tests/test_calc.py"
done
echo '{"runner": {"type": "sandbox"}}' >"$WC/exercises/sub/exercise.json"

"$RUNBOX" user add alice --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add alice" || diag "$(cat "$TMP/e")"
srv_start_or_end "the server starts" "$DATA" --workers 2 --cache-mb 64 --web "$TMP/no-page" --courses "$WC"

COMPILE=/api/v1/code/compile?target=wasm
# compile LANGUAGE CODE [JQ_UPDATE] [PATH]: POST a compile; the module (or error) in $R.
compile() {
    local body
    body=$(jq -nc --arg l "$1" --arg c "$2" "{language: \$l, code: \$c} | ${3:-.}")
    api POST "${4:-$COMPILE}" -H 'Content-Type: application/json' --data-binary "$body"
}

# The WASI runner: node's WASI preview1, stdin from the process, the module's exit code as ours.
cat >"$TMP/wasi.js" <<'EOF'
const { WASI } = require('node:wasi');
const fs = require('node:fs');
const wasi = new WASI({ version: 'preview1', args: ['main', ...process.argv.slice(3)], env: {},
                        returnOnExit: true });
(async () => {
  const mod = await WebAssembly.compile(fs.readFileSync(process.argv[2]));
  const inst = await WebAssembly.instantiate(mod, wasi.getImportObject());
  process.exitCode = wasi.start(inst);
})().catch((e) => { console.error(e); process.exitCode = 99; });
EOF
if node --no-warnings -e "require('node:wasi')" 2>/dev/null; then HAVE_WASI=1; else HAVE_WASI=0; fi

api POST "$COMPILE" -H 'Content-Type: application/json' --data-binary '{"language": "c", "code": "int main(void){return 0;}"}'
api_check "a compile needs a login" 401 '.error | type == "string"'
SRV_TOKEN=$(srv_login alice password123)
[ -n "$SRV_TOKEN" ]
tap $? "alice logs in"

# is_wasm NAME RUNTIME: the last answer is a module for RUNTIME with the headers.
is_wasm() {
    local name=$1 runtime=$2
    if [ "$CODE" = 200 ] && [ "$(head -c 4 "$R" | od -An -c | tr -d ' ')" = '\0asm' ] &&
        [ "$(srv_header Content-Type)" = application/wasm ] &&
        [ "$(srv_header X-Runbox-Wasm-Runtime)" = "$runtime" ] &&
        grep -Eq '^[0-9]+\.[0-9]+$' <<<"$(srv_header X-Runbox-Compile-Time)" &&
        grep -Eq '^(true|false)$' <<<"$(srv_header X-Runbox-Compile-Cached)" &&
        [ "$(srv_header Content-Length)" = "$(stat -c %s "$R")" ]; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "HTTP $CODE, headers: $(tr -d '\r' <"$R.hdr" | tr '\n' '|')"
        diag "body: $(head -c 600 "$R")"
        return 1
    fi
}

# wasi_run NAME MODULE STDIN WANT_OUTPUT WANT_RC [ARGS...]: run a module under node's WASI.
wasi_run() {
    local name=$1 mod=$2 in=$3 want=$4 want_rc=$5 got rc; shift 5
    if [ "$HAVE_WASI" != 1 ]; then
        skip "$name" "node has no node:wasi"
        return
    fi
    got=$(printf '%s' "$in" | node --no-warnings "$TMP/wasi.js" "$mod" "$@" 2>"$TMP/wasi.err")
    rc=$?
    [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]
    tap $? "$name" || diag "rc $rc (want $want_rc), output '$got' (want '$want'): $(cat "$TMP/wasi.err")"
}

C_CODE='#include <stdio.h>
#include <string.h>
#include <math.h>
int main(int argc, char **argv) {
    char line[128];
    if (!fgets(line, sizeof line, stdin)) return 1;
    line[strcspn(line, "\n")] = 0;
    printf("hello %s from C, sqrt %.1f, %d args\n", line, sqrt(16.0), argc - 1);
    return 3;
}'
compile c "$C_CODE"
is_wasm "C compiles to a WASI module" wasi && cp "$R" "$TMP/c.wasm"
[ "$(srv_header X-Runbox-Compile-Cached)" = false ]
tap $? "the first C compile is not cached"
wasi_run "the C module reads stdin, writes stdout and exits 3 under WASI" "$TMP/c.wasm" \
    $'wasm\n' 'hello wasm from C, sqrt 4.0, 2 args' 3 a b
compile c "$C_CODE"
is_wasm "the same C again" wasi
[ "$(srv_header X-Runbox-Compile-Cached)" = true ] && cmp -s "$R" "$TMP/c.wasm"
tap $? "comes from the compile cache, the same module"

CPP_CODE='#include <iostream>
#include <string>
#include <vector>
#include <algorithm>
int main() {
    std::string s;
    std::getline(std::cin, s);
    std::vector<char> v(s.begin(), s.end());
    std::sort(v.begin(), v.end());
    std::cout << "sorted " << std::string(v.begin(), v.end()) << std::endl;
    return 0;
}'
compile cpp "$CPP_CODE"
is_wasm "C++ compiles to a WASI module" wasi && cp "$R" "$TMP/cpp.wasm"
wasi_run "the C++ module sorts its stdin" "$TMP/cpp.wasm" $'runbox\n' 'sorted bnorux' 0

RS_CODE='use std::io::Read;
fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    let n: i64 = s.split_whitespace().map(|w| w.parse::<i64>().unwrap()).sum();
    println!("sum {}", n);
    std::process::exit(7);
}'
compile rust "$RS_CODE"
is_wasm "Rust compiles to a WASI module" wasi && cp "$R" "$TMP/rs.wasm"
wasi_run "the Rust module sums its stdin and exits 7" "$TMP/rs.wasm" '1 2 3 4' 'sum 10' 7

# A module's memory stops at 256 MiB (--max-memory): malloc fails rather than the tab growing.
BOMB='#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    static char *keep[4096];
    size_t n = 0;
    while (n < 4096 && (keep[n] = malloc(1 << 20)) != NULL)
        memset(keep[n++], 1, 1 << 20);
    printf("%s after %zu MiB\n", n < 4096 ? "malloc failed" : "no limit", n);
    return keep[0][7] == 1 ? 0 : 1;
}'
compile c "$BOMB"
is_wasm "a C memory bomb compiles" wasi && cp "$R" "$TMP/bomb.wasm"
if [ "$HAVE_WASI" = 1 ]; then
    # Its stdout only: node itself has been seen to abort on its way out after such a module
    # ("abort: Invalid bytecode" on stderr), which says nothing about the module's limit.
    got=$(node --no-warnings "$TMP/wasi.js" "$TMP/bomb.wasm" </dev/null 2>"$TMP/bomb.err")
    [[ "$got" =~ ^malloc\ failed\ after\ (2[0-9][0-9])\ MiB$ ]]
    tap $? "its malloc fails near 256 MiB (the module's maximum memory)" ||
        diag "got: $got; stderr: $(head -c 500 "$TMP/bomb.err")"
else
    skip "its malloc fails near 256 MiB (the module's maximum memory)" "node has no node:wasi"
fi

# Files instead of code, one of them base64.
compile c "" '.code = null | .files = [
    {name: "main.c", content: "#include \"lib.h\"\n#include <stdio.h>\nint main(void){printf(\"%d\\n\", twice(21));return 0;}\n"},
    {name: "lib.c", content: "I2luY2x1ZGUgImxpYi5oIgppbnQgdHdpY2UoaW50IHgpIHsgcmV0dXJuIDIgKiB4OyB9Cg==", encoding: "base64"},
    {name: "lib.h", content: "int twice(int x);\n", encoding: "utf8"}]'
is_wasm "C from several files (one base64) compiles" wasi && cp "$R" "$TMP/files.wasm"
wasi_run "and links them" "$TMP/files.wasm" '' '42' 0

GO_CODE='package main

import "fmt"

func main() { fmt.Println("hello from Go") }'
compile go "$GO_CODE"
is_wasm "Go compiles to a go-js module" go-js && cp "$R" "$TMP/go.wasm"
# Go's own wasm_exec.js (the file the language's "browser.support" names) under node.
GO_SUPPORT=$(jq -r '.browser.support // empty' "$ROOT/languages/go.json")
cat >"$TMP/go.js" <<'EOF'
globalThis.fs = require('node:fs');
require(process.argv[2]);
const go = new globalThis.Go();
WebAssembly.instantiate(require('node:fs').readFileSync(process.argv[3]), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => { console.error(e); process.exitCode = 99; });
EOF
if [ -f "$GO_SUPPORT" ] && [ -s "$TMP/go.wasm" ]; then
    got=$(node --no-warnings "$TMP/go.js" "$GO_SUPPORT" "$TMP/go.wasm" 2>&1)
    [ "$got" = "hello from Go" ]
    tap $? "the Go module runs with the support file wasm_exec.js (node)" || diag "got: $got"
else
    skip "the Go module runs with the support file wasm_exec.js (node)" "no '$GO_SUPPORT'"
fi

# ---- failures ----
compile c 'int main(void) { return undefined_thing; }'
api_check "a compile error is 422 with the compiler's message" 422 \
    '.error == "compilation failed" and .field == "code" and .status == "compile_error"
     and (.compile.error | test("undefined_thing")) and .compile.exit_code != 0
     and (.compile | has("execution_time"))'
compile c 'static char big[40 << 20] = {1};
int main(int argc, char **argv) { (void)argv; return big[argc * 1000000]; }'
api_check "a module over 32 MiB is a 422 output_limit" 422 \
    '.status == "output_limit" and (.error | test("32 MiB")) and .compile.status == "success"'
compile rust 'fn main() { let x: i32 = "no"; }'
api_check "a Rust type error is 422 too" 422 '.status == "compile_error" and (.compile.error | test("mismatched types"))'
compile c 'int main(void){return 0;}' . /api/v1/code/compile
api_check "no target is 400 naming target" 400 '.field == "target"'
compile c 'int main(void){return 0;}' . '/api/v1/code/compile?target=js'
api_check "another target is 400 naming target" 400 '.field == "target"'
compile python 'print(1)'
api_check "python (pyodide: no compile) is 400 naming the compiled languages" 400 \
    '.field == "language" and (.error | test("pyodide")) and (.error | test("c, cpp, go, rust"))'
compile java 'class Main {}'
api_check "java (no browser runtime) is 400" 400 '.field == "language" and (.error | test("rust"))'
compile nosuchlang 'x'
api_check "an unknown language is 400" 400 '.field == "language"'
compile c 'int main(void){return 0;}' '.stdin = "x"'
api_check "stdin is not for a compile" 400 '.field == "stdin"'
compile c 'int main(void){return 0;}' '.args = ["a"]'
api_check "args are not for a compile" 400 '.field == "args"'
compile c 'int main(void){return 0;}' '.limits = {memory_mb: 999999}'
api_check "limits are checked as for execute" 400 '.field == "limits.memory_mb"'
compile c 'int main(void){return 0;}' '.limits = {wall_time: 5}'
is_wasm "good limits are accepted" wasi
compile c '' '.code = null'
api_check "no code is 400" 400 '.field == "code"'
api POST "$COMPILE" -H 'Content-Type: application/json' --data-binary 'not json'
api_check "a body that is not JSON is 400" 400

# ---- not in the history; languages ----
api GET /api/v1/code/history
api_check "compiles are not in the history" 200 '.runs | length == 0'
api GET /api/v1/code/stats
api_check "nor counted as runs in the stats" 200 '.total == 0'
api GET /api/v1/code/languages
api_check "every language has \"browser\"" 200 '[.languages[] | has("browser")] | all'
api_check "c, cpp and rust are wasi, compiled" 200 \
    '[.languages[] | select(.name == "c" or .name == "cpp" or .name == "rust") | .browser
      | .runtime == "wasi" and .compiled == true] | length == 3 and all'
api_check "go is go-js, python pyodide (not compiled), java null" 200 \
    '(.languages[] | select(.name == "go") | .browser.runtime == "go-js")
     and (.languages[] | select(.name == "python") | .browser == {"runtime": "pyodide", "compiled": false, "available": true})
     and (.languages[] | select(.name == "java") | .browser == null)'

# ---- a wasm course ----
api GET /api/v1/courses
api_check "a course's runner type is shown (wasm)" 200 \
    '.courses[] | select(.id == "wasm-course") | .runner == {"type": "wasm"}'
api GET /api/v1/courses/wasm-course/exercises
api_check "each exercise has its runner type (the course's, or its own)" 200 \
    '[.exercises[] | {(.slug): .runner.type}] | add == {"add": "wasm", "sub": "sandbox"}'
api GET /api/v1/courses/wasm-course/exercises/add
api_check "one exercise shows its runner type" 200 '.runner.type == "wasm"'
api_json POST /api/v1/courses/wasm-course/exercises/add/test \
    '{"files": [{"name": "calc.py", "content": "def f(a, b):\n    return a + b\n"}]}'
api_check "Run Tests of a wasm course still runs on the server" 200 \
    '.status == "success" and .tests.passed == 1'

srv_stop
tap "$([ "$SRV_RC" = 0 ] && echo 0 || echo 1)" "the server stops cleanly (rc $SRV_RC)" ||
    diag "$(tail -20 "$TMP/srv.err")"
done_testing
