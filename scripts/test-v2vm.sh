#!/usr/bin/env bash
# The cgroup, attack, leftover, unprivileged and systemd-unit tests on a pure cgroup v2 host
# with systemd as init: the Debian 12 guest of ../shared/tools/cgroup-v2-vm (kernel 6.1,
# systemd 252), in one command. Output: each script's TAP, then one summary line per script.
#
# NOT a CI stage: the guest runs under qemu's software emulation (TCG), 10 to 50 times slower
# than the host (the whole list took 7.5 minutes on a quiet 2-core host, 2026-12-07; several
# times that under load), and CI must stay under 60 minutes on a hybrid host. Run it by hand
# after changing src/sandbox/cgroup.c, the doctor, deploy/systemd/ or these tests
# (docs/operations.md says so too).
#
# Usage: scripts/test-v2vm.sh [TEST...]   (from a built checkout: ninja -C build first)
#   TEST: names of tests/integration scripts without .sh (default: the list below), or
#   test_sandbox for the sandbox's unit tests.
# Environment: VM (the vm tool; default ../shared/tools/cgroup-v2-vm/vm beside the checkout or
# /work/shared/tools/cgroup-v2-vm/vm), KEEP_VM=1 to leave the guest running afterwards.
# The guest is started (under nice -n 10) and stopped by this script unless it was running.
# The toolchains' compile limits are multiplied by 10 in a copy of languages/ there (TCG
# compiles slowly; see the vm tool's README), and each script gets 30 minutes at most.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
VM=${VM:-}
for v in "$VM" "$ROOT/../shared/tools/cgroup-v2-vm/vm" /work/shared/tools/cgroup-v2-vm/vm; do
    [ -n "$v" ] && [ -x "$v" ] && { VM=$v; break; }
done
[ -x "$VM" ] || { echo "test-v2vm: the vm tool is not there (set VM=)" >&2; exit 2; }
[ -x build/runbox ] || { echo "test-v2vm: build runbox first (ninja -C build)" >&2; exit 2; }
TESTS=("$@")
[ ${#TESTS[@]} = 0 ] && TESTS=(test_sandbox 50-cgroup-modes 60-unprivileged 40-leftovers 20-attacks
    74-deploy 74b-systemd-units 99-nothing-left)

started=0
if ! "$VM" status 2>/dev/null | grep -q running; then
    nice -n 10 "$VM" start || { echo "test-v2vm: the guest does not start" >&2; exit 2; }
    started=1
fi
stop_vm() { [ "$started" = 1 ] && [ "${KEEP_VM:-0}" != 1 ] && "$VM" stop; }
trap stop_vm EXIT

# The checkout (its files that git tracks or would, as they are now), build/ and the page, fresh
# each time.
tree=$(mktemp /tmp/test-v2vm.XXXXXX.tgz)
git ls-files -z -co --exclude-standard | tar --null -T - -czf "$tree" || exit 2
"$VM" copy "$tree" /root/runbox-tree.tgz || exit 2
rm -f "$tree"
"$VM" ssh 'rm -rf /root/runbox && mkdir -p /root/runbox && tar -xzf /root/runbox-tree.tgz -C /root/runbox' || exit 2
"$VM" copy build /root/runbox || exit 2
[ -d web/dist ] && "$VM" copy web/dist /root/runbox/web-dist
"$VM" ssh 'cd /root/runbox && { [ -d web-dist ] && mv web-dist web/dist; true; } &&
    rm -rf /root/languages-tcg && cp -r languages /root/languages-tcg &&
    for f in /root/languages-tcg/*.json; do
        jq "if .compile_limits.time then .compile_limits.time *= 10 | .compile_limits.wall *= 10 else . end" \
            "$f" >"$f.new" && mv "$f.new" "$f"
    done' || exit 2
# PostgreSQL for 74b (runbox-api + runbox-worker); the guest reaches the host's Debian mirror.
if printf '%s\n' "${TESTS[@]}" | grep -qx 74b-systemd-units; then
    "$VM" ssh 'ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null &&
          systemctl disable --now postgresql >/dev/null 2>&1; true; }'
fi

declare -A SUMMARY
failed=0
for t in "${TESTS[@]}"; do
    echo "== $t"
    start=$(date +%s)
    if [ "$t" = test_sandbox ]; then
        cmd='cd /root/runbox && CMOCKA_MESSAGE_OUTPUT=TAP timeout 1800 build/tests/test_sandbox'
    else
        cmd="cd /root/runbox && RUNBOX=\$PWD/build/runbox RUNBOX_LANGUAGES=/root/languages-tcg RUNBOX_TEST_UNITS=1 timeout 1800 bash tests/integration/$t.sh"
    fi
    "$VM" ssh "$cmd" 2>&1 | tee "/tmp/test-v2vm.$t.tap"
    rc=${PIPESTATUS[0]}
    n_ok=$(grep -c '^ok ' "/tmp/test-v2vm.$t.tap")
    n_bad=$(grep -c '^not ok ' "/tmp/test-v2vm.$t.tap")
    SUMMARY[$t]="rc=$rc ok=$n_ok not_ok=$n_bad $(($(date +%s) - start)) s"
    [ "$rc" = 0 ] || failed=1
done
echo "== summary (pure cgroup v2 guest: $("$VM" ssh 'uname -r; systemctl --version | head -1' | tr '\n' ' '))"
for t in "${TESTS[@]}"; do printf '%-20s %s\n' "$t" "${SUMMARY[$t]}"; done
exit $failed
