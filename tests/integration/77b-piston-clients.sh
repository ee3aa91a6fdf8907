#!/usr/bin/env bash
# Piston's clients against runbox's /api/v2/, unmodified:
# 1. a replay of Piston's own CLI (engineer-man/piston cli/, `piston run LANG FILE [args..]
#    [-l VERSION] [-i]`) running package tests the way Piston's CI does (`run <runtime from the
#    test file's name> -l <version> /pkg/test.<runtime>`, then grep OK): the requests it sends
#    (axios, Content-Type application/json: {language, version, files: [{name, content,
#    encoding}], args as yargs parsed them (numbers stay numbers), stdin read whole, compile_timeout
#    10000, run_timeout 3000}) and the fields it prints (compile and run: stdout, stderr, code,
#    signal). The test programs are ours, written in the spirit of Piston's packages/*/test.*.
# 2. piston-client from npm (web/package.json pins it), run by tests/clients/piston-client.mjs.
. "$(dirname "$0")/../lib.sh"

need_tools "Piston's clients" curl jq

srv_start_or_end "the server starts (--no-auth, as a local Piston)" "$TMP/data" --no-auth --workers 2
SRV_TOKEN=""

api GET /api/v2/runtimes
cp "$R" "$TMP/runtimes.json"
has() { jq -e --arg l "$1" 'any(.[]; .language == $l)' "$TMP/runtimes.json" >/dev/null; }

# cli_run NAME RUNTIME FILE ARGS_JSON STDIN JQ: what `piston run RUNTIME FILE ARGS.. [-i]` sends,
# and a check of the answer as the CLI reads it.
cli_run() {
    local name=$1 runtime=$2 file=$3 args=$4 stdin=$5 filter=$6
    local body
    body=$(jq -n --arg l "$runtime" --arg n "$(basename "$file")" --rawfile c "$file" \
        --argjson a "$args" --arg i "$stdin" \
        '{language: $l, version: "*", files: [{name: $n, content: $c, encoding: "utf8"}],
          args: $a, stdin: $i, compile_timeout: 10000, run_timeout: 3000}')
    api_json POST /api/v2/execute "$body"
    api_check "$name" 200 "$filter"
}

P=$TMP/pkg
mkdir -p "$P"
printf 'ok = True\n\nmatch ok:\n    case True:\n        print("OK")\n    case _:\n        print("no")\n' >"$P/test.py"
printf '#include <stdio.h>\n\nint main(void) {\n    printf("OK");\n    return 0;\n}\n' >"$P/test.c"
printf '#include <iostream>\n\nint main() {\n    std::cout << "OK";\n    return 0;\n}\n' >"$P/test.cpp"
printf 'public class HelloWorld {\n    public static void main(String[] args) {\n        System.out.println("OK");\n    }\n}\n' >"$P/test.java"
printf "console.log('OK');\n" >"$P/test.js"
printf "const ok: string = 'OK';\nconsole.log(ok);\n" >"$P/test.ts"
printf 'fn main() {\n    println!("OK");\n}\n' >"$P/test.rs"
printf 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("OK")\n}\n' >"$P/test.go"
printf 'echo "OK"\n' >"$P/test.bash.sh"

# ---- Piston's CI: each package test, its runtime named by the file (test.<runtime>[.ext]) ----
declare -A LANG_OF=([py]=python [c]=c [cpp]=c++ [java]=java [js]=javascript [ts]=typescript
    [rs]=rust [go]=go [bash]=bash)
for f in test.py test.c test.cpp test.java test.js test.ts test.rs test.go test.bash.sh; do
    rt=$(awk -F. '{print $2}' <<<"$f")
    if ! has "${LANG_OF[$rt]}"; then
        skip "CLI: piston run $rt $f prints OK" "${LANG_OF[$rt]} is not installed here"
        continue
    fi
    cli_run "CLI: piston run $rt $f prints OK (as ${LANG_OF[$rt]})" "$rt" "$P/$f" '[]' '' \
        "(.run.stdout | contains(\"OK\")) and .run.code == 0 and .language == \"${LANG_OF[$rt]}\""
done

# ---- the CLI's arguments and stdin ----
printf 'import sys\nprint(sys.argv[1:])\n' >"$P/args.py"
cli_run "CLI: piston run py args.py 1 2.5 x: yargs' numbers run as their text" py "$P/args.py" \
    '[1, 2.5, "x"]' '' '.run.stdout == "[\u00271\u0027, \u00272.5\u0027, \u0027x\u0027]\n"'
printf 'import sys\nprint(repr(sys.stdin.read()))\n' >"$P/stdin.py"
cli_run "CLI: -i with stdin lacking a final newline: Piston adds one" py "$P/stdin.py" '[]' \
    $'a\nb' '.run.stdout == "\u0027a\\nb\\n\u0027\n"'
if has bash; then
    printf 'n=0\nwhile read -r line; do n=$((n + 1)); done\necho "$n lines"\n' >"$P/lines.bash.sh"
    cli_run "CLI: a bash read loop sees the last line of stdin" bash "$P/lines.bash.sh" '[]' \
        $'1\n2\n3' '.run.stdout == "3 lines\n"'
fi
printf '#include <stdio.h>\nint main(int argc, char **argv) {\n    for (int i = 1; i < argc; i++) printf("[%%s]", argv[i]);\n    puts("");\n}\n' >"$P/args.c"
cli_run "CLI: piston run c args.c 7 -1.5 1e21: numbers as JavaScript writes them" c "$P/args.c" \
    '[7, -1.5, 1e21]' '' '.run.stdout == "[7][-1.5][1e+21]\n"'

# ---- Java: any class name, any file name ----
if has java; then
    mkdir -p "$P/j1" "$P/j2"
    printf 'class Hello {\n    public static void main(String[] args) {\n        System.out.println("Hello " + args.length);\n    }\n}\n' >"$P/j1/Main.java"
    cli_run "CLI: Java, class Hello in Main.java" java "$P/j1/Main.java" '[1, 2]' '' '.run.stdout == "Hello 2\n"'
    printf '// public class NotThis\nimport java.util.Scanner;\n\nclass Helper {\n    static String s = "class Nope {";\n}\n\npublic final class Greeter {\n    public static void main(String[] args) {\n        System.out.println(new Scanner(System.in).nextLine() + Helper.s.length());\n    }\n}\n' >"$P/j2/prog.java"
    cli_run "CLI: Java, a public class after a helper class, in prog.java, reading stdin" java \
        "$P/j2/prog.java" '[]' 'x' '.run.stdout == "x12\n" and .compile.code == 0'
fi

# ---- what the CLI prints from an answer: compile, run, code, signal ----
if has c++; then
    printf 'int main() { return }\n' >"$P/broken.cpp"
    cli_run "CLI: a compile error: compile {stderr, code}, run the same" cpp "$P/broken.cpp" '[]' '' \
        '(.compile.stderr | test("error")) and .compile.code == 1 and .compile.status == "RE" and .run == .compile'
fi
printf 'import os, signal\nprint("before", flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n' >"$P/kill.py"
cli_run "CLI: a signal: run.signal SIGKILL, code null, status SG" python3 "$P/kill.py" '[]' '' \
    '.run.signal == "SIGKILL" and .run.code == null and .run.stdout == "before\n" and .run.message == "Caught fatal signal 9"'

# ---- the CI's listing: GET /api/v2/packages, then test.* of packages/<language>/<version> ----
api GET /api/v2/packages
api_check "packages: one entry per package and version (gcc once for c and c++), language_version X.Y.Z" 200 \
    '([.[] | [.language, .language_version]] | length == (unique | length)) and ([.[] | select(.language == "gcc")] | length == 1) and all(.[]; .language_version | test("^[0-9]+\\.[0-9]+\\.[0-9]+$"))
     and (any(.[]; .language == "c++") | not)'

# ---- piston-client (npm) ----
NODE_OK=""
if command -v node >/dev/null && [ -f "$ROOT/web/node_modules/piston-client/package.json" ]; then
    NODE_OK=1
fi
if [ -z "$NODE_OK" ]; then
    skip "piston-client (npm)" "needs node and web/node_modules/piston-client (cd web && npm ci)"
else
    PISTON_URL=$SRV_URL timeout 300 node "$ROOT/tests/clients/piston-client.mjs" >"$TMP/pc.out" 2>"$TMP/pc.err"
    rc=$?
    while IFS=$'\t' read -r kind name detail; do
        case $kind in
            PASS) tap 0 "piston-client: $name" ;;
            FAIL) tap 1 "piston-client: $name"; diag "got: $detail" ;;
            SKIP) skip "piston-client: $name" "$detail" ;;
        esac
    done <"$TMP/pc.out"
    [ "$rc" = 0 ] && [ -s "$TMP/pc.out" ]
    tap $? "piston-client: the script ran to its end" || diag "exit $rc: $(head -c 1500 "$TMP/pc.err")"
fi

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server stops cleanly" || diag "exit $SRV_RC: $(grep -A12 -E 'leak of|ERROR: |runtime error' "$TMP/srv.err" | head -60)"
done_testing
