#!/usr/bin/env bash
# Piston v2 compatibility (/api/v2/): runtimes, execute (interpreted and compiled languages,
# encodings, stdin and args, each status, limits and their maxima, errors), packages, the
# anonymous user of the config, and the WebSocket /api/v2/connect with its close codes.
. "$(dirname "$0")/../lib.sh"

need_tools "Piston compatibility" curl jq python3
WSPY=$(ws_python)

DATA=$TMP/data
"$RUNBOX" user add admin --admin --password-stdin --data "$DATA" <<<'password123' >/dev/null 2>"$TMP/e"
tap $? "user add makes an admin" || diag "$(cat "$TMP/e")"
"$RUNBOX" user add anon --password-stdin --data "$DATA" <<<'anonpassword1' >/dev/null 2>"$TMP/e"
tap $? "user add makes the anonymous user" || diag "$(cat "$TMP/e")"
cat >"$TMP/cfg.json" <<EOF
{"server": {"max_wall_time": 20, "max_cpu_time": 10, "max_memory_mb": 512,
            "piston_anonymous_user": "anon"}
}
EOF
srv_start_or_end "the server starts with piston_anonymous_user" "$DATA" --config "$TMP/cfg.json" --workers 2
ADMIN=$(srv_login admin password123)
ANON=$(srv_login anon anonpassword1)
SRV_TOKEN=$ADMIN

# px JSON: POST /api/v2/execute with the admin's token.
px() { api_json POST /api/v2/execute "$1"; }
b64() { printf '%s' "$1" | base64 -w0; }
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# ---- runtimes and packages ----
api GET /api/v2/runtimes
api_check "runtimes: [{language, version (X.Y.Z), aliases}]" 200 \
    'type == "array" and length > 0 and all(.[]; (.language | type == "string")
     and (.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+$")) and (.aliases | type == "array"))'
api_check "runtimes: python with its alias py" 200 'any(.[]; .language == "python" and (.aliases | index("py")))'
api_check "runtimes: Piston's names and aliases (c++ from gcc, py3, node-js, node-ts), not runbox's cpp" 200 \
    'any(.[]; .language == "c++" and .runtime == "gcc" and .aliases == ["cpp", "g++"])
     and any(.[]; .language == "python" and (.aliases | index("py3")))
     and any(.[]; .language == "javascript" and .runtime == "node" and (.aliases | index("node-js")))
     and any(.[]; .language == "typescript" and (.aliases | index("node-ts")))
     and all(.[]; .language != "cpp")'
PYV=$(jq -r '[.[] | select(.language == "python")][0].version' "$R") # the default (variants follow)
PYMAJOR=${PYV%%.*}
api GET /api/v2/packages
api_check "packages: the runtimes, installed" 200 \
    'length > 0 and all(.[]; .installed == true and (.language_version | type == "string"))'
api_json POST /api/v2/packages '{"language": "python", "version": "3.12.0"}'
api_check "packages: installing is not runbox's way (501, message)" 501 '.message | test("languages/")'
api_json DELETE /api/v2/packages '{"language": "python", "version": "3.12.0"}'
api_check "packages: nor is uninstalling (501)" 501 '.message | type == "string"'

# ---- execute ----
px "$(jq -nc '{language: "python", version: "*", files: [{content: "import sys, time\nprint(1, flush=True)\ntime.sleep(0.3)\nprint(2, file=sys.stderr, flush=True)\ntime.sleep(0.3)\nprint(3)\n"}]}')"
api_check "execute python: {language, version, run} without compile" 200 \
    ".language == \"python\" and .version == \"$PYV\" and (has(\"compile\") | not)"
api_check "execute python: stdout, stderr, code 0, status and signal null" 200 \
    '.run.stdout == "1\n3\n" and .run.stderr == "2\n" and .run.code == 0 and .run.status == null and .run.signal == null'
# Two pipes: the order is the order of the reads, hence the pauses.
api_check "execute python: output interleaves stdout and stderr in order" 200 '.run.output == "1\n2\n3\n"'
api_check "execute python: cpu_time, wall_time (ms) and memory (bytes) are numbers" 200 \
    '(.run.cpu_time | type == "number") and .run.wall_time > 0 and .run.memory > 0 and (.run | has("message"))'

px "$(jq -nc '{language: "c", version: "*", files: [{name: "main.c", content: "#include <stdio.h>\nint main(void){puts(\"hi from c\");return 0;}\n"}]}')"
api_check "execute c: compile and run stages" 200 \
    '.compile.code == 0 and .compile.status == null and .run.stdout == "hi from c\n" and .run.code == 0'

px "$(jq -nc --arg v "$PYMAJOR.x" '{language: "py", version: $v, files: [{content: "print(2)"}]}')"
api_check "execute: an alias and a \"N.x\" version selector" 200 '.language == "python" and .run.stdout == "2\n"'

main=$(b64 'import helper
print(helper.greet("b64"))
')
mod=$(hex 'def greet(w):
    return "hello " + w + " via hex"
')
px "$(jq -nc --arg m "$main" --arg h "$mod" '{language: "python", version: "*", files: [{name: "main.py", content: $m, encoding: "base64"}, {name: "helper.py", content: $h, encoding: "hex"}, {name: "notes.txt", content: "utf8"}]}')"
api_check "execute: a base64 main file importing a hex-encoded module" 200 '.run.stdout == "hello b64 via hex\n"'
px '{"language": "python", "version": "*", "files": [{"content": "print(1)"}, {"name": "x", "content": "zz", "encoding": "hex"}]}'
api_check "execute: bad hex is a 400 message" 400 '.message | test("hex")'
px '{"language": "python", "version": "*", "files": [{"content": "1", "encoding": "rot13"}]}'
api_check "execute: only files of other encodings: Piston's message" 400 '.message == "files must include at least one utf8 encoded file"'
px '{"language": "python", "version": "*", "files": [{"content": "print(\"as utf8\")"}, {"name": "x.txt", "content": "1", "encoding": "rot13"}]}'
api_check "execute: an unknown encoding is read as utf8, as Piston does" 200 '.run.stdout == "as utf8\n"'

px "$(jq -nc '{language: "python", version: "*", stdin: "Ada\n", args: ["x", "y z"], files: [{content: "import sys\nprint(input(), sys.argv[1:])"}]}')"
api_check "execute: stdin and args reach the program" 200 '.run.stdout == "Ada [\u0027x\u0027, \u0027y z\u0027]\n"'

px "$(jq -nc '{language: "c", version: "*", files: [{content: "int main(void) { return }"}]}')"
api_check "compile error: compile fails (RE) and run is the compile result" 200 \
    '.compile.status == "RE" and .compile.code != 0 and (.compile.stderr | test("error")) and .run == .compile'

# ---- statuses ----
px "$(jq -nc '{language: "python", version: "*", files: [{content: "import sys\nprint(\"x\")\nsys.exit(3)"}]}')"
api_check "status RE: a non-zero exit" 200 '.run.status == "RE" and .run.code == 3 and .run.signal == null and (.run.message | type == "string")'
px "$(jq -nc '{language: "python", version: "*", files: [{content: "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"}]}')"
api_check "status SG: killed by a signal, code null, signal named" 200 '.run.status == "SG" and .run.code == null and .run.signal == "SIGSEGV"'
px "$(jq -nc '{language: "python", version: "*", run_timeout: 700, files: [{content: "import time\ntime.sleep(10)"}]}')"
api_check "status TO: run_timeout (wall), SIGKILL" 200 '.run.status == "TO" and .run.signal == "SIGKILL" and .run.wall_time < 5000'
px "$(jq -nc '{language: "python", version: "*", run_cpu_time: 400, files: [{content: "while True: pass"}]}')"
api_check "status TO: run_cpu_time (CPU)" 200 '.run.status == "TO" and .run.cpu_time >= 300 and .run.cpu_time < 3000'
px "$(jq -nc '{language: "python", version: "*", files: [{content: "import sys\nsys.stderr.write(\"e\")\nsys.stdout.write(\"o\" * 1200000)"}]}')"
api_check "status OL: stdout over the output limit" 200 '.run.status == "OL" and .run.signal == "SIGKILL" and .run.stderr == "e"'
px "$(jq -nc '{language: "python", version: "*", files: [{content: "import sys\nprint(\"o\")\nsys.stderr.write(\"e\" * 1200000)"}]}')"
api_check "status EL: stderr over the output limit" 200 '.run.status == "EL" and .run.signal == "SIGKILL"'
px "$(jq -nc '{language: "python", version: "*", run_memory_limit: 134217728, files: [{content: "x = bytearray(512 * 1024 * 1024)\nprint(len(x))"}]}')"
api_check "run_memory_limit: over it the program is killed (SG, SIGKILL)" 200 \
    '.run.status == "SG" and .run.signal == "SIGKILL" and .run.stdout == "" and (.run.message | test("[Mm]emory"))'
px "$(jq -nc '{language: "python", version: "*", run_memory_limit: -1, files: [{content: "print(\"ok\")"}]}')"
api_check "run_memory_limit -1: the default" 200 '.run.stdout == "ok\n"'
# A source of its own: the compile cache would answer a compile it has seen.
px "$(jq -nc --arg c "int main(void){return 0;} /* $$-$RANDOM */" '{language: "c", version: "*", compile_cpu_time: 1, files: [{content: $c}]}')"
api_check "compile_cpu_time reaches the compile stage (TO), run is the compile" 200 \
    '.compile.status == "TO" and .run == .compile'
px "$(jq -nc '{language: "c", version: "*", compile_timeout: 15000, compile_memory_limit: 268435456, files: [{content: "int main(void){return 0;}"}]}')"
api_check "compile limits under the language's are taken" 200 '.compile.code == 0 and .run.code == 0'

# ---- errors ----
px '{"language": "nosuchlang", "version": "*", "files": [{"content": "x"}]}'
api_check "unknown language: 400 \"<language>-<version> runtime is unknown\"" 400 '.message == "nosuchlang-* runtime is unknown"'
px '{"language": "python", "version": "1.2.3", "files": [{"content": "x"}]}'
api_check "unknown version: 400 runtime is unknown" 400 '.message == "python-1.2.3 runtime is unknown"'
px '{"language": "python", "files": [{"content": "x"}]}'
api_check "version is required" 400 '.message == "version is required as a string"'
px '{"language": "python", "version": "*"}'
api_check "files is required" 400 '.message == "files is required as an array"'
px '{"language": "python", "version": "*", "files": []}'
api_check "no file to run: Piston's message" 400 '.message == "files must include at least one utf8 encoded file"'
px '{"language": "python", "version": "*", "args": [1, 2.5], "run_timeout": 0, "files": [{"content": "import sys\nprint(sys.argv[1:])"}]}'
api_check "numeric args are run as their text; a run_timeout of 0 is no limit given (Piston)" 200 '.run.stdout == "[\u00271\u0027, \u00272.5\u0027]\n"'
px '{"language": "python", "version": "*", "args": [{}], "files": [{"content": "x"}]}'
api_check "an object among args: 400 naming it" 400 '.message == "args[0] must be a string, a number or a boolean"'
px '{"language": "python", "version": "*", "run_timeout": -3, "files": [{"content": "x"}]}'
api_check "a negative limit: Piston's message" 400 '.message == "run_timeout must be non-negative"'
px '{"language": "c++", "version": "*", "files": [{"content": "#include <cstdio>\nint main(){std::puts(\"cxx\");}"}]}'
api_check "execute c++ (Piston's name): answered as c++" 200 '.language == "c++" and .run.stdout == "cxx\n"'
px '{"language": "python", "version": "*", "run_timeout": 25000, "files": [{"content": "x"}]}'
api_check "run_timeout over max_wall_time: Piston's message" 400 '.message == "run_timeout cannot exceed the configured limit of 20000"'
px '{"language": "python", "version": "*", "run_cpu_time": 10001, "files": [{"content": "x"}]}'
api_check "run_cpu_time over max_cpu_time" 400 '.message == "run_cpu_time cannot exceed the configured limit of 10000"'
px '{"language": "python", "version": "*", "run_memory_limit": 1073741824, "files": [{"content": "x"}]}'
api_check "run_memory_limit over max_memory_mb" 400 '.message == "run_memory_limit cannot exceed the configured limit of 536870912"'
px '{"language": "c", "version": "*", "compile_timeout": 99999999, "files": [{"content": "x"}]}'
api_check "compile_timeout over the language's compile limit" 400 '.message | test("^compile_timeout cannot exceed the configured limit of [0-9]+$")'
px '{"language": "python", "version": "*", "run_timeout": "soon", "files": [{"content": "x"}]}'
api_check "a limit that is not a number" 400 '.message == "If specified, run_timeout must be a number"'
api POST /api/v2/execute -H 'Content-Type: application/x-www-form-urlencoded' --data-binary '{"language": "python", "version": "*", "files": [{"content": "x"}]}'
api_check "415 for a body that is not application/json" 415 '.message | test("application/json")'
api POST /api/v2/execute -H 'Content-Type: text/plain' -H 'Origin: http://elsewhere.example' --data-binary '{"language": "python", "version": "*", "files": [{"content": "x"}]}'
api_check "415 for text/plain from a browser page (Origin)" 415 '.message | test("application/json")'
api POST /api/v2/execute -H 'Content-Type: text/plain;charset=UTF-8' --data-binary '{"language": "python", "version": "*", "files": [{"content": "print(\"plain\")"}]}'
api_check "text/plain JSON from a client that is not a browser (piston-client's node-fetch) runs" 200 '.run.stdout == "plain\n"'
api_json POST /api/v1/code/execute '{"language": "c", "code": "int main(void){return 0;}", "compile_limits": {"wall_time": 9999}}'
api_check "runbox's own execute refuses compile_limits over the language's" 400 '.field == "compile_limits.wall_time"'

# ---- who runs: runbox's auth, or the anonymous user of the config ----
SRV_TOKEN=""
px "$(jq -nc '{language: "python", version: "*", files: [{content: "print(\"anonymous\")"}]}')"
api_check "no Authorization: runs as piston_anonymous_user" 200 '.run.stdout == "anonymous\n"'
api POST /api/v2/execute -H 'Authorization: Bearer rbk_nonsense' -H 'Content-Type: application/json' --data-binary '{}'
api_check "a bad token is refused (401, message)" 401 '.message | type == "string"'
SRV_TOKEN=$ANON
api GET "/api/v1/code/history?limit=50"
api_check "the anonymous run is in that user's runbox history" 200 \
    '[.. | objects | select(.language? == "python")] | length >= 1'
SRV_TOKEN=$ADMIN
api GET /metrics
grep -q 'python' "$R"
tap $? "Piston runs are counted in runbox's metrics" || diag "$(head -c 600 "$R")"

# ---- the WebSocket ----
cat >"$TMP/pws.py" <<'PY'
# pws.py URL TOKEN MODE OUT: drive /api/v2/connect; each message received goes to OUT as a JSON
# line, then {"type": "closed", "code"}.
import asyncio, json, sys, time
import websockets

url, token, mode, out = sys.argv[1:5]
DIALOG = 'a = input("name? ")\nprint("hi", a, flush=True)\nb = input("again? ")\nprint("bye", b)\n'
SLEEPER = 'import time\nprint("started", flush=True)\ntime.sleep(30)\n'

def init(code, language="python", **kw):
    m = {"type": "init", "language": language, "version": "*", "files": [{"content": code}]}
    m.update(kw)
    return json.dumps(m)

async def main():
    log = open(out, "w")
    headers = {"Authorization": "Bearer " + token} if token != "-" else {}
    ws = await websockets.connect(url, extra_headers=headers, open_timeout=10)
    t0 = time.monotonic()
    if mode == "dialog":
        await ws.send(init(DIALOG, stdin="ignored\n"))
    elif mode == "c":
        await ws.send(init('#include <stdio.h>\nint main(void){puts("c ws");return 4;}\n', "c"))
    elif mode == "cxx":
        await ws.send(json.dumps({"type": "hello"}))  # Piston ignores a type it does not know
        await ws.send(init('#include <cstdio>\nint main(){std::puts("cxx ws");}\n', "cpp"))
    elif mode == "twice":
        await ws.send(init(SLEEPER))
        await ws.send(init(SLEEPER))
    elif mode == "early":
        await ws.send(json.dumps({"type": "data", "stream": "stdin", "data": "x\n"}))
    elif mode in ("stdout", "badsig", "kill"):
        await ws.send(init(SLEEPER))
    elif mode == "badinit":
        await ws.send(init("print(1)", "nosuchlang"))
    stdout = ""
    try:
        async for raw in ws:
            m = json.loads(raw)
            log.write(json.dumps(m) + "\n")
            log.flush()
            if m.get("type") == "data" and m.get("stream") == "stdout":
                stdout += m["data"]
                if mode == "dialog" and stdout == "name? ":
                    await ws.send(json.dumps({"type": "data", "stream": "stdin", "data": "Ada\n"}))
                if mode == "dialog" and stdout.endswith("again? "):
                    await ws.send(json.dumps({"type": "data", "stream": "stdin", "data": "Bob\n"}))
                if "started" in stdout and mode == "stdout":
                    await ws.send(json.dumps({"type": "data", "stream": "stdout", "data": "x"}))
                if "started" in stdout and mode == "badsig":
                    await ws.send(json.dumps({"type": "signal", "signal": "SIGNOPE"}))
                if "started" in stdout and mode == "kill":
                    await ws.send(json.dumps({"type": "signal", "signal": "SIGKILL"}))
    except websockets.exceptions.ConnectionClosed:
        pass
    log.write(json.dumps({"type": "closed", "code": ws.close_code, "reason": ws.close_reason,
                          "after": round(time.monotonic() - t0, 2)}) + "\n")

asyncio.run(asyncio.wait_for(main(), 60))
PY
WS_URL="ws://${SRV_URL#http://}/api/v2/connect"
pws() { timeout 90 "$WSPY" "$TMP/pws.py" "$WS_URL" "${3:-$ADMIN}" "$1" "$2" 2>"$2.err"; }
wsq() { jq -se "$2" "$1" >/dev/null 2>&1; }

if [ -z "$WSPY" ]; then
    skip "the Piston WebSocket" "python3 has no websockets module (python3-websockets)"
else
    f=$TMP/dialog.jsonl
    pws dialog "$f"
    wsq "$f" ".[0].type == \"runtime\" and .[0].language == \"python\" and .[0].version == \"$PYV\""
    tap $? "WS: init answers runtime {language, version} first" || diag "$(head -c 1500 "$f" "$f.err")"
    wsq "$f" '[.[] | select(.type == "stage")] == [{"type": "stage", "stage": "run"}]'
    tap $? "WS: a stage message for the run" || diag "$(head -c 1500 "$f")"
    wsq "$f" '[.[] | select(.type == "data") | .data] | add == "name? hi Ada\nagain? bye Bob\n"'
    tap $? "WS: data messages carry stdin to input() and stdout back" || diag "$(head -c 2000 "$f")"
    wsq "$f" '[.[] | select(.type == "exit")] == [{"type": "exit", "stage": "run", "code": 0, "signal": null}]'
    tap $? "WS: exit {stage, code, signal}" || diag "$(head -c 2000 "$f")"
    wsq "$f" '.[-1].code == 4999 and .[-2].type == "exit"'
    tap $? "WS: closed with 4999 after the exit" || diag "$(tail -c 600 "$f")"

    f=$TMP/c.jsonl
    pws c "$f"
    wsq "$f" '[.[] | select(.type == "stage" or .type == "exit") | [.type, .stage, .code]]
              == [["stage", "compile", null], ["exit", "compile", 0], ["stage", "run", null], ["exit", "run", 4]]'
    tap $? "WS: a compiled language: compile stage and exit, then run stage and exit" || diag "$(head -c 2000 "$f")"
    wsq "$f" '([.[] | select(.type == "data") | .data] | add) == "c ws\n" and .[-1].code == 4999'
    tap $? "WS: its output, then 4999" || diag "$(head -c 2000 "$f")"

    f=$TMP/cxx.jsonl
    pws cxx "$f"
    wsq "$f" '.[0] == {"type": "runtime", "language": "c++", "version": .[0].version} and
              ([.[] | select(.type == "data") | .data] | add) == "cxx ws\n" and .[-1].code == 4999'
    tap $? "WS: runtime names Piston's c++; an unknown message type is ignored" || diag "$(head -c 2000 "$f")"

    f=$TMP/twice.jsonl
    pws twice "$f"
    wsq "$f" '.[-1].code == 4000'
    tap $? "WS: a second init closes with 4000" || diag "$(head -c 1500 "$f")"
    f=$TMP/noinit.jsonl
    pws noinit "$f"
    wsq "$f" '.[-1].code == 4001 and .[-1].after >= 0.9 and .[-1].after < 5'
    tap $? "WS: no init within a second closes with 4001" || diag "$(head -c 1500 "$f")"
    f=$TMP/early.jsonl
    pws early "$f"
    wsq "$f" '.[-1].code == 4003 and .[-1].reason == "Not yet initialized"'
    tap $? "WS: data before init closes with 4003 (Piston's reason)" || diag "$(head -c 1500 "$f")"
    f=$TMP/stdout.jsonl
    pws stdout "$f"
    wsq "$f" '.[-1].code == 4004'
    tap $? "WS: writing to stdout closes with 4004" || diag "$(head -c 1500 "$f")"
    f=$TMP/badsig.jsonl
    pws badsig "$f"
    wsq "$f" '.[-1].code == 4005 and .[-1].reason == "Invalid signal"'
    tap $? "WS: an unknown signal closes with 4005 (Piston's reason)" || diag "$(head -c 1500 "$f")"
    f=$TMP/badinit.jsonl
    pws badinit "$f"
    wsq "$f" '.[0].type == "error" and .[0].message == "nosuchlang-* runtime is unknown" and .[-1].code == 4002'
    tap $? "WS: a refused init sends error {message} and closes with 4002" || diag "$(head -c 1500 "$f")"
    f=$TMP/kill.jsonl
    pws kill "$f"
    wsq "$f" '[.[] | select(.type == "exit")] == [{"type": "exit", "stage": "run", "code": null, "signal": "SIGKILL"}]
              and .[-1].code == 4999 and .[-1].after < 15'
    tap $? "WS: signal SIGKILL kills the running program (exit signal SIGKILL, 4999)" || diag "$(head -c 1500 "$f")"
    f=$TMP/anon.jsonl
    pws dialog "$f" -
    wsq "$f" '.[0].type == "runtime" and .[-1].code == 4999'
    tap $? "WS: without Authorization, the anonymous user" || diag "$(head -c 1500 "$f" "$f.err")"
fi

srv_stop
[ "$SRV_RC" = 0 ]
tap $? "the server stops cleanly" || diag "exit $SRV_RC: $(grep -A12 -E 'leak of|ERROR: |runtime error' "$TMP/srv.err" | head -60)"
done_testing
