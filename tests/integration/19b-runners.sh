#!/usr/bin/env bash
# Runners at the job level: `runbox run` and `runbox test` with --docker IMAGE and --image NAME,
# a course whose runner is {"type": "docker", "image"} or {"type": "sandbox", "image"}, the same
# course through `runbox serve`, and what a user sees when the engine or the image is missing.
# The course image is built from a Dockerfile (test_docker_images in lib.sh); `docker save` of
# it is imported with `runbox image import`, so one image runs both ways.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
need_tools "runners" dockerd docker jq curl python3

D=$TMP/data
mkdir -p "$D"
trap 'srv_cleanup; dockerd_stop; rm -rf "$TMP"' EXIT

if ! dockerd_start 2>"$TMP/dockerd.err" || ! test_docker_images 2>>"$TMP/dockerd.err"; then
    skip "runners" "no Docker engine or test images: $(cat "$TMP/dockerd.err")"
    done_testing
    exit
fi
BASE=$TEST_IMAGE_BASE
IMG=$TEST_IMAGE_COURSE

# ---- one image, two ways: the engine's, and imported for the sandbox ----
docker save "$IMG" -o "$TMP/course.tar" &&
    "$RUNBOX" image import --data "$D" --name pycourse "$TMP/course.tar" >/dev/null 2>"$TMP/e"
tap $? "docker save of the course image imports for the sandbox" || diag "$(cat "$TMP/e")"
rm -f "$TMP/course.tar"

# A program that says where it ran: in a container, PID 1 is runbox-docker-init; in the box,
# /proc/1 is hidden; the host has jq (the tests need it), the images do not.
cat >"$TMP/where.py" <<'EOF'
import os, sys
try:
    with open("/proc/1/cmdline", "rb") as f:
        one = f.read().split(b"\0")[0].decode()
except OSError:
    one = "hidden"
print("pid1=%s jq=%s stdin=%s" % (one, os.path.exists("/usr/bin/jq"), sys.stdin.read().strip()))
EOF
printf 'hi\n' >"$TMP/in"

rb_run "$TMP/r.json" --docker "$IMG" --stdin "$TMP/in" "$TMP/where.py"
expect "run --docker: a Python program runs in a container of the image" "$TMP/r.json" output \
    "pid1=/.runbox/init jq=False stdin=hi"
rb_run "$TMP/r.json" --image pycourse --data "$D" --stdin "$TMP/in" "$TMP/where.py"
expect "run --image: the same program runs in the box on the imported image" "$TMP/r.json" \
    output "pid1=hidden jq=False stdin=hi"
rb_run "$TMP/r.json" --stdin "$TMP/in" "$TMP/where.py"
expect "run without a runner: the box on the host's system (jq is there)" "$TMP/r.json" output \
    "pid1=hidden jq=True stdin=hi"

# A compiled language: both stages (gcc, then the program) on the image.
rb_run "$TMP/r.json" --docker "$BASE" "$PROGS/c/hello.c"
jq -e '.status == "success" and .output == "Hello, World!\n" and .compile.status == "success"' \
    "$TMP/r.json" >/dev/null
tap $? "run --docker: C compiles with the image's gcc and runs" || diag "$(cat "$TMP/r.json" "$TMP/r.json.err")"
rb_run "$TMP/r.json" --image pycourse --data "$D" "$PROGS/c/hello.c"
jq -e '.status == "success" and .output == "Hello, World!\n"' "$TMP/r.json" >/dev/null
tap $? "run --image: C compiles with the image's gcc and runs" || diag "$(cat "$TMP/r.json" "$TMP/r.json.err")"

# Statuses are the sandbox's.
printf 'import time\nwhile True: pass\n' >"$TMP/spin.py"
rb_run "$TMP/r.json" --docker "$IMG" --time 1 "$TMP/spin.py"
expect "run --docker: a CPU loop is a timeout" "$TMP/r.json" status timeout
printf 'x = bytearray(1 << 30)\n' >"$TMP/big.py"
rb_run "$TMP/r.json" --docker "$IMG" --memory 64 "$TMP/big.py"
jq -e '.status == "memory_limit" or (.status == "runtime_error" and (.stderr | test("MemoryError")))' \
    "$TMP/r.json" >/dev/null
tap $? "run --docker: 1 GiB under 64 MiB fails (memory_limit or MemoryError)" || diag "$(cat "$TMP/r.json")"
printf 'import sys\nsys.exit(3)\n' >"$TMP/three.py"
rb_run "$TMP/r.json" --docker "$IMG" "$TMP/three.py"
jq -e '.status == "runtime_error" and .exit_code == 3' "$TMP/r.json" >/dev/null
tap $? "run --docker: exit 3 is runtime_error with exit_code 3, and the CLI exits 3 ($RB_RC)" &&
    [ "$RB_RC" = 3 ]

# ---- what a user sees when something is missing ----
rb_run "$TMP/r.json" --image nosuch --data "$D" "$TMP/where.py"
jq -e '.status == "internal_error" and (.message | test("image .nosuch. is not imported"))' \
    "$TMP/r.json" >/dev/null
tap $? "run --image of an image not imported: internal_error naming it" || diag "$(cat "$TMP/r.json" "$TMP/r.json.err")"
rb_run "$TMP/r.json" --docker runbox-test/nosuch:v9 "$TMP/where.py"
jq -e '.status == "internal_error" and (.message | test("nosuch"))' "$TMP/r.json" >/dev/null
tap $? "run --docker of an image the engine lacks: internal_error naming it" || diag "$(cat "$TMP/r.json" "$TMP/r.json.err")"
DOCKER_HOST=unix://$TMP/no.sock "$RUNBOX" run --json --docker "$IMG" "$TMP/where.py" \
    >"$TMP/r.json" 2>"$TMP/r.err" </dev/null
jq -e '.status == "internal_error" and (.message | test("no engine is reachable"))' "$TMP/r.json" \
    >/dev/null
tap $? "run --docker without an engine: internal_error saying no engine is reachable" || diag "$(cat "$TMP/r.json" "$TMP/r.err")"
"$RUNBOX" run --docker '-v/:/host' "$TMP/where.py" >/dev/null 2>"$TMP/e" </dev/null
[ $? = 2 ] && grep -q "expected an image reference" "$TMP/e"
tap $? "run --docker refuses an image that reads as an option (usage error)" || diag "$(cat "$TMP/e")"
"$RUNBOX" run --docker "$IMG" --image pycourse "$TMP/where.py" >/dev/null 2>"$TMP/e" </dev/null
[ $? = 2 ] && grep -q "exclude each other" "$TMP/e"
tap $? "--docker and --image together are a usage error" || diag "$(cat "$TMP/e")"

# ---- a course whose runner is the Docker image ----
C=$TMP/course
mkdir -p "$C/exercises/where/tests"
cat >"$C/course.json" <<EOF
{"name": "Runners", "language": "python",
 "runner": {"type": "docker", "image": "$IMG", "framework": "pytest"}}
EOF
printf '# Where\n\nSay 42.\n' >"$C/exercises/where/README.md"
printf 'def answer():\n    return 0\n' >"$C/exercises/where/where.py"
cat >"$C/exercises/where/tests/test_where.py" <<'EOF'
import os
import where

def test_answer():
    assert where.answer() == 42

def test_runner():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            one = f.read().split(b"\0")[0].decode()
    except OSError:
        one = "hidden"
    os.makedirs("/box/out", exist_ok=True)
    with open("/box/out/where.txt", "w") as f:
        f.write("pid1=%s jq=%s" % (one, os.path.exists("/usr/bin/jq")))
EOF
printf 'def answer():\n    return 42\n' >"$TMP/where.py"
"$RUNBOX" course validate "$C" >"$TMP/v.out" 2>&1
tap $? "a course with runner docker + image validates" || diag "$(cat "$TMP/v.out")"

"$RUNBOX" test --json --course "$C" --exercise where --out "$TMP/out1" "$TMP/where.py" \
    >"$TMP/t.json" 2>"$TMP/t.err" </dev/null
jq -e '.status == "success" and .tests.passed == 2' "$TMP/t.json" >/dev/null &&
    [ "$(cat "$TMP/out1/where.txt" 2>/dev/null)" = "pid1=/.runbox/init jq=False" ]
tap $? "runbox test on the docker course: pytest (only in the image) passes, in a container" ||
    diag "$(head -c 1500 "$TMP/t.json"; cat "$TMP/t.err" "$TMP/out1/where.txt")"
printf 'def answer():\n    return 41\n' >"$TMP/wrong.py"
mkdir -p "$TMP/w" && cp "$TMP/wrong.py" "$TMP/w/where.py"
"$RUNBOX" test --json --course "$C" --exercise where "$TMP/w/where.py" >"$TMP/t.json" 2>"$TMP/t.err" </dev/null
jq -e '.status == "test_failure" and .tests.failed == 1 and .tests.passed == 1' "$TMP/t.json" >/dev/null
tap $? "runbox test on the docker course: a wrong answer fails one test" || diag "$(head -c 1500 "$TMP/t.json")"

# The same course on the imported image: the sandbox, at the sandbox's speed.
"$RUNBOX" test --json --image pycourse --data "$D" --course "$C" --exercise where --out "$TMP/out2" \
    "$TMP/where.py" >"$TMP/t.json" 2>"$TMP/t.err" </dev/null
jq -e '.status == "success" and .tests.passed == 2' "$TMP/t.json" >/dev/null &&
    [ "$(cat "$TMP/out2/where.txt" 2>/dev/null)" = "pid1=hidden jq=False" ]
tap $? "runbox test --image over the course's runner: the box on the imported image" ||
    diag "$(head -c 1500 "$TMP/t.json"; cat "$TMP/t.err" "$TMP/out2/where.txt")"
jq '.runner = {"type": "sandbox", "image": "pycourse", "framework": "pytest"}' "$C/course.json" \
    >"$TMP/cj" && cp "$TMP/cj" "$C/course.json"
RUNBOX_DATA=$D "$RUNBOX" test --json --course "$C" --exercise where --out "$TMP/out3" \
    "$TMP/where.py" >"$TMP/t.json" 2>"$TMP/t.err" </dev/null
jq -e '.status == "success" and .tests.passed == 2' "$TMP/t.json" >/dev/null &&
    [ "$(cat "$TMP/out3/where.txt" 2>/dev/null)" = "pid1=hidden jq=False" ]
tap $? "a course with runner sandbox + image runs its tests on that image" ||
    diag "$(head -c 1500 "$TMP/t.json"; cat "$TMP/t.err" "$TMP/out3/where.txt")"
# Without the image, the host's Python lacks nothing here but says where it ran: jq is there.
jq '.runner = {"type": "sandbox", "framework": "pytest"}' "$C/course.json" >"$TMP/cj" &&
    cp "$TMP/cj" "$C/course.json"
"$RUNBOX" test --json --course "$C" --exercise where --out "$TMP/out4" "$TMP/where.py" \
    >"$TMP/t.json" 2>"$TMP/t.err" </dev/null
[ "$(cat "$TMP/out4/where.txt" 2>/dev/null)" = "pid1=hidden jq=True" ]
tap $? "the same course without an image runs on the host's system (the check can tell)" ||
    diag "$(head -c 600 "$TMP/t.json"; cat "$TMP/out4/where.txt")"

# ---- the service: a docker course, the languages list, a missing engine ----
jq --arg i "$IMG" '.runner = {"type": "docker", "image": $i, "framework": "pytest"}' \
    "$C/course.json" >"$TMP/cj" && cp "$TMP/cj" "$C/course.json"
srv_start_or_end "serve starts with a docker course" "$D" --no-auth --workers 2 --courses "$C"
api GET /api/v1/code/languages
api_check "GET /languages: the engine is available with its version, python runs in the sandbox" 200 \
    '.engines.docker.available == true and (.engines.docker.version | length > 0) and
     (.languages[] | select(.name == "python") | .runner == {"type": "sandbox", "image": null, "available": true})'
CID=$(basename "$C")
api_json POST "/api/v1/courses/$CID/exercises/where/test" \
    "$(jq -nc --rawfile c "$TMP/where.py" '{files: [{name: "where.py", content: $c}]}')"
api_check "a course test run through serve runs in the container and passes" 200 \
    '.status == "success" and .tests.passed == 2'
srv_stop

DOCKER_HOST=unix://$TMP/no.sock srv_start_or_end "serve starts without an engine (the course still loads)" \
    "$D" --no-auth --workers 1 --courses "$C"
grep -q "the course $CID runs in Docker (image $IMG), and no engine is reachable" "$TMP/srv.err"
tap $? "serve says at start which course needs the missing engine" || diag "$(cat "$TMP/srv.err")"
api GET /api/v1/code/languages
api_check "GET /languages: the engine is not available, with why" 200 \
    '.engines.docker.available == false and (.engines.docker.error | length > 0)'
api_json POST "/api/v1/courses/$CID/exercises/where/test" \
    "$(jq -nc --rawfile c "$TMP/where.py" '{files: [{name: "where.py", content: $c}]}')"
api_check "its test runs end internal_error saying no engine is reachable" 200 \
    '.status == "internal_error" and (.message | test("no engine is reachable"))'
srv_stop

# Nothing of ours left in the engine.
left=$(docker ps -aq --filter label=runbox.pid)
[ -z "$left" ]
tap $? "no runbox container is left in the engine" || diag "$(docker ps -a)"

done_testing
