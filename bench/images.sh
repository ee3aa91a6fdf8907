#!/usr/bin/env bash
# Images benchmark: the same Python hello world, and the same course test, on runbox's sandbox
# over an image (runbox run --image), on the Docker runner (runbox run --docker), on the host's
# root (runbox run), bare (python3), and with plain `docker run --rm`: medians side by side in
# one run (paired, alternating rounds, bench/timer.py), with ratios to the bare run.
#
#   bench/images.sh            10 rounds (BENCH_N=N for another number)
#   bench/images.sh --quick    5 rounds
#
# Needs root, python3 and the built tree (ninja -C build). The native image (BENCH_IMAGE,
# default bench-python: python3 and an env marker) is built once with `runbox image build` into
# BENCH_DATA (default /var/cache/runbox-bench, .debs cached there) when missing: about a
# minute. The Docker image (BENCH_DOCKER_IMAGE, default runbox-bench/python:1) is the same root
# given to `docker import` when the engine lacks it, so both runners run the same files. The
# engine: the tests' own dockerd (tests/lib.sh dockerd_start) when lib.sh has it, else the one
# DOCKER_HOST (or docker's default socket) reaches. A contender whose option this runbox does
# not have yet (run --image, run --docker, a course's "image" or "docker" runner), or that has
# no engine or image, is skipped with the reason.
# Environment: RUNBOX_BUILD=DIR (default: <repo>/build), BENCH_N, BENCH_IMAGE, BENCH_DATA,
# BENCH_DOCKER_IMAGE, DOCKER_HOST.
# This is a benchmark, not a test: it asserts nothing. It exits 1 when a contender that this
# runbox supports could not run (its error is printed), 2 on a usage or setup error.
set -u -o pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

N=${BENCH_N:-10}
for arg in "$@"; do
    case $arg in
    --quick) N=${BENCH_N:-5} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/images.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RUNBOX_BUILD:-$ROOT/build}
[[ -d $BUILD ]] && BUILD=$(cd "$BUILD" && pwd) # the bench runs from a temp dir
RUNBOX=$BUILD/runbox
PY=/usr/bin/python3
TIMER=$ROOT/bench/timer.py
IMAGE=${BENCH_IMAGE:-bench-python}
DATA=${BENCH_DATA:-/var/cache/runbox-bench}
DIMAGE=${BENCH_DOCKER_IMAGE:-runbox-bench/python:1}
DOCKER=$(command -v docker || true)
# The contenders' PATH (timer.py starts each with a clean environment): docker may live in
# /usr/local/bin, and runbox --docker finds the engine's CLI through PATH.
CPATH=PATH=/usr/local/bin:/usr/bin:/bin

if [[ $(id -u) != 0 ]]; then
    echo "bench/images.sh: runbox needs root; run as root" >&2
    exit 2
fi
for f in "$RUNBOX" "$PY"; do
    if [[ ! -x $f ]]; then
        echo "bench/images.sh: $f is missing (build with: ninja -C $BUILD)" >&2
        exit 2
    fi
done

TMP=$(mktemp -d /tmp/runbox-bench-images.XXXXXX) || exit 2
STARTED_DOCKERD=0
cleanup() {
    ((STARTED_DOCKERD)) && dockerd_stop
    rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"
cd "$TMP" || exit 2
RES=$TMP/results.tsv
: >"$RES"
FAILED=0
printf 'print("Hello")\n' >"$TMP/hello.py"
printf 'import os\nprint(os.environ.get("RUNBOX_BENCH_IMAGE", "host"))\n' >"$TMP/where.py"
chmod 644 "$TMP"/*.py

echo "runbox:   $RUNBOX ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')); $(nproc) CPUs; $N rounds"

# probe NAME CMD...: run CMD once (stdout in $TMP/probe); on failure say why NAME is skipped:
# an option this runbox does not have yet, or its error. Returns non-zero when skipped.
probe() {
    local name=$1
    shift
    if "$@" >"$TMP/probe" 2>"$TMP/probe.err" </dev/null; then
        return 0
    fi
    if grep -Eqi "unrecognized option|unknown option|invalid option|not supported yet|goes with .* only|unknown key|unknown runner" "$TMP/probe.err"; then
        echo "  $name: skipped, this runbox does not have it yet ($(head -1 "$TMP/probe.err"))"
    else
        echo "  $name: skipped, it failed: $(head -c 400 "$TMP/probe.err" | tr '\n' ' ')"
        FAILED=1
    fi
    return 1
}

# ---- the native image ----
echo "== setup =="
HAVE_IMAGE=0
if "$RUNBOX" image ls --data "$DATA" --json 2>/dev/null | "$PY" -c \
    'import json, sys; sys.exit(0 if any(i["name"] == sys.argv[1] for i in json.load(sys.stdin)) else 1)' "$IMAGE"; then
    HAVE_IMAGE=1
    echo "  native image: '$IMAGE' in $DATA/images"
elif ! command -v debootstrap >/dev/null; then
    echo "  native image: skipped, '$IMAGE' is not in $DATA/images and debootstrap is not installed"
else
    echo "  native image: building '$IMAGE' (python3) into $DATA/images with runbox image build ..."
    mkdir -p "$DATA/debs"
    t0=$(date +%s)
    if "$RUNBOX" image build --data "$DATA" --packages python3 --cache "$DATA/debs" \
        --env RUNBOX_BENCH_IMAGE=image "$IMAGE" >"$TMP/build.out" 2>&1; then
        HAVE_IMAGE=1
        echo "  native image: built in $(($(date +%s) - t0)) s: $(head -1 "$TMP/build.out")"
    else
        echo "  native image: skipped, runbox image build failed: $(tail -5 "$TMP/build.out")"
    fi
fi

# ---- the engine and its image ----
HAVE_DOCKER=0
if [[ -z $DOCKER ]]; then
    echo "  docker: skipped, no docker CLI"
else
    if grep -q '^dockerd_start()' "$ROOT/tests/lib.sh"; then
        # Only the Docker helpers of lib.sh (not its traps and temp dir).
        . <(sed -n '/^# ---- Docker/,/^# ---- end of the Docker helpers/p' "$ROOT/tests/lib.sh")
        if dockerd_start; then
            STARTED_DOCKERD=1
        else
            echo "  docker: the tests' dockerd did not start; trying DOCKER_HOST"
        fi
    fi
    if ! timeout 20 "$DOCKER" version >/dev/null 2>"$TMP/docker.err"; then
        echo "  docker: skipped, no engine answers (${DOCKER_HOST:-the default socket}): $(head -1 "$TMP/docker.err")"
    elif "$DOCKER" image inspect "$DIMAGE" >/dev/null 2>&1; then
        HAVE_DOCKER=1
    elif ((HAVE_IMAGE)); then
        echo "  docker: importing the native image's root as '$DIMAGE' ..."
        if tar -C "$DATA/images/$IMAGE/rootfs" -c . | "$DOCKER" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'ENV RUNBOX_BENCH_IMAGE=docker' \
            - "$DIMAGE" >/dev/null 2>"$TMP/docker.err"; then
            HAVE_DOCKER=1
        else
            echo "  docker: skipped, docker import failed: $(head -3 "$TMP/docker.err")"
        fi
    else
        echo "  docker: skipped, the engine has no '$DIMAGE' and there is no native image to import"
    fi
    ((HAVE_DOCKER)) && echo "  docker: '$DIMAGE' on $("$DOCKER" version --format 'Docker {{.Server.Version}}' 2>/dev/null) (${DOCKER_HOST:-default socket})"
fi
DENV="$CPATH${DOCKER_HOST:+ DOCKER_HOST=$DOCKER_HOST}"
echo

# ---- 1. hello.py ----
echo "== 1. hello.py: bare python3 vs runbox run (host root, --image, --docker) vs docker run =="
set -- python3 "$PY $TMP/hello.py" "runbox run" "$RUNBOX run $TMP/hello.py"
if ((HAVE_IMAGE)) && probe "runbox run --image" "$RUNBOX" run --image "$IMAGE" --data "$DATA" "$TMP/where.py"; then
    if [[ $(cat "$TMP/probe") == image ]]; then
        set -- "$@" "runbox --image" "$RUNBOX run --image $IMAGE --data $DATA $TMP/hello.py"
    else
        echo "  runbox run --image: skipped, the run did not see the image's env (it printed '$(head -c 100 "$TMP/probe")')"
    fi
fi
if ((HAVE_DOCKER)) && probe "runbox run --docker" env $DENV "$RUNBOX" run --docker "$DIMAGE" "$TMP/hello.py"; then
    set -- "$@" "runbox --docker" "$DENV $RUNBOX run --docker $DIMAGE $TMP/hello.py"
fi
if ((HAVE_DOCKER)); then
    set -- "$@" "docker run" "$DENV $DOCKER run --rm --network none -v $TMP/hello.py:/hello.py:ro $DIMAGE python3 /hello.py"
fi
"$PY" "$TIMER" paired --section "images hello.py" --n "$N" --warmup 2 --expect Hello --out "$RES" "$@" ||
    FAILED=1
echo

# ---- 2. a course test ----
echo "== 2. a course test (unittest, 3 tests): bare vs runbox test (host root, image, docker runner) =="
# course DIR RUNNER_JSON: a one-exercise Python course whose tests check add.py.
course() {
    local d=$1 e=$1/exercises/add
    mkdir -p "$e/tests" "$e/solution"
    printf '{"name": "bench", "language": "python", "runner": %s}\n' "$2" >"$d/course.json"
    printf '# Add\nWrite add(a, b).\n' >"$e/README.md"
    printf 'def add(a, b):\n    return 0\n' >"$e/add.py"
    printf 'def add(a, b):\n    return a + b\n' >"$e/solution/add.py"
    cat >"$e/tests/test_add.py" <<'EOF'
import unittest

from add import add


class TestAdd(unittest.TestCase):
    def test_small(self):
        self.assertEqual(add(1, 2), 3)

    def test_negative(self):
        self.assertEqual(add(-1, -2), -3)

    def test_strings(self):
        self.assertEqual(add("a", "b"), "ab")
EOF
    chmod -R a+rX "$d"
}
C=$TMP/courses
course "$C/host" '{"type": "sandbox", "framework": "unittest"}'
mkdir -p "$TMP/bare"
cp "$C/host/exercises/add/solution/add.py" "$C/host/exercises/add/tests/test_add.py" "$TMP/bare/"
SOL=$C/host/exercises/add/solution/add.py
set -- unittest "PYTHONPATH=$TMP/bare PYTHONDONTWRITEBYTECODE=1 $PY -m unittest -q test_add" \
    "runbox test" "$RUNBOX test --course $C/host --exercise add $SOL"
if ((HAVE_IMAGE)); then
    course "$C/image" "{\"type\": \"sandbox\", \"framework\": \"unittest\", \"image\": \"$IMAGE\"}"
    # The image's env marker, seen by a test: the runner really runs on the image.
    mkdir -p "$C/where/exercises/add"
    cp -r "$C/image/." "$C/where/"
    printf 'import os, unittest\n\nclass T(unittest.TestCase):\n    def test_where(self):\n        self.assertEqual(os.environ.get("RUNBOX_BENCH_IMAGE"), "image")\n' \
        >"$C/where/exercises/add/tests/test_add.py"
    if probe "runbox test (image runner)" "$RUNBOX" test --data "$DATA" --course "$C/image" --exercise add "$SOL"; then
        if "$RUNBOX" test --data "$DATA" --course "$C/where" --exercise add "$SOL" >/dev/null 2>&1; then
            set -- "$@" "test --image" "$RUNBOX test --data $DATA --course $C/image --exercise add $SOL"
        else
            echo "  runbox test (image runner): skipped, its tests did not run on the image (the runner's image is ignored?)"
        fi
    fi
fi
if ((HAVE_DOCKER)); then
    course "$C/docker" "{\"type\": \"docker\", \"framework\": \"unittest\", \"image\": \"$DIMAGE\"}"
    if probe "runbox test (docker runner)" env $DENV "$RUNBOX" test --course "$C/docker" --exercise add "$SOL"; then
        set -- "$@" "test --docker" "$DENV $RUNBOX test --course $C/docker --exercise add $SOL"
    fi
fi
# unittest prints its summary on stderr; the check is the exit status.
"$PY" "$TIMER" paired --section "images course test" --n "$N" --warmup 2 --out "$RES" "$@" ||
    FAILED=1
echo

echo "== summary (ms; ratios to the bare run) =="
"$PY" "$TIMER" summary "$RES"
exit $((FAILED ? 1 : 0))
