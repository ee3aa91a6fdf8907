#!/usr/bin/env bash
# What a run costs before it starts: `runbox exec/run/test` load only the libraries a run needs
# (issue 19: 50 libraries, 14,467 symbol relocations and +9 ms on every start had crept in
# through the server's features, and nothing noticed). Deterministic guards, no timing: the
# binary's DT_NEEDED, what a running `runbox exec` and `runbox run` have mapped, the dynamic
# loader's relocation count, and that the service's commands still work through runbox-service.
. "$(dirname "$0")/../lib.sh"

BIN_DIR=$(dirname "$RUNBOX")
SERVICE=$BIN_DIR/runbox-service

# The libraries a run may map: libc, jansson (language files, results), libsodium (the compile
# cache's hashes), the loader, and a sanitizer build's runtimes.
allowed='^(libc|libjansson|libsodium|ld-linux-x86-64|ld-linux-aarch64|linux-vdso|libasan|libubsan|libm|libgcc_s|libstdc\+\+|libresolv|librt|libpthread|libdl)\.so(\.[0-9]+)*$'

needed=$(readelf -d "$RUNBOX" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
extra=$(grep -Ev "$allowed" <<<"$needed")
tap $([ -n "$needed" ] && [ -z "$extra" ]; echo $?) \
    "runbox links only libc, jansson and libsodium ($(echo $needed))" ||
    diag "not allowed: $(echo $extra)"

# The libraries a running process has mapped, by file name.
mapped_libs() { awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "/proc/$1/maps" | sort -u; }

# check_maps PID WHAT: stop the running runbox PID, after checking what it has mapped.
check_maps() {
    local libs extra
    libs=$(mapped_libs "$1")
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    extra=$(grep -Ev "$allowed" <<<"$libs")
    tap $([ -n "$libs" ] && [ -z "$extra" ]; echo $?) \
        "a running '$2' maps no HTTP, database, XML, archive or MIME library" ||
        diag "mapped: $(echo $libs)"
}

# A running `runbox exec`: its own process (the box's parent) maps nothing else.
"$RUNBOX" exec --wall 10 -- /bin/sleep 3 2>/dev/null &
pid=$!
for _ in $(seq 50); do
    [ -n "$(pgrep -P "$pid")" ] && break
    sleep 0.05
done
check_maps "$pid" "runbox exec"

# A running `runbox run` of a Python program (languages, the compile cache, the result).
cat >"$TMP/wait.py" <<'EOF'
import time
print("up", flush=True)
time.sleep(3)
EOF
"$RUNBOX" run --wall 10 "$TMP/wait.py" >"$TMP/run.out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do
    grep -q up "$TMP/run.out" 2>/dev/null && break
    sleep 0.05
done
check_maps "$pid" "runbox run"

# The dynamic loader's work at start. Set on 2026-12-07 at 525 symbol relocations (x86-64,
# Debian 12; was 14,467 over 50 libraries); the limit leaves room for a new libc function or
# two, not for a library.
relocs=$(LD_DEBUG=statistics "$RUNBOX" --version 2>&1 >/dev/null |
    sed -n 's/.*final number of relocations: *\([0-9]*\).*/\1/p' | tail -1)
# A sanitizer build maps its runtimes too: 3,790 relocations there on 2026-12-07 (the normal
# build had 14,467 with its 50 libraries).
limit=800
grep -q libasan <<<"$needed" && limit=4500
tap $([ -n "$relocs" ] && [ "$relocs" -le "$limit" ]; echo $?) \
    "the loader makes at most $limit symbol relocations (${relocs:-none})"

# The files a `runbox run` reads on its way to the box: its own language's file and support
# files only (the language index, src/lang/index.c: 40 languages must not cost 40 languages'
# parsing), and no entry
# of the compile cache when it stores nothing (the cache's size scan waits for a put). A C run
# first, so that the cache has an entry to (not) scan.
printf '#include <stdio.h>\nint main(void) { puts("c"); return 0; }\n' >"$TMP/c.c"
"$RUNBOX" run "$TMP/c.c" >/dev/null 2>&1
printf 'print("hi")\n' >"$TMP/hi.py"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -f -qq -e trace=openat -o "$TMP/trace" "$RUNBOX" run "$TMP/hi.py" >"$TMP/hi.out" 2>&1
support=$(grep -o 'languages/support/[^"]*' "$TMP/trace" | sort -u | sed 's|.*/||')
others=$(grep -Ev '\.py$' <<<"$support")
tap $([ "$(cat "$TMP/hi.out")" = hi ] && [ -n "$support" ] && [ -z "$others" ]; echo $?) \
    "a Python run reads Python's support files and no other language's" ||
    diag "read: $(echo $support) / $(cat "$TMP/hi.out")"
# The C run above wrote the language index: this run parsed only Python's language file.
parsed=$(grep -v 'languages-index' "$TMP/trace" | grep -o '[a-z0-9_+-]*\.json"' | grep -v -e meta.json -e versions.json | sort -u | tr -d '"')
tap $([ "$parsed" = python.json ]; echo $?) "with the language index, a Python run reads python.json and no other language file" ||
    diag "read: $(echo $parsed)"
metas=$(grep -c 'meta.json' "$TMP/trace")
tap $([ "$metas" = 0 ]; echo $?) "a run that stores nothing in the compile cache opens none of its entries" ||
    diag "$metas opens of meta.json"

# The libraries that are loaded on first use: a run that leaves files gets their MIME types
# (libmagic, opened then), and a JUnit report is read (libxml2).
cat >"$TMP/files.py" <<'EOF'
import os, struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
os.makedirs("out", exist_ok=True)
ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
open("out/a.bin", "wb").write(b"\x89PNG\r\n\x1a\n" + ihdr)
EOF
"$RUNBOX" run --json --out "$TMP/out" "$TMP/files.py" >"$TMP/files.json" 2>"$TMP/files.err"
jq -e '.files | map(select(.name == "a.bin")) | .[0].mime == "image/png"' "$TMP/files.json" >/dev/null
tap $? "libmagic is loaded when a run leaves files (image/png)" ||
    diag "$(head -c 600 "$TMP/files.json") $(cat "$TMP/files.err")"

# The service's commands run in runbox-service, in the same process (execv: same pid).
tap $([ -x "$SERVICE" ]; echo $?) "runbox-service is built beside runbox"
needed_s=$(readelf -d "$SERVICE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
grep -q '^libmicrohttpd' <<<"$needed_s" && grep -q '^libpq' <<<"$needed_s"
tap $? "runbox-service links the service's libraries (libmicrohttpd, libpq)"
"$RUNBOX" serve --no-auth --listen 127.0.0.1:0 --data "$TMP/data" >"$TMP/serve.out" 2>&1 &
pid=$!
exe=
for _ in $(seq 100); do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
    [ "${exe##*/}" = runbox-service ] && grep -q 'serving on' "$TMP/serve.out" && break
    sleep 0.05
done
# The server's boxes are not copies of the server (~450 mappings, 50 libraries, 70 threads):
# each box's init is the lean runbox, exec'd as `runbox __box FD` (src/sandbox/spawn.c).
base=$(sed -n 's|^runbox: serving on \(http://[^ ]*\)/$|\1|p' "$TMP/serve.out")
curl -s -H 'Content-Type: application/json' -d '{"language": "python", "code": "import time\ntime.sleep(3)"}' \
    "$base/api/v1/code/execute" >"$TMP/slow.json" &
cpid=$!
init=
for _ in $(seq 100); do
    init=$(pgrep -P "$pid" -f '__box' | head -1)
    [ -n "$init" ] && break
    sleep 0.05
done
init_exe=$(readlink "/proc/$init/exe" 2>/dev/null)
init_libs=$([ -n "$init" ] && mapped_libs "$init")
extra=$(grep -Ev "$allowed" <<<"$init_libs")
tap $([ -n "$init" ] && [ "$init_exe" = "$(readlink -f "$RUNBOX")" ] && [ -n "$init_libs" ] && [ -z "$extra" ]; echo $?) \
    "a box of runbox serve has the lean runbox as its init (exec'd), mapping none of the server's libraries" ||
    diag "init ${init:-none}: $init_exe; mapped: $(echo $init_libs)"
wait "$cpid"
jq -e '.status == "success"' "$TMP/slow.json" >/dev/null
tap $? "... and the run succeeds" || diag "$(head -c 400 "$TMP/slow.json")"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
tap $([ "${exe##*/}" = runbox-service ] && [ "$rc" = 0 ]; echo $?) \
    "'runbox serve' becomes runbox-service in the same process and stops on SIGTERM with 0" ||
    diag "exe $exe, status $rc: $(tail -3 "$TMP/serve.out")"

# The exec'd init refuses what is not a box description of this build.
"$RUNBOX" __box 0 >/dev/null 2>&1
rc1=$?
printf 'junk' >"$TMP/junk"
"$RUNBOX" __box 5 5<"$TMP/junk" >/dev/null 2>&1
rc2=$?
tap $([ "$rc1" = 127 ] && [ "$rc2" = 127 ] && [ -n "$("$RUNBOX" __box-tag)" ]; echo $?) \
    "'runbox __box' refuses a bad fd and a blob of another build (127); __box-tag says the build" ||
    diag "$rc1 $rc2"

# Without runbox-service, the service's commands say so; runs still work.
mkdir -p "$TMP/alone"
cp "$RUNBOX" "$TMP/alone/runbox"
"$TMP/alone/runbox" users >"$TMP/alone.out" 2>&1
rc=$?
tap $([ "$rc" = 125 ] && grep -q 'runbox-service' "$TMP/alone.out"; echo $?) \
    "without runbox-service, 'runbox users' fails with 125 and says what is missing" ||
    diag "status $rc: $(cat "$TMP/alone.out")"
RUNBOX_LANGUAGES=$ROOT/languages "$TMP/alone/runbox" exec -- /bin/echo alone >"$TMP/alone.out" 2>&1
tap $([ "$(cat "$TMP/alone.out")" = alone ]; echo $?) "... while runs need only runbox" ||
    diag "$(cat "$TMP/alone.out")"

done_testing
