#!/usr/bin/env bash
# The shipped systemd units under a real systemd (PID 1), exactly as deploy/systemd has them:
# runbox.service alone (SQLite), then runbox-api.service + runbox-worker.service against a
# PostgreSQL database; a job through each. And `runbox doctor` under a unit setting that breaks
# every run (ProtectHostname=yes: systemd's seccomp filter travels into the boxes) must say so.
#
# It installs runbox into /usr/local, the units into /etc/systemd/system and /etc/runbox, and
# starts them: only on a throwaway host. So it runs only with RUNBOX_TEST_UNITS=1 and systemd
# as init (scripts/test-v2vm.sh sets it in the cgroup-v2 VM); elsewhere it skips.
. "$(dirname "$0")/../lib.sh"

if [ "${RUNBOX_TEST_UNITS:-}" != 1 ] || [ ! -d /run/systemd/system ]; then
    not_here "systemd units" "needs systemd as init and RUNBOX_TEST_UNITS=1 (a throwaway host: scripts/test-v2vm.sh)"
    done_testing
    exit
fi
need_tools 74b-systemd-units curl jq systemctl systemd-run
BIN=$(dirname "$RUNBOX")
UNITS=(runbox.service runbox-api.service runbox-worker.service)
PGDIR=$(mktemp -d /tmp/runbox-units.XXXXXX)
chmod 755 "$PGDIR"
cleanup() {
    systemctl stop "${UNITS[@]}" 2>/dev/null
    for u in "${UNITS[@]}"; do rm -f "/etc/systemd/system/$u"; done
    rm -f /etc/runbox/runbox.env /usr/local/bin/runbox
    rm -rf /usr/local/libexec/runbox /usr/local/share/runbox
    systemctl daemon-reload
    systemctl reset-failed "${UNITS[@]}" 2>/dev/null
    pg_stop "$PGDIR/pg"
    rm -rf "$PGDIR" "$TMP"
}
trap cleanup EXIT

# ---- Install, as runbox.service's header says ----
install -D -m 0755 "$RUNBOX" /usr/local/bin/runbox &&
    install -D -m 0755 "$BIN/runbox-service" /usr/local/libexec/runbox/runbox-service &&
    install -D -m 0755 "$BIN/runbox-docker-init" /usr/local/libexec/runbox/runbox-docker-init &&
    rm -rf /usr/local/share/runbox && mkdir -p /usr/local/share/runbox &&
    cp -r "${RUNBOX_LANGUAGES:-$ROOT/languages}" /usr/local/share/runbox/languages
tap $? "runbox installed into /usr/local"
if [ -d "$ROOT/web/dist" ]; then
    cp -r "$ROOT/web/dist" /usr/local/share/runbox/web
else # the page is not what this tests
    mkdir -p /usr/local/share/runbox/web && echo '<!doctype html><title>runbox</title>' >/usr/local/share/runbox/web/index.html
fi
for u in "${UNITS[@]}"; do install -D -m 0644 "$ROOT/deploy/systemd/$u" "/etc/systemd/system/$u"; done
systemctl daemon-reload

# wait_http URL: until it answers 200 (60 s: the VM is slow).
wait_http() {
    for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
    return 1
}
# execute URL [TOKEN]: one Python run through the API; the JSON result on stdout.
execute() {
    curl -s --max-time 120 ${2:+-H "Authorization: Bearer $2"} -H 'Content-Type: application/json' \
        -d '{"language":"python","code":"import socket; print(6*7, socket.gethostname())"}' \
        "$1/api/v1/code/execute"
}
journal() { journalctl -u "$1" --no-pager -n 30 2>&1; }

# ---- runbox.service alone ----
systemctl start runbox.service
wait_http http://127.0.0.1:8080/healthz
tap $? "runbox.service starts and answers /healthz" || diag "$(journal runbox.service)"
runbox user add alice --admin --password-stdin >/dev/null 2>&1 <<<"a long password for the unit test"
key=$(runbox key add alice --name units 2>/dev/null | tail -1)
execute http://127.0.0.1:8080 "$key" >"$TMP/r.json"
jq_is '.status == "success" and .output == "42 runbox\n"' "$TMP/r.json"
tap $? "runbox.service: a job runs (in a box named runbox)" || diag "$(cat "$TMP/r.json"; journal runbox.service)"
# Its runs' cgroups (runbox as root: /sys/fs/cgroup/runbox/<pid>-<seq>, one made ahead for
# the next run while it serves) go with it.
pid=$(systemctl show -p MainPID --value runbox.service)
systemctl stop runbox.service
[ "$(systemctl show -p ActiveState --value runbox.service)" = inactive ]
tap $? "runbox.service stops"
left=$(runbox_cgroups "$pid")
[ -z "$left" ]
tap $? "runbox.service: no run cgroup left after it stops" || diag "$left"

# ---- doctor under the setting that broke every run ----
out=$(systemd-run -q -p ProtectHostname=yes --wait --pipe /usr/local/bin/runbox doctor </dev/null 2>&1)
grep -q '\[FAIL\] trial run .*sethostname' <<<"$out" && grep -q 'some isolation features are missing' <<<"$out"
tap $? "doctor under ProtectHostname=yes: the trial run fails on sethostname, and doctor says so" || diag "$out"
out=$(systemd-run -q -p Delegate=yes --wait --pipe /usr/local/bin/runbox doctor </dev/null 2>&1)
grep -q '\[ ok \] trial run' <<<"$out" && ! grep -q 'NOT enforced' <<<"$out"
tap $? "doctor in a Delegate=yes service as root: the trial run works, every limit enforced" || diag "$out"

# ---- runbox-api.service + runbox-worker.service on PostgreSQL ----
if ! PG_URL=$(pg_start "$PGDIR/pg" 2>"$TMP/pg.err"); then
    skip "runbox-api + runbox-worker" "PostgreSQL does not start here: $(cat "$TMP/pg.err")"
    done_testing
    exit
fi
pg_createdb "$PG_URL" runbox
mkdir -p /etc/runbox
# The example, filled in: the database, and no login on the API (not what this tests; runbox
# allows that on loopback only).
sed -e "s|^RUNBOX_DB=.*|RUNBOX_DB=${PG_URL%/postgres}/runbox|" \
    -e 's|^RUNBOX_API_LISTEN=.*|RUNBOX_API_LISTEN=127.0.0.1:8080|' \
    -e 's|^RUNBOX_API_OPTS=.*|RUNBOX_API_OPTS=--no-auth|' \
    "$ROOT/deploy/systemd/runbox.env.example" >/etc/runbox/runbox.env
chmod 600 /etc/runbox/runbox.env
systemctl start runbox-worker.service runbox-api.service
wait_http http://127.0.0.1:8080/healthz && wait_http http://127.0.0.1:8081/healthz
tap $? "runbox-api.service and runbox-worker.service start on PostgreSQL" ||
    diag "$(journal runbox-api.service; journal runbox-worker.service)"
execute http://127.0.0.1:8080 >"$TMP/r.json"
jq_is '.status == "success" and .output == "42 runbox\n"' "$TMP/r.json"
tap $? "runbox-api + runbox-worker: a job runs on the worker" ||
    diag "$(cat "$TMP/r.json"; journal runbox-worker.service)"
pid=$(systemctl show -p MainPID --value runbox-worker.service)
systemctl stop runbox-api.service runbox-worker.service
[ "$(systemctl show -p ActiveState --value runbox-worker.service)" = inactive ]
tap $? "runbox-api and runbox-worker stop"
left=$(runbox_cgroups "$pid")
[ -z "$left" ]
tap $? "runbox-worker.service: no run cgroup left after it stops" || diag "$left"

done_testing
