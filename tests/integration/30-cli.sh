#!/usr/bin/env bash
# The command line: JSON shape, exit codes, stdin sources, bad input with clear errors.
. "$(dirname "$0")/../lib.sh"

f=$TMP/r.json

# The JSON result has every documented field.
rb_run "$f" "$PROGS/python/hello.py"
jq -e 'has("status") and has("exit_code") and has("signal") and has("output") and has("error")
       and has("output_truncated") and has("execution_time") and has("cpu_time")
       and has("memory_bytes") and has("language") and has("version") and has("compile")' \
    "$f" >/dev/null
tap $? "run --json has every documented field" || diag "$(cat "$f")"
expect "language is named" "$f" language python
jq -e '.version | test("^[0-9]+\\.[0-9]+")' "$f" >/dev/null
tap $? "version is probed from the toolchain"
jq -e '.memory_bytes > 0 and .execution_time > 0 and .cpu_time >= 0' "$f" >/dev/null
tap $? "time and memory are measured"
# Reals print at a fixed precision, at most 15 significant digits (not 0.023806000000000001).
python3 - "$f" <<'EOF2'
import json, re, sys
long = []
def real(s):
    digits = re.sub(r"[eE].*", "", s).replace("-", "").replace(".", "").lstrip("0")
    if len(digits) > 15:
        long.append(s)
    return float(s)
json.load(open(sys.argv[1]), parse_float=real)
sys.exit(1 if long else 0)
EOF2
tap $? "run --json prints reals with at most 15 significant digits" || diag "$(head -c 600 "$f")"
jq -e '.stdout_bytes == 14 and .stderr_bytes == 0' "$f" >/dev/null
tap $? "output sizes are measured" || diag "$(cat "$f")"

rb_run "$f" "$PROGS/c/hello.c"
jq -e '.compile.status == "success" and .compile.exit_code == 0' "$f" >/dev/null
tap $? "compiled languages report the compile stage"

# --lang overrides the extension; an unknown extension is a usage error.
cp "$PROGS/python/hello.py" "$TMP/hello.txt"
rb_run "$f" --lang python "$TMP/hello.txt"
expect "--lang picks the language" "$f" output "Hello, World!"
rb_run "$f" "$TMP/hello.txt"
[ "$RB_RC" = 2 ] && grep -q "cannot tell the language" "$f.err"
tap $? "an unknown extension is a clear usage error (exit 2)"
# Every command and sub-command answers --help with its usage on stdout and exit 0 (image, user,
# users and key parse their own options, and said "unrecognized option '--help'").
for cmd in run exec test languages doctor selftest serve \
    "course init" "course check" "course validate" "course templates" \
    user "user add" "user list" "user del" "user passwd" "user quota" "user logout" users \
    key "key add" "key list" "key revoke" image "image import" "image build" "image ls" "image rm"; do
    # shellcheck disable=SC2086
    "$RUNBOX" $cmd --help >"$TMP/help.out" 2>"$TMP/help.err" </dev/null
    rc=$?
    [ "$rc" = 0 ] && grep -q '^usage:' "$TMP/help.out" && grep -q "${cmd%% *}" "$TMP/help.out"
    tap $? "runbox $cmd --help prints its usage and exits 0" ||
        diag "rc=$rc stdout: $(head -c 200 "$TMP/help.out") stderr: $(head -c 200 "$TMP/help.err")"
done
rb_run "$f" --lang nosuchlang "$TMP/hello.txt"
[ "$RB_RC" = 2 ] && grep -q "unknown language 'nosuchlang'" "$f.err"
tap $? "an unknown --lang is a clear usage error"
rb_run "$f" "$TMP/missing.py"
[ "$RB_RC" = 125 ] && grep -q "missing.py" "$f.err"
tap $? "a missing source file is named in the error"
"$RUNBOX" run --time abc "$PROGS/python/hello.py" >/dev/null 2>"$TMP/e"
[ $? = 2 ] && grep -q -- "--time 'abc'" "$TMP/e"
tap $? "a bad limit value is a clear usage error"
"$RUNBOX" frobnicate >/dev/null 2>"$TMP/e"
[ $? = 2 ] && grep -q "unknown command" "$TMP/e"
tap $? "an unknown command is a usage error"

# stdin: from a file, from a pipe, and a program that never reads it.
printf 'abc\n' >"$TMP/in"
rb_run "$f" --stdin "$TMP/in" "$PROGS/python/echo.py"
expect "--stdin FILE feeds the program" "$f" output abc
printf 'piped\n' | "$RUNBOX" run --json "$PROGS/python/echo.py" >"$f"
expect "a piped stdin feeds the program" "$f" output piped
head -c 5000000 /dev/zero | "$RUNBOX" run --json "$PROGS/python/hello.py" >"$f"
expect "unread stdin does not block or kill runbox" "$f" status success

# Exit codes of the CLI.
printf 'import os\nos.kill(os.getpid(), 11)\n' >"$TMP/segv.py"
"$RUNBOX" run "$TMP/segv.py" </dev/null >/dev/null 2>&1
rc=$?
[ $rc = 139 ]
tap $? "a signal N gives exit 128+N" || diag "rc=$rc"
printf 'while True: pass\n' >"$TMP/loop.py"
"$RUNBOX" run --time 0.3 "$TMP/loop.py" </dev/null >/dev/null 2>&1
[ $? = 124 ]
tap $? "a time limit gives exit 124"
printf 'x = bytearray(512 << 20)\n' >"$TMP/mem.py"
"$RUNBOX" run --memory 64 "$TMP/mem.py" </dev/null >/dev/null 2>&1
rc=$?
[ $rc = 137 ]
tap $? "a memory limit gives exit 137" || diag "rc=$rc"
printf 'while True: print("y" * 100)\n' >"$TMP/flood.py"
"$RUNBOX" run --output 16 "$TMP/flood.py" </dev/null >/dev/null 2>&1
[ $? = 141 ]
tap $? "an output limit gives exit 141"
"$RUNBOX" exec -- /nonexistent/program </dev/null >/dev/null 2>"$TMP/e"
[ $? = 125 ] && grep -q "cannot execute" "$TMP/e"
tap $? "runbox's own failure gives exit 125 with the reason"

# Non-UTF-8 output: valid JSON, and the exact bytes in output_base64.
printf 'import sys\nsys.stdout.buffer.write(b"ok\\xff\\xfe\\x00end")\n' >"$TMP/bin.py"
rb_run "$f" "$TMP/bin.py"
jq -e . "$f" >/dev/null && [ "$(jq -r .output_base64 "$f" | base64 -d | od -An -tx1 | tr -d ' \n')" = "6f6bfffe00656e64" ]
tap $? "non-UTF-8 output gives valid JSON and exact bytes in output_base64" || diag "$(cat "$f")"

# exec: low-level command with limits.
rb_exec "$f" --wall 0.5 -- /bin/sleep 5
jq -e '.status == "timeout" and .reason == "wall_time" and .execution_time < 3' "$f" >/dev/null
tap $? "exec enforces --wall" || diag "$(cat "$f")"
rb_exec "$f" -- /bin/sh -c 'echo $HOME $USER; pwd; id -u'
expect "exec runs as the box user in /box" "$f" output "$(printf '/tmp runbox\n/box\n60000')"
# A host umask of 077 (hardened systems, runbox serve's own) must not leak into the box: its /etc
# stays readable, the program gets the usual 022.
(umask 077 && rb_exec "$f" -- /bin/sh -c 'umask; id -un; head -c 6 /etc/passwd')
expect "exec under umask 077: the box's /etc is readable, its umask 0022" "$f" output \
    "$(printf '0022\nrunbox\nroot:x')"

# CPU share: a busy loop at --cpus 0.2 gets about a fifth of a core (generous bounds).
rb_exec "$f" --cpus 0.2 --wall 1 -- /usr/bin/python3 -c 'while True: pass'
jq -e '.cpu_time < 0.6' "$f" >/dev/null
tap $? "--cpus limits the CPU share" || diag "$(jq -c '{cpu_time,execution_time}' "$f")"

# languages and doctor.
"$RUNBOX" languages --json >"$f"
[ "$(jq length "$f")" -ge 9 ] && jq -e 'all(.[]; has("name") and has("version") and has("extensions") and has("installed"))' "$f" >/dev/null
tap $? "languages --json lists every language with version and install state"
"$RUNBOX" doctor >"$TMP/doctor" 2>&1
grep -q "seccomp" "$TMP/doctor" && grep -q "memory" "$TMP/doctor" && grep -q "toolchains" "$TMP/doctor"
tap $? "doctor reports namespaces, cgroups, seccomp and toolchains" || diag "$(cat "$TMP/doctor")"

# A broken language file fails the load with its name and position.
mkdir -p "$TMP/langs"
cp "$ROOT/languages/python.json" "$TMP/langs/"
printf '{"name": "bad", "extensions": [".b"],\n  "run": 5 }' >"$TMP/langs/bad.json"
"$RUNBOX" --languages "$TMP/langs" languages >/dev/null 2>"$TMP/e"
[ $? = 125 ] && grep -q "bad.json" "$TMP/e"
tap $? "a broken language file is reported by name" || diag "$(cat "$TMP/e")"
printf '{"name": "bad", "extensions": [".b"],\n  "run": [5 }' >"$TMP/langs/bad.json"
"$RUNBOX" --languages "$TMP/langs" languages >/dev/null 2>"$TMP/e"
grep -q "bad.json:2:" "$TMP/e"
tap $? "a JSON syntax error gives file, line and column" || diag "$(cat "$TMP/e")"

# Adding a language is adding a file: no rebuild.
rm "$TMP/langs/bad.json"
jq 'del(.judge0, .piston) | .name = "python-fast" | .aliases = ["pyf"] | .extensions = [".pyf"] | .source_file = "main.pyf" | .selftest.files = {"main.pyf": "print(input())"} | .selftest.expected_output = "x\n" | .selftest.stdin = "x\n"' \
    "$ROOT/languages/python.json" >"$TMP/langs/pyf.json"
printf 'print("new language")\n' >"$TMP/a.pyf"
"$RUNBOX" --languages "$TMP/langs" run --json "$TMP/a.pyf" </dev/null >"$f"
expect "a new language file works without a rebuild" "$f" output "new language"

# The program's stdin and stdout can be opened again by name, as judges' idioms do (the pipes
# were root's 0600, so /dev/stdin gave EACCES): Node's readFileSync('/dev/stdin'), Python's
# open('/dev/stdin') and open('/dev/stdout'), cat /dev/stdin.
printf 'a b\nc' >"$TMP/in.txt"
printf "const d = require('fs').readFileSync('/dev/stdin', 'utf8');\nconsole.log(JSON.stringify(d));\n" >"$TMP/stdin.js"
"$RUNBOX" run --json --stdin "$TMP/in.txt" "$TMP/stdin.js" >"$f" </dev/null
expect "node reads /dev/stdin" "$f" output "\"a b\\nc\""
cat >"$TMP/stdin.py" <<'EOF'
data = open("/dev/stdin").read()
out = open("/dev/stdout", "w")
out.write(repr(data) + "\n")
EOF
"$RUNBOX" run --json --stdin "$TMP/in.txt" "$TMP/stdin.py" >"$f" </dev/null
expect "python opens /dev/stdin and /dev/stdout" "$f" output "'a b\\nc'"
"$RUNBOX" exec --json -- /bin/cat /dev/stdin <"$TMP/in.txt" >"$f"
expect "cat /dev/stdin" "$f" output "$(printf 'a b\nc')"

done_testing
