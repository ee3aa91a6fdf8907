#!/usr/bin/env bash
# Per-run latency of the Docker runner, medians of N runs taken in turn (default 11):
#   runbox exec --docker IMAGE -- /bin/true      (the runner: sweep, workspace, run, rm -f)
#   docker run --rm IMAGE /bin/true              (the engine alone)
#   docker run --rm + the runner's hardening flags, without runbox
#   runbox exec -- /bin/true                     (the sandbox, for scale)
#
#   bench/docker.sh [N]
#
# Needs root, dockerd and the built tree (RUNBOX_BUILD=DIR, default <repo>/build). The engine is
# the tests' own (tests/lib.sh dockerd_start, stopped at the end unless a test shares it) with
# the test image runbox-test/bookworm (test_docker_images: made once, then cached). A benchmark,
# not a test: exits 1 when a check run of each command fails, 2 when the engine or the image
# cannot be had.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${RUNBOX_BUILD:-$ROOT/build}
N=${1:-11}
. "$ROOT/tests/lib.sh"
RB=$BUILD/runbox
trap 'dockerd_stop; rm -rf "$TMP"' EXIT
dockerd_start || exit 2
test_docker_images || exit 2
I=$TEST_IMAGE_BASE
for check in "$RB exec --docker $I -- /bin/true" "$RB exec -- /bin/true" "docker run --rm $I /bin/true"; do
    $check </dev/null || { echo "bench/docker.sh: '$check' failed" >&2; exit 1; }
done

us() { # us CMD...: the command's wall time in microseconds
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 </dev/null
    e=$(date +%s%N)
    echo $(((e - s) / 1000))
}
stats() { sort -n | awk '{ a[NR] = $1 } END {
    printf "median %6.1f ms   min %6.1f   max %6.1f   (n=%d)\n", a[int((NR + 1) / 2)] / 1000,
        a[1] / 1000, a[NR] / 1000, NR }'; }
flags=(--rm -i --network none --memory 256m --memory-swap 256m --pids-limit 64 --read-only
    --tmpfs /tmp:rw,exec,nosuid,size=128m --cap-drop ALL --security-opt no-new-privileges
    --user 60000:60000 --log-driver none)

for _ in 1 2; do # warm caches: the image's layers, the binaries
    us "$RB" exec --docker "$I" -- /bin/true
    us docker run --rm "$I" /bin/true
    us "$RB" exec -- /bin/true
done >/dev/null
for _ in $(seq "$N"); do
    us "$RB" exec --docker "$I" -- /bin/true >>"$TMP/runner"
    us docker run --rm "$I" /bin/true >>"$TMP/bare"
    us docker run "${flags[@]}" "$I" /bin/true >>"$TMP/flags"
    us "$RB" exec -- /bin/true >>"$TMP/sandbox"
done
echo "runbox exec --docker IMAGE -- /bin/true  $(stats <"$TMP/runner")"
echo "docker run --rm IMAGE /bin/true           $(stats <"$TMP/bare")"
echo "docker run --rm + the hardening flags     $(stats <"$TMP/flags")"
echo "runbox exec -- /bin/true (the sandbox)    $(stats <"$TMP/sandbox")"
