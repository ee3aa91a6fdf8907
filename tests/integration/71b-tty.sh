#!/usr/bin/env bash
# Terminal runs (issue 20): a pseudo-terminal in the box over the interactive WebSocket
# ("tty" in the run message, "resize"), the CLI's -it, and the wall clock that stops while the
# program waits for a person's input (with an idle limit instead). Also: a NUL byte in the
# output reaches the live stream.
. "$(dirname "$0")/../lib.sh"

need_tools "terminal runs" curl jq python3
WSPY=$(ws_python)

# ---- the CLI: runbox run -it / exec -t, driven through a pseudo-terminal of our own ----
cat >"$TMP/drive.py" <<'PY'
# drive.py OUT STEPS_JSON CMD...: run CMD on a terminal; STEPS: [[after_text, delay_s, keys]]
# (keys typed delay_s after after_text was seen); writes {"out", "rc"} to OUT.
import json, os, pty, select, sys, time
out_path, steps = sys.argv[1], json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
out, t0 = b"", time.time()
while time.time() - t0 < 30:
    if steps and steps[0][0].encode() in out:
        _, delay, keys = steps.pop(0)
        time.sleep(delay)
        os.write(fd, keys.encode())
    if select.select([fd], [], [], 0.05)[0]:
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
_, st = os.waitpid(pid, 0)
json.dump({"out": out.decode("utf-8", "replace"), "rc": os.waitstatus_to_exitcode(st)}, open(out_path, "w"))
PY
drive() { local out=$1 steps=$2; shift 2; timeout 60 python3 "$TMP/drive.py" "$out" "$steps" "$@"; }

cat >"$TMP/name.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    char name[64];
    printf("Name? ");
    if (scanf("%63s", name) != 1)
        return 3;
    printf("Hi %s, tty %d\n", name, isatty(1));
    return 0;
}
C
drive "$TMP/c.json" '[["Name? ", 0.3, "Bob\r"]]' "$RUNBOX" run -it "$TMP/name.c"
jq -e '.rc == 0 and (.out | test("Name\\? Bob\\r\\nHi Bob, tty 1\\r\\n"))' "$TMP/c.json" >/dev/null
tap $? "run -it: a C prompt without a newline shows before the input, isatty(1) is true" || diag "$(cat "$TMP/c.json")"

printf 'import time\nprint("looping", flush=True)\nwhile True:\n    time.sleep(0.01)\n' >"$TMP/loop.py"
drive "$TMP/int.json" '[["looping", 0.3, "\u0003"]]' "$RUNBOX" run -it "$TMP/loop.py"
jq -e '.rc == 130 and (.out | test("KeyboardInterrupt"))' "$TMP/int.json" >/dev/null
tap $? "run -it: Ctrl+C reaches the program as SIGINT (Python's KeyboardInterrupt)" || diag "$(cat "$TMP/int.json")"

printf 'name = input("Name? ")\nprint("Hi", name)\n' >"$TMP/slow.py"
drive "$TMP/slow.json" '[["Name? ", 2.5, "Ada\r"]]' "$RUNBOX" run -it --wall 1 "$TMP/slow.py"
jq -e '.rc == 0 and (.out | test("Hi Ada"))' "$TMP/slow.json" >/dev/null
tap $? "run -it --wall 1: 2.5 s spent waiting for the typist is not wall time" || diag "$(cat "$TMP/slow.json")"

printf 'import time\ntime.sleep(3)\nprint("slept")\n' >"$TMP/sleep.py"
drive "$TMP/sleep.json" '[]' "$RUNBOX" run -it --wall 1 "$TMP/sleep.py"
jq -e '.rc == 124 and (.out | test("slept") | not)' "$TMP/sleep.json" >/dev/null
tap $? "run -it --wall 1: a sleep is not a wait for input: time limit" || diag "$(cat "$TMP/sleep.json")"

drive "$TMP/stty.json" '[]' "$RUNBOX" exec -t -- /bin/sh -c 'test -t 0 && test -t 1 && test -t 2 && echo all-ttys; cat /dev/tty </dev/null >/dev/null; echo tty-opens=$?'
jq -e '.rc == 0 and (.out | test("all-ttys")) and (.out | test("tty-opens=0"))' "$TMP/stty.json" >/dev/null
tap $? "exec -t: stdin, stdout and stderr are the terminal, /dev/tty opens" || diag "$(cat "$TMP/stty.json")"

out=$(printf 'abc\n' | "$RUNBOX" exec -t -- /bin/sh -c 'cat /dev/stdin; echo "[done]"' 2>&1)
case $out in *'abc'*'[done]'*) tap 0 "exec -t with piped input: /dev/stdin reads the input, its end arrives as Ctrl+D" ;;
*) tap 1 "exec -t with piped input: /dev/stdin reads the input, its end arrives as Ctrl+D"; diag "$out" ;; esac

"$RUNBOX" run -it --stdin /dev/null "$TMP/slow.py" >/dev/null 2>"$TMP/both.err"
[ $? = 2 ] && grep -q "exclude each other" "$TMP/both.err"
tap $? "run -i with --stdin FILE is a usage error" || diag "$(cat "$TMP/both.err")"

# The terminal is the program's, but it cannot push keystrokes into it (TIOCSTI) nor swap its
# line discipline for one of the kernel's rarely used ones (TIOCSETD).
cat >"$TMP/ioctl.py" <<'PY'
import fcntl, struct, termios
for name, req, arg in (("TIOCSTI", termios.TIOCSTI, b"x"), ("TIOCSETD", 0x5423, struct.pack("i", 15))):
    try:
        fcntl.ioctl(0, req, arg)
        print(name, "allowed")
    except OSError as e:
        print(name, e.errno)
PY
out=$("$RUNBOX" run -t "$TMP/ioctl.py" </dev/null 2>&1)
case $out in *"TIOCSTI 1"*"TIOCSETD 1"*) tap 0 "a terminal run: TIOCSTI and TIOCSETD fail with EPERM" ;;
*) tap 1 "a terminal run: TIOCSTI and TIOCSETD fail with EPERM"; diag "$out" ;; esac

# A shell starts a background job with SIGINT and SIGQUIT ignored, and ignored signals survive
# exec: the program must start as a shell would start it in the foreground.
("$RUNBOX" exec -- /usr/bin/python3 -c 'import signal; print(signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGQUIT))' \
    >"$TMP/sig.out" 2>&1 &
wait $!)
grep -Eq "^<built-in function default_int_handler> (0|Handlers.SIG_DFL)$" "$TMP/sig.out"
tap $? "a background runbox's program does not inherit ignored SIGINT and SIGQUIT" || diag "$(cat "$TMP/sig.out")"

# ---- the WebSocket ----
if [ -z "$WSPY" ]; then
    skip "terminal runs over the WebSocket" "python3 has no websockets module (python3-websockets)"
    done_testing
    exit
fi
srv_start_or_end "runbox serve starts" "$TMP/data" --no-auth --workers 2

cat >"$TMP/ws.py" <<'PY'
# ws.py URL OUT RUN_JSON STEPS_JSON: one run over /api/v1/code/interactive. STEPS:
# [[after_text, delay_s, message]]: the message is sent delay_s after after_text is in the
# program's live output ("" = right after "queued"). Every message received goes to OUT.
import asyncio, json, sys, time
import websockets

url, out, run, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])

async def main():
    log = open(out, "w")
    ws = await websockets.connect(url, open_timeout=10, max_size=None)
    live = ""
    queued = False
    async def due():
        while steps and queued and steps[0][0] in live:
            _, delay, msg = steps.pop(0)
            await asyncio.sleep(delay)
            log.write(json.dumps({"type": "client_sent", "msg": msg, "after": live}) + "\n")
            await ws.send(json.dumps(msg))
    async for raw in ws:
        m = json.loads(raw)
        log.write(json.dumps(m) + "\n")
        log.flush()
        t = m.get("type")
        if t == "ready":
            await ws.send(json.dumps(dict(type="run", **run)))
        elif t == "queued":
            queued = True
        elif t in ("stdout", "stderr") and m.get("stage") == "run":
            live += m.get("data", "")
        await due()
    log.write(json.dumps({"type": "closed", "code": ws.close_code}) + "\n")

asyncio.run(asyncio.wait_for(main(), 60))
PY
WS_URL="ws://${SRV_URL#http://}/api/v1/code/interactive"
# ws OUT RUN_JSON STEPS_JSON
ws() { timeout 90 "$WSPY" "$TMP/ws.py" "$WS_URL" "$1" "$2" "$3" 2>"$1.err"; }
wsq() { jq -se "$2" "$1" >/dev/null 2>&1; }
# the program's live output (the run stage's stdout events) of session OUT
live() { jq -sj '[.[] | select(.type == "stdout" and .stage == "run") | .data] | join("")' "$1"; }

code=$(jq -Rs . "$TMP/name.c")
f=$TMP/ws-c.jsonl
ws "$f" "{\"language\": \"c\", \"code\": $code, \"tty\": {\"rows\": 30, \"cols\": 100}}" '[["Name? ", 0.3, {"type": "stdin", "data": "Bob\r"}]]'
wsq "$f" '[.[] | select(.type == "client_sent")][0].after == "Name? "'
tap $? "WebSocket tty: the C prompt arrives before anything is typed" || diag "$(head -c 3000 "$f" "$f.err")"
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and .tty == true
          and .output == "Name? Bob\r\nHi Bob, tty 1\r\n" and .error == ""'
tap $? "WebSocket tty: the echo and the answer, in the result as on the terminal; tty: true" || diag "$(head -c 3000 "$f")"
wsq "$f" '[.[] | select(.type == "stage")] | (map(select(.stage == "compile")) | all(has("tty") | not))
          and (map(select(.stage == "run")) | length == 1 and .[0].tty == true)'
tap $? "WebSocket tty: the run stage's event says tty: true before any output" || diag "$(grep stage "$f")"

order=$(jq -Rs . <<'C'
#include <stdio.h>
int main(void)
{
    for (int i = 0; i < 20; i++) {
        printf("out %d\n", i);
        fflush(stdout);
        fprintf(stderr, "err %d\n", i);
    }
    return 0;
}
C
)
f=$TMP/ws-order.jsonl
ws "$f" "{\"language\": \"c\", \"code\": $order, \"tty\": true}" '[]'
want=$(for i in $(seq 0 19); do printf 'out %d\r\nerr %d\r\n' "$i" "$i"; done)
[ "$(live "$f")" = "$want" ]
tap $? "WebSocket tty: 20 stdout/stderr pairs arrive in the order written" || diag "$(live "$f" | head -c 600)"

f=$TMP/ws-int.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/loop.py"), \"tty\": true}" '[["looping", 0.3, {"type": "stdin", "data": "\u0003"}]]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "runtime_error" and (.output | test("KeyboardInterrupt"))'
tap $? "WebSocket tty: Ctrl+C (\\x03) interrupts the program" || diag "$(head -c 3000 "$f")"

winch=$(jq -Rs . <<'PY'
import os, signal
signal.signal(signal.SIGWINCH, lambda *a: print("now", os.get_terminal_size(), flush=True))
print("start", os.get_terminal_size(), flush=True)
input()
PY
)
f=$TMP/ws-winch.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $winch, \"tty\": {\"rows\": 30, \"cols\": 100}}" \
    '[["start", 0.2, {"type": "resize", "rows": 40, "cols": 120}], ["now", 0.1, {"type": "stdin", "data": "\r"}]]'
wsq "$f" '[.[] | select(.type == "result")][0].output | test("start os.terminal_size\\(columns=100, lines=30\\)") and test("now os.terminal_size\\(columns=120, lines=40\\)")'
tap $? "WebSocket tty: the size given, then a resize arrives as SIGWINCH with the new size" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-slow.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/slow.py"), \"tty\": true, \"limits\": {\"wall_time\": 1}}" \
    '[["Name? ", 2.5, {"type": "stdin", "data": "Ada\r"}]]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and (.output | test("Hi Ada"))'
tap $? "WebSocket: with wall_time 1, 2.5 s of waiting for the typist is not wall time" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-slowpipe.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/slow.py"), \"limits\": {\"wall_time\": 1}}" \
    '[["Name? ", 2.5, {"type": "stdin", "data": "Ada\n"}]]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and .output == "Name? Hi Ada\n"'
tap $? "WebSocket without tty: the same holds on pipes" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-sleep.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/sleep.py"), \"tty\": true, \"limits\": {\"wall_time\": 1}}" '[]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "timeout"'
tap $? "WebSocket: a sleep still counts: time limit" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-idle.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/slow.py"), \"tty\": true, \"idle_time\": 1.5}" '[]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "timeout" and (.message | test("Idle: no input for 1.5 s"))'
tap $? "WebSocket: idle_time 1.5: a run nobody types into ends, and says why" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-eof.jsonl
ws "$f" "{\"language\": \"python\", \"code\": \"import sys\\nd = open('/dev/stdin').read()\\nprint(repr(d))\\n\", \"tty\": true}" \
    '[["", 0.3, {"type": "stdin", "data": "ab\rc"}], ["", 0.1, {"type": "eof"}]]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and (.output | test("\u0027ab\\\\nc\u0027"))'
tap $? "WebSocket tty: eof ends the input after a line without its newline; /dev/stdin opens" || diag "$(head -c 3000 "$f")"

# 100,000 lines printed one by one on a terminal: the output events are merged into frames
# (a browser pays for each frame on its main thread), none lost. Thousands of frames before.
f=$TMP/ws-flood.jsonl
ws "$f" '{"language": "python", "code": "for i in range(100000): print(i)\n", "tty": true}' '[]'
frames=$(jq -s '[.[] | select(.type == "stdout" and .stage == "run")] | length' "$f")
[ "$(live "$f" | tr -d '\r' | tail -1)" = 99999 ] && [ "$(live "$f" | wc -l)" = 100000 ] && [ "$frames" -le 500 ]
tap $? "WebSocket tty: 100,000 printed lines arrive whole in $frames frames (at most 500)" || diag "$(tail -c 600 "$f")"

f=$TMP/ws-badtty.jsonl
ws "$f" '{"language": "python", "code": "print(1)", "tty": {"rows": 0, "cols": 80}}' '[]'
wsq "$f" '[.[] | select(.type == "error")][0].field == "tty"'
tap $? "WebSocket: a tty of 0 rows is refused on field tty" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-nul.jsonl
ws "$f" '{"language": "python", "code": "print(\"a\\0b\", flush=True)\nprint(\"after\")\n"}' '[]'
[ "$(live "$f" | od -An -c | tr -s ' ')" = "$(printf 'a\0b\nafter\n' | od -An -c | tr -s ' ')" ]
tap $? "WebSocket: output holding a NUL byte reaches the live stream whole" || diag "$(head -c 3000 "$f")"

f=$TMP/ws-pipes.jsonl
ws "$f" '{"language": "python", "code": "import sys\nprint(\"o\", flush=True)\nprint(\"e\", file=sys.stderr)\n"}' '[]'
wsq "$f" '([.[] | select(.type == "stderr" and .stage == "run") | .data] | join("")) == "e\n"
          and ([.[] | select(.type == "result")][0] | .output == "o\n" and .error == "e\n" and has("tty") == false)'
tap $? "WebSocket without tty: stdout and stderr stay apart" || diag "$(head -c 3000 "$f")"

# ---- a person's pause must not hold a worker while other people's runs queue ----
srv_stop
cat >"$TMP/busy.json" <<'JSON'
{"server": {"interactive_idle_busy_s": 1}}
JSON
srv_start_or_end "a server with one worker and interactive_idle_busy_s 1 starts" "$TMP/data2" \
    --no-auth --workers 1 --config "$TMP/busy.json"
WS_URL="ws://${SRV_URL#http://}/api/v1/code/interactive"
f=$TMP/ws-alone.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/slow.py"), \"tty\": true}" \
    '[["Name? ", 2.5, {"type": "stdin", "data": "Ada\r"}]]'
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "success" and (.output | test("Hi Ada"))'
tap $? "nobody queued: a 2.5 s pause is fine" || diag "$(head -c 3000 "$f")"
f=$TMP/ws-busy.jsonl
ws "$f" "{\"language\": \"python\", \"code\": $(jq -Rs . "$TMP/slow.py"), \"tty\": true}" '[]' &
wspid=$!
for _ in $(seq 100); do grep -q '"Name? ' "$f" 2>/dev/null && break; sleep 0.1; done
api POST "/api/v1/code/execute?wait=false" -H 'Content-Type: application/json' \
    -d '{"language": "python", "code": "print(\"queued one\")"}'
queued=$(jq -r .id "$R")
wait "$wspid"
wsq "$f" '[.[] | select(.type == "result")][0] | .status == "timeout" and .reason == "idle"
          and (.message | test("Idle: no input for 1 s while other runs waited"))'
tap $? "a run queued behind a waiting interactive run: the wait ends after interactive_idle_busy_s" || diag "$(head -c 3000 "$f")"
srv_wait_state "$queued" done 30
api GET "/api/v1/code/runs/$queued"
api_check "the queued run then runs" 200 '.result.output == "queued one\n"'

done_testing
