# Shared helpers for the integration tests (TAP). Source it; then call plan/ok/... .
# RUNBOX is the binary under test (tests/run.sh sets it; defaults to build/runbox).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNBOX=${RUNBOX:-$ROOT/build/runbox}
# A path relative to the caller's dir (tests/run.sh gives build/runbox) must survive a cd.
case $RUNBOX in /*) ;; *) RUNBOX=$PWD/$RUNBOX ;; esac
PROGS=$ROOT/tests/programs
T_NUM=0
T_FAILED=0
TMP=$(mktemp -d /tmp/runbox-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ok CONDITION_EXIT_CODE NAME: print a TAP line.
tap() {
    local rc=$1; shift
    T_NUM=$((T_NUM + 1))
    if [ "$rc" = 0 ]; then
        echo "ok $T_NUM - $*"
    else
        echo "not ok $T_NUM - $*"
        T_FAILED=$((T_FAILED + 1))
    fi
    return "$rc" # so that `tap $? NAME || diag ...` prints the diagnostic
}

# jq_is FILTER [FILE]: FILTER holds for FILE's JSON (stdin without FILE). Unlike `jq -e`
# alone (jq 1.6 exits 0 on empty input), an empty or missing input is false.
jq_is() {
    local in
    in=$(cat "${2:-/dev/stdin}" 2>/dev/null)
    [ -n "$in" ] && jq -e "$1" <<<"$in" >/dev/null 2>&1
}

# not_here NAME REASON: a skip that is never a failure: the check belongs to another kind of
# host (pure cgroup v2 with systemd as init, a throwaway VM), not to something that should
# work here. scripts/test-v2vm.sh runs those where they belong.
not_here() {
    T_NUM=$((T_NUM + 1))
    echo "ok $T_NUM - $1 # SKIP $2"
}

# skip NAME REASON: a skip, which is a failure when SBX_MUST_WORK=1.
skip() {
    T_NUM=$((T_NUM + 1))
    if [ "${SBX_MUST_WORK:-0}" = 1 ]; then
        echo "not ok $T_NUM - $1 # SBX_MUST_WORK set, but: $2"
        T_FAILED=$((T_FAILED + 1))
    else
        echo "ok $T_NUM - $1 # SKIP $2"
    fi
}

diag() { sed 's/^/# /' <<<"$*"; }

# field JSON_FILE KEY...: print a field of a JSON object (nested keys allowed) with jq.
field() {
    local f=$1; shift
    local path=""
    for k in "$@"; do path="$path.$k"; done
    jq -r "$path" <"$f"
}

# expect NAME JSON_FILE KEY EXPECTED: check one field, with a diagnostic on failure.
expect() {
    local name=$1 f=$2 key=$3 want=$4 got
    got=$(jq -r ".$key" <"$f" 2>/dev/null)
    if [ "$got" = "$want" ]; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "expected $key=$want, got $key=$got"
        diag "$(head -c 1500 "$f")"
    fi
}

# rb_run OUT_JSON [runbox run args...]: runbox run --json, result into OUT_JSON, rc in RB_RC.
rb_run() {
    local out=$1; shift
    "$RUNBOX" run --json "$@" >"$out" 2>"$out.err" </dev/null
    RB_RC=$?
}

# rb_exec OUT_JSON [runbox exec args...]
rb_exec() {
    local out=$1; shift
    "$RUNBOX" exec --json "$@" >"$out" 2>"$out.err" </dev/null
    RB_RC=$?
}

# runbox_cgroups [PID]: the run cgroups of runbox process PID (all runbox cgroups without it)
# on any layout: v1 and hybrid /sys/fs/cgroup/<controller>/runbox/<pid>-*, hybrid's
# /sys/fs/cgroup/unified/runbox/..., pure v2's /sys/fs/cgroup/runbox/<pid>-*, and a delegated
# cgroup's .../<delegated cgroup>/runbox/<pid>-* at any depth (not root: src/sandbox/cgroup.c).
runbox_cgroups() {
    find /sys/fs/cgroup -type d -path "*/runbox/${1:-[0-9]}*-*" 2>/dev/null
}

done_testing() {
    echo "1..$T_NUM"
    [ "$T_FAILED" = 0 ]
}

# need_tools NAME TOOL...: when a tool is missing, one skip line (a failure under
# SBX_MUST_WORK=1) for the whole script NAME, and the script ends there.
need_tools() {
    local name=$1 tool
    shift
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            skip "$name" "$tool is not installed"
            done_testing
            exit
        fi
    done
}

# ---- runbox serve: helpers for the HTTP tests (70-serve.sh, 71-serve-stream.sh) ----
# One server at a time: srv_start sets SRV_PID and SRV_URL; every api call uses SRV_TOKEN when set.
# The EXIT trap stops the server and any process given to srv_bg, then removes $TMP.
SRV_PID=""
SRV_URL=""
SRV_TOKEN=""
SRV_BG=()
R=$TMP/resp.json # the body of the last api call; its headers in $R.hdr, its HTTP status in $CODE
CODE=""

srv_cleanup() {
    local p
    for p in ${SRV_PID:+"$SRV_PID"} ${SRV_BG[@]+"${SRV_BG[@]}"}; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in ${SRV_PID:+"$SRV_PID"} ${SRV_BG[@]+"${SRV_BG[@]}"}; do
        for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap srv_cleanup EXIT

# ws_python: a python3 that has the websockets package (Debian python3-websockets), or nothing.
ws_python() {
    local py
    for py in /usr/bin/python3 python3; do
        if "$py" -c 'import websockets' 2>/dev/null; then echo "$py"; return; fi
    done
}

# srv_bg PID: a helper process (a webhook receiver, ...) to kill when the script exits.
srv_bg() { SRV_BG+=("$1"); }

# srv_start DATA_DIR [serve args...]: start `runbox serve` on a free port of 127.0.0.1 and wait
# for GET /healthz. stdout and stderr go to $TMP/srv.out and $TMP/srv.err. Returns non-zero
# (with diagnostics) when it does not come up within 20 s.
srv_start() {
    local data=$1; shift
    : >"$TMP/srv.out"
    : >"$TMP/srv.err"
    "$RUNBOX" serve --listen 127.0.0.1:0 --data "$data" "$@" >"$TMP/srv.out" 2>"$TMP/srv.err" </dev/null &
    SRV_PID=$!
    SRV_URL=""
    for _ in $(seq 200); do
        SRV_URL=$(sed -n 's|^runbox: serving on \(http://[^ ]*[^/ ]\)/\{0,1\}$|\1|p' "$TMP/srv.out")
        [ -n "$SRV_URL" ] && curl -sf -o /dev/null "$SRV_URL/healthz" && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    diag "the server did not come up: $(cat "$TMP/srv.out" "$TMP/srv.err")"
    return 1
}

# srv_start_or_end NAME DATA_DIR [serve args...]: srv_start as the TAP line NAME; when the
# server does not come up the script ends there (its plan printed).
srv_start_or_end() {
    local name=$1
    shift
    if ! srv_start "$@"; then
        tap 1 "$name"
        done_testing
        exit
    fi
    tap 0 "$name"
}

# srv_stop [SIGNAL]: signal the server (TERM by default) and wait up to 30 s; its exit status
# goes into SRV_RC (137 after a forced kill; "sanitizer report (N)" when its stderr has one).
srv_stop() {
    local sig=${1:-TERM}
    SRV_RC=""
    [ -n "$SRV_PID" ] || return 0
    kill -"$sig" "$SRV_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_RC=$?
    SRV_PID=""
    # A sanitizer's report (ASan, UBSan) fails the exit status check, whatever the status.
    if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/srv.err"; then
        SRV_RC="sanitizer report ($SRV_RC)"
    fi
}

# api METHOD PATH [curl args...]: one call; body in $R, headers in $R.hdr, status in $CODE.
api() {
    local m=$1 p=$2; shift 2
    local auth=()
    [ -n "$SRV_TOKEN" ] && auth=(-H "Authorization: Bearer $SRV_TOKEN")
    CODE=$(curl -sS --max-time 60 -o "$R" -D "$R.hdr" -w '%{http_code}' -X "$m" \
        ${auth[@]+"${auth[@]}"} "$@" "$SRV_URL$p")
}

# api_json METHOD PATH JSON [curl args...]: a call with a JSON body.
api_json() {
    local m=$1 p=$2 body=$3; shift 3
    api "$m" "$p" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# api_check NAME HTTP_STATUS [JQ_FILTER]: a TAP line: the last call answered HTTP_STATUS and its
# body passes the jq filter (default: any JSON).
api_check() {
    local name=$1 want=$2 filter=${3:-.}
    if [ "$CODE" = "$want" ] && jq -e "$filter" "$R" >/dev/null 2>&1; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "expected HTTP $want and $filter"
        diag "got HTTP $CODE: $(head -c 1500 "$R")"
        return 1
    fi
}

# srv_header NAME: the value of a header of the last call (case-insensitive name).
srv_header() { tr -d '\r' <"$R.hdr" | sed -n "s/^$1: *//Ip" | tail -1; }

# http_is NAME WANT_CODE [HEADER VALUE]...: the last answer's status ($CODE), and headers equal
# to values ("" for a header that must be absent), as the TAP line NAME.
http_is() {
    local name=$1 want=$2 bad=""; shift 2
    [ "$CODE" = "$want" ] || bad="HTTP $CODE, not $want"
    while [ $# -ge 2 ]; do
        local got
        got=$(srv_header "$1")
        [ "$got" = "$2" ] || bad="$bad; $1: '$got', not '$2'"
        shift 2
    done
    [ -z "$bad" ]
    tap $? "$name" || diag "$bad; headers: $(tr -d '\r' <"$R.hdr" | tr '\n' '|'); body: $(head -c 300 "$R")"
}

# srv_login USER PASSWORD: print a bearer token (empty when the login fails).
srv_login() {
    curl -sS --max-time 30 -d "username=$1" --data-urlencode "password=$2" \
        "$SRV_URL/api/v1/auth/token" | jq -r '.access_token // empty'
}

# srv_wait_state ID STATE [SECONDS]: poll GET /api/v1/code/runs/ID until its state is STATE
# (queued, running, done); the last answer stays in $R. Returns non-zero on timeout.
srv_wait_state() {
    local id=$1 want=$2 secs=${3:-60} i
    for ((i = 0; i < secs * 10; i++)); do
        api GET "/api/v1/code/runs/$id"
        [ "$CODE" = 200 ] && [ "$(jq -r .state "$R")" = "$want" ] && return 0
        sleep 0.1
    done
    return 1
}
# ---- end of runbox serve helpers ----

# ---- a Debian root for the image and Docker tests ----
# base_rootfs: print the path of a Debian bookworm minbase root with python3, gcc and libc6-dev
# (debootstrap from deb.debian.org), made once per machine under /var/cache/runbox-tests and
# reused (the normal and the sanitizer builds' runs share it); print nothing and return 1 when
# it cannot be made, with the reason on stderr. Concurrent callers wait for one another (flock).
BASE_ROOTFS_PACKAGES=python3,gcc,libc6-dev
base_rootfs() {
    local cache=/var/cache/runbox-tests dir=/var/cache/runbox-tests/bookworm-minbase
    command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; return 1; }
    mkdir -p "$cache" || return 1
    (
        flock 9
        [ -f "$dir.complete" ] && [ -d "$dir" ] && exit 0
        rm -rf "$dir" "$dir.tmp" "$dir.complete"
        if ! debootstrap --variant=minbase --include="$BASE_ROOTFS_PACKAGES" bookworm "$dir.tmp" \
            http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1; then
            echo "debootstrap failed: $(tail -3 "$cache/debootstrap.log")" >&2
            rm -rf "$dir.tmp"
            exit 1
        fi
        # Caches and logs a root never needs: smaller imports.
        rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb "$dir.tmp"/var/lib/apt/lists/*
        mv "$dir.tmp" "$dir" && touch "$dir.complete"
    ) 9>"$cache/.lock" || return 1
    echo "$dir"
}

# ---- Docker: a test engine of the tests' own, and images made without a registry ----
# dockerd_start starts (or joins) one dockerd for the tests, with its data under
# /var/cache/runbox-tests/docker (kept: imported and built images survive from run to run), and
# exports DOCKER_HOST to its socket, for docker and runbox alike. Every caller registers by its
# shell's pid; dockerd_stop unregisters and stops the engine when no live caller is left, so
# scripts that run at the same time share one engine. Both return non-zero with the reason on
# stderr. Call dockerd_stop from the script's EXIT trap (after srv_cleanup when both are used).
DOCKERD_SOCK=/run/runbox-test-docker.sock
DOCKERD_PIDFILE=/run/runbox-test-docker.pid
DOCKERD_EXEC=/run/runbox-test-docker
DOCKERD_DATA=/var/cache/runbox-tests/docker
DOCKERD_USERS=/run/runbox-test-docker.users
DOCKERD_LOCK=/var/cache/runbox-tests/.docker.lock
DOCKERD_LOG=/var/cache/runbox-tests/dockerd.log

# dockerd_alive: the engine of the pid file answers on the socket.
dockerd_alive() {
    local pid
    pid=$(cat "$DOCKERD_PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        DOCKER_HOST=unix://$DOCKERD_SOCK timeout 10 docker version >/dev/null 2>&1
}

dockerd_start() {
    command -v dockerd >/dev/null || { echo "dockerd is not installed" >&2; return 1; }
    mkdir -p /var/cache/runbox-tests "$DOCKERD_USERS" || return 1
    export DOCKER_HOST=unix://$DOCKERD_SOCK
    (
        flock 9
        touch "$DOCKERD_USERS/$$"
        dockerd_alive && exit 0
        # The engine must not hold the lock (9) nor the caller's pipes; its own session, so
        # that signals to the test's process group leave it alone.
        setsid dockerd --iptables=false --ip6tables=false --bridge=none \
            --storage-driver=overlay2 --data-root "$DOCKERD_DATA" --exec-root "$DOCKERD_EXEC" \
            --pidfile "$DOCKERD_PIDFILE" -H "unix://$DOCKERD_SOCK" \
            </dev/null >"$DOCKERD_LOG" 2>&1 9>&- &
        for _ in $(seq 300); do
            dockerd_alive && exit 0
            sleep 0.1
        done
        echo "dockerd did not come up: $(tail -5 "$DOCKERD_LOG")" >&2
        rm -f "$DOCKERD_USERS/$$"
        exit 1
    ) 9>"$DOCKERD_LOCK"
}

dockerd_stop() {
    local f pid
    [ -d "$DOCKERD_USERS" ] || return 0
    (
        flock 9
        rm -f "$DOCKERD_USERS/$$"
        for f in "$DOCKERD_USERS"/*; do
            [ -e "$f" ] || continue
            kill -0 "${f##*/}" 2>/dev/null || rm -f "$f"
        done
        [ -z "$(ls -A "$DOCKERD_USERS")" ] || exit 0
        pid=$(cat "$DOCKERD_PIDFILE" 2>/dev/null)
        [ -n "$pid" ] || exit 0
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        rm -f "$DOCKERD_PIDFILE"
        # What the engine leaves mounted even after a clean stop (netns/default), and its
        # overlays after a forced one: deepest first.
        awk -v a="$DOCKERD_EXEC/" -v b="$DOCKERD_DATA/" \
            'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo |
            sort -r | while read -r m; do umount -l "$m"; done
    ) 9>"$DOCKERD_LOCK"
}

# test_docker_images: make the test images once (they stay in the engine's data root), after
# dockerd_start: runbox-test/bookworm, imported from base_rootfs (python3, gcc, libc6-dev),
# and runbox-test/python-course:v1 built on it with python3-pytest (apt through the host's
# network). Returns non-zero with the reason on stderr.
TEST_IMAGE_BASE=runbox-test/bookworm
TEST_IMAGE_COURSE=runbox-test/python-course:v1
test_docker_images() {
    (
        flock 9
        local root dir
        if ! docker image inspect "$TEST_IMAGE_BASE" >/dev/null 2>&1; then
            root=$(base_rootfs) || exit 1
            tar -C "$root" -c . | docker import - "$TEST_IMAGE_BASE" >/dev/null || exit 1
        fi
        docker image inspect "$TEST_IMAGE_COURSE" >/dev/null 2>&1 && exit 0
        dir=$(mktemp -d /tmp/runbox-dockerfile.XXXXXX) || exit 1
        cat >"$dir/Dockerfile" <<DOCKERFILE
FROM $TEST_IMAGE_BASE
RUN apt-get update && apt-get install -y --no-install-recommends python3-pytest && rm -rf /var/lib/apt/lists/*
DOCKERFILE
        # The legacy builder: a newer client would want buildx for BuildKit.
        if ! DOCKER_BUILDKIT=0 docker build --network host -t "$TEST_IMAGE_COURSE" "$dir" \
            >"$dir.log" 2>&1; then
            echo "docker build failed: $(tail -5 "$dir.log")" >&2
            rm -rf "$dir" "$dir.log"
            exit 1
        fi
        rm -rf "$dir" "$dir.log"
    ) 9>/var/cache/runbox-tests/.docker-images.lock
}
# ---- end of the Docker helpers ----

# ---- PostgreSQL for the tests ----
# A throwaway postmaster of our own: run as the system user "postgres" (it refuses root), on a
# data dir and a socket dir under the caller's DIR, listening on 127.0.0.1 at a free port.
# DIR's parent must be traversable by "postgres" (mktemp -d under /tmp, then chmod 755).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# pg_ctl_as DIR ARGS...: pg_ctl on DIR/data as the user postgres (restart, stop, ...).
pg_ctl_as() {
    local dir=$1; shift
    (cd / && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" "$@")
}

# pg_start DIR: initdb DIR/data (trust auth, superuser "postgres", UTF8, fsync on), start it
# and print its URL postgresql://postgres@127.0.0.1:PORT/postgres on stdout. Non-zero with the
# reason on stderr when it cannot start.
pg_start() {
    local dir=$1 port try
    mkdir -p "$dir" && chown postgres: "$dir" && chmod 700 "$dir" || return 1
    runuser -u postgres -- mkdir -p "$dir/sock" || return 1
    if ! (cd / && runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" --auth=trust \
        -U postgres --encoding=UTF8 --locale=C) >"$dir/initdb.log" 2>&1; then
        echo "pg_start: initdb failed: $(tail -3 "$dir/initdb.log")" >&2
        return 1
    fi
    for try in $(seq 20); do
        port=$((20000 + RANDOM % 30000))
        [ "$port" = 55432 ] && continue
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && continue
        # The last setting of a name wins, so a retry just appends its own port.
        printf "%s\n" "listen_addresses = '127.0.0.1'" "port = $port" \
            "unix_socket_directories = '$dir/sock'" "max_connections = 200" \
            >>"$dir/data/postgresql.conf"
        if pg_ctl_as "$dir" -w -t 60 start >/dev/null 2>&1; then
            echo "postgresql://postgres@127.0.0.1:$port/postgres"
            return 0
        fi
    done
    echo "pg_start: the postmaster did not start: $(tail -3 "$dir/log" 2>/dev/null)" >&2
    return 1
}

# pg_stop DIR: stop the postmaster of pg_start DIR (fast, else immediate), then remove DIR.
pg_stop() {
    local dir=$1
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        pg_ctl_as "$dir" -w -t 30 stop -m fast >/dev/null 2>&1 ||
            pg_ctl_as "$dir" -w -t 30 stop -m immediate >/dev/null 2>&1
    fi
    rm -rf "$dir"
}

# pg_createdb URL NAME: create the database NAME on the server of URL.
pg_createdb() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "CREATE DATABASE \"$2\"" >/dev/null
}
