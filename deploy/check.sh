#!/usr/bin/env bash
# Static checks of the deployment files: deploy/k8s/*.yaml, deploy/systemd/*, the Dockerfile,
# .dockerignore and deploy/docker/entrypoint.sh, against each other and against runbox itself
# (the flags of `runbox serve --help`, the shutdown grace in src/server/server.c, the cgroup
# layout of src/sandbox/). No network, no cluster, no Docker engine. Output: TAP.
# Usage: deploy/check.sh   ($RUNBOX: the binary whose flags count, default build/runbox)
# Needs bash, python3 with PyYAML (Debian: python3-yaml), grep, sed; uses systemd-analyze, the
# ShellCheck linter and apt-cache when they are there (a check that cannot run says SKIP, and why).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNBOX=${RUNBOX:-$ROOT/build/runbox}
cd "$ROOT" || exit 1
TMP=$(mktemp -d /tmp/runbox-deploy-check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
N=0
FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
diag() { [ -n "$*" ] && printf '%s\n' "$*" | sed 's/^/# /' | head -30; return 0; }
# check NAME COMMAND...: ok when COMMAND succeeds; else not ok, with what it printed.
check() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc = 0 ]; then ok "$name"; else not_ok "$name"; diag "$out"; fi
}

UNITS=(deploy/systemd/runbox.service deploy/systemd/runbox-api.service
    deploy/systemd/runbox-worker.service)
ROOT_UNITS=(deploy/systemd/runbox.service deploy/systemd/runbox-worker.service)
ENV_EXAMPLE=deploy/systemd/runbox.env.example
ENTRYPOINT=deploy/docker/entrypoint.sh

# ---- What the checks compare against ----
# The shutdown grace: SHUTDOWN_GRACE_MS in src/server/server.c.
GRACE_MS=$(sed -n 's/^#define SHUTDOWN_GRACE_MS \([0-9][0-9]*\).*/\1/p' src/server/server.c)
if [ -n "$GRACE_MS" ]; then
    ok "the shutdown grace is in src/server/server.c ($GRACE_MS ms)"
else
    not_ok "the shutdown grace is in src/server/server.c"
    diag "no '#define SHUTDOWN_GRACE_MS N' there: the stop timeouts cannot be checked"
    GRACE_MS=10000
fi
GRACE_S=$((GRACE_MS / 1000))

PY=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
    ok "python3 with PyYAML ($PY)"
else
    not_ok "python3 with PyYAML"
    diag "install python3-yaml (scripts/setup.sh does)"
fi

HELP=""
if [ -x "$RUNBOX" ] && HELP=$("$RUNBOX" serve --help 2>&1) && grep -q -- '--role' <<<"$HELP"; then
    ok "runbox serve --help ($RUNBOX)"
else
    not_ok "runbox serve --help ($RUNBOX)"
    diag "build runbox first (ninja -C build) or set RUNBOX: $HELP"
    HELP=""
fi

# ---- deploy/k8s ----
if [ -n "$PY" ]; then
    if ! "$PY" deploy/check-k8s.py deploy/k8s "$GRACE_S" >"$TMP/k8s" 2>&1; then
        not_ok "deploy/check-k8s.py ran"
        diag "$(cat "$TMP/k8s")"
    fi
    while IFS='|' read -r res name why; do
        case $res in
        ok) ok "k8s: $name" ;;
        fail) not_ok "k8s: $name"; diag "$why" ;;
        esac
    done <"$TMP/k8s"
fi

# ---- flags: every `runbox serve` flag used here exists ----
# flags_in FILE...: the --flags of the `runbox serve` command lines in FILEs (one a line).
serve_flags_of() {
    grep -h -E 'runbox"?,? *"?serve' "$@" | grep -o -E -- '(^|[" ,])--[a-z][a-z-]*' |
        sed 's/^[" ,]*//'
}
check_flags() { # NAME FLAG...
    local name=$1 f missing=()
    shift
    if [ -z "$HELP" ]; then skip "$name" "no runbox serve --help"; return; fi
    if [ $# = 0 ]; then not_ok "$name"; diag "no runbox serve flags found: is the command line there?"; return; fi
    for f in "$@"; do
        grep -q -E -- "(^|[[ ])$f([] =]|$)" <<<"$HELP" || missing+=("$f")
    done
    if [ ${#missing[@]} = 0 ]; then ok "$name"; else not_ok "$name"; diag "not in runbox serve --help: ${missing[*]}"; fi
}
for u in "${UNITS[@]}"; do
    # shellcheck disable=SC2046
    check_flags "$u: its serve flags exist" $(serve_flags_of "$u" | sort -u)
done
if [ -n "$PY" ]; then
    # shellcheck disable=SC2046
    check_flags "deploy/k8s: the serve flags exist" $("$PY" deploy/check-k8s.py deploy/k8s --flags 2>/dev/null | sort -u)
fi
# shellcheck disable=SC2046
check_flags "Dockerfile and entrypoint: the serve flags exist" $(serve_flags_of Dockerfile "$ENTRYPOINT" | sort -u)
# The *_OPTS of the example environment file (and its commented examples) go on the command line.
# shellcheck disable=SC2046
check_flags "$ENV_EXAMPLE: the flags in its *_OPTS exist" $(grep -E '^#?RUNBOX_[A-Z]+_OPTS=' "$ENV_EXAMPLE" |
    grep -o -E -- '(^|[ =])--[a-z][a-z-]*' | sed 's/^[ =]*//' | sort -u)

# ---- the ConfigMap's config.json: runbox itself loads it ----
if [ -n "$PY" ] && [ -n "$HELP" ]; then
    "$PY" -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap": sys.stdout.write(d["data"]["config.json"])' \
        deploy/k8s/configmap.yaml >"$TMP/config.json" 2>"$TMP/config.err"
    # A worker without a database stops right after the config is read, saying why: the config
    # file passed if that is the complaint.
    out=$(env -u RUNBOX_DB "$RUNBOX" serve --config "$TMP/config.json" --role worker \
        --data "$TMP/nodata" 2>&1 </dev/null)
    if grep -q "needs the shared database" <<<"$out" && ! grep -q "config:" <<<"$out"; then
        ok "deploy/k8s/configmap.yaml: runbox accepts its config.json"
    else
        not_ok "deploy/k8s/configmap.yaml: runbox accepts its config.json"
        diag "$(cat "$TMP/config.err") $out"
    fi
else
    skip "deploy/k8s/configmap.yaml: runbox accepts its config.json" "no PyYAML or no runbox"
fi

# ---- deploy/systemd ----
# unit_value UNIT KEY: the last value of KEY= in UNIT (as systemd takes the last one).
unit_value() { sed -n "s/^$2=//p" "$1" | tail -1; }
# seconds VALUE: "45s", "45", "1min" to seconds.
seconds() {
    case $1 in
    *min) echo $((${1%min} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
    esac
}
for u in "${UNITS[@]}"; do
    why=""
    [ "$(unit_value "$u" KillMode)" = mixed ] ||
        why+="KillMode=mixed (SIGTERM to runbox alone, which stops its boxes itself); "
    [ "$(unit_value "$u" Restart)" = on-failure ] || why+="Restart=on-failure; "
    t=$(seconds "$(unit_value "$u" TimeoutStopSec)")
    [ -n "$t" ] && [ "$t" -ge $((GRACE_S + 5)) ] 2>/dev/null ||
        why+="TimeoutStopSec=$t: at least the ${GRACE_S} s grace + 5; "
    grep -q '^ExecStart=[^ ]*/runbox serve ' "$u" || why+="ExecStart is not runbox serve; "
    if [ -z "$why" ]; then ok "$u: stop, restart and ExecStart settings"; else not_ok "$u: stop, restart and ExecStart settings"; diag "$why"; fi
done
for u in "${ROOT_UNITS[@]}"; do
    why=""
    # ProtectHostname: systemd's seccomp filter for it travels into the boxes, whose init calls
    # sethostname in its own UTS namespace: every run fails (issue 22).
    for k in PrivateUsers RestrictNamespaces ProtectControlGroups ProtectKernelTunables \
        PrivateDevices MemoryDenyWriteExecute DynamicUser ProtectHostname; do
        v=$(unit_value "$u" "$k")
        case $v in '' | no | false) ;; *) why+="$k=$v breaks the sandbox; " ;; esac
    done
    for k in SystemCallFilter User; do
        [ -z "$(unit_value "$u" "$k")" ] || why+="$k= breaks the sandbox (see the unit's notes); "
    done
    # A capability deny-list may drop only what runbox never uses (the unit's notes list those
    # it uses); an allow-list would have to name them all.
    caps=$(unit_value "$u" CapabilityBoundingSet)
    case $caps in
    '') ;;
    '~'*)
        for c in CAP_SYS_ADMIN CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_NET_ADMIN CAP_MKNOD CAP_KILL \
            CAP_SYS_CHROOT CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_CHOWN CAP_FOWNER CAP_FSETID \
            CAP_SYS_PTRACE CAP_SYS_RESOURCE; do
            grep -qw -- "$c" <<<"$caps" && why+="CapabilityBoundingSet drops $c, which runbox uses; "
        done
        ;;
    *) why+="CapabilityBoundingSet=$caps: an allow-list breaks the sandbox (use ~ and a deny-list); " ;;
    esac
    [ "$(unit_value "$u" Delegate)" = yes ] || why+="Delegate=yes; "
    grep -q '^RuntimeDirectory=runbox$' "$u" || why+="RuntimeDirectory=runbox (/run/runbox under ProtectSystem=strict); "
    if [ -z "$why" ]; then ok "$u: no hardening that breaks the sandbox"; else not_ok "$u: no hardening that breaks the sandbox"; diag "$why"; fi
done
# The worker's stop timeout also covers a result waiting for PostgreSQL until the node fences
# itself (2/3 of the lease: src/cluster/cluster.c keeper_main).
u=deploy/systemd/runbox-worker.service
lease=$(grep -o 'RUNBOX_LEASE_SECONDS=[0-9]*' "$ENV_EXAMPLE" | tail -1 | cut -d= -f2)
t=$(seconds "$(unit_value "$u" TimeoutStopSec)")
if [ -n "$lease" ] && [ -n "$t" ] && [ "$t" -ge $((GRACE_S + lease * 2 / 3 + 5)) ] 2>/dev/null; then
    ok "$u: TimeoutStopSec covers the grace and 2/3 of the lease ($t s)"
else
    not_ok "$u: TimeoutStopSec covers the grace and 2/3 of the lease"
    diag "TimeoutStopSec=$t, lease=$lease s: want at least $GRACE_S + 2/3 x lease + 5"
fi
u=deploy/systemd/runbox-api.service
if [ "$(unit_value "$u" DynamicUser)" = yes ] && grep -q '^CapabilityBoundingSet=$' "$u" &&
    grep -q -- '--role api' "$u"; then
    ok "$u: role api, a dynamic user without capabilities"
else
    not_ok "$u: role api, a dynamic user without capabilities"
fi
# The cluster units read /etc/runbox/runbox.env; every variable they use is in the example.
for u in deploy/systemd/runbox-api.service deploy/systemd/runbox-worker.service; do
    why=""
    grep -q '^EnvironmentFile=/etc/runbox/runbox.env$' "$u" || why+="no EnvironmentFile=/etc/runbox/runbox.env; "
    # shellcheck disable=SC2016 # the unit's own $VARs, literally
    for v in RUNBOX_DB $(grep '^ExecStart=' "$u" | grep -o -E '\$\{?[A-Z_]+' | tr -d '${' | sort -u); do
        grep -q "^$v=" "$ENV_EXAMPLE" || why+="$v is not in $ENV_EXAMPLE; "
        [ "$v" = RUNBOX_DB ] || grep -q "^Environment=.*\b$v=" "$u" || why+="$v has no default in the unit; "
    done
    grep -q -- '--db' "$u" && why+="--db on the command line shows the password in ps; "
    if [ -z "$why" ]; then ok "$u: its variables come from $ENV_EXAMPLE"; else not_ok "$u: its variables come from $ENV_EXAMPLE"; diag "$why"; fi
done
# systemd's own verdict, on copies whose ExecStart is a binary that exists here (verify checks
# that it does) and whose EnvironmentFile is the example.
if command -v systemd-analyze >/dev/null; then
    bin=$(readlink -f "$RUNBOX" 2>/dev/null)
    [ -x "$bin" ] || bin=/bin/true
    for u in "${UNITS[@]}"; do
        name=$(basename "$u")
        sed -e "s|^ExecStart=[^ ]*|ExecStart=$bin|" -e "s|^EnvironmentFile=.*|EnvironmentFile=$ROOT/$ENV_EXAMPLE|" \
            "$u" >"$TMP/$name"
        out=$(cd "$TMP" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify "./$name" 2>&1)
        rc=$?
        mine=$(grep -F "$name" <<<"$out")
        if [ $rc = 0 ] && [ -z "$mine" ]; then
            ok "$u: systemd-analyze verify"
        else
            not_ok "$u: systemd-analyze verify"
            diag "${mine:-$out}"
        fi
    done
else
    for u in "${UNITS[@]}"; do skip "$u: systemd-analyze verify" "systemd-analyze is not installed"; done
fi

# ---- deploy/docker/entrypoint.sh ----
check "$ENTRYPOINT: bash -n" bash -n "$ENTRYPOINT"
check "$ENTRYPOINT: sh -n (it is #!/bin/sh)" sh -n "$ENTRYPOINT"
if command -v shellcheck >/dev/null; then
    check "$ENTRYPOINT: shellcheck" shellcheck "$ENTRYPOINT"
else
    skip "$ENTRYPOINT: shellcheck" "shellcheck is not installed"
fi
# The entrypoint must prepare the cgroup that runbox uses: as root on a cgroup2 /sys/fs/cgroup,
# runbox makes /sys/fs/cgroup/<SBX_CG_NAME>/... (src/sandbox/cgroup.c); the container's own
# processes must go to another child of it.
cg_name=$(sed -n 's/^#define SBX_CG_NAME *"\([^"]*\)".*/\1/p' src/sandbox/sandbox-int.h)
# shellcheck disable=SC2016 # the entrypoint's own $cg, literally
ep_child=$(sed -n 's|^ *mkdir -p "\$cg/\([a-z0-9_-]*\)".*|\1|p' "$ENTRYPOINT")
why=""
grep -q 'snprintf(cg->v2_root, sizeof(cg->v2_root), "/sys/fs/cgroup");' src/sandbox/cgroup.c ||
    why+="src/sandbox/cgroup.c no longer takes /sys/fs/cgroup as the cgroup2 root; "
grep -q '^cg=/sys/fs/cgroup$' "$ENTRYPOINT" || why+="the entrypoint does not work on /sys/fs/cgroup; "
grep -q 'cgroup2fs' "$ENTRYPOINT" || why+="the entrypoint does not test for cgroup v2; "
grep -q "grep -qx '0::/' /proc/self/cgroup" "$ENTRYPOINT" ||
    why+="the entrypoint does not make sure it is at its cgroup namespace's root (not the host's); "
[ -n "$cg_name" ] || why+="no SBX_CG_NAME in src/sandbox/sandbox-int.h; "
[ -n "$ep_child" ] || why+="the entrypoint makes no child cgroup; "
[ -n "$cg_name" ] && [ "$cg_name" = "$ep_child" ] && why+="the entrypoint's cgroup is runbox's own ($cg_name); "
grep -q "cgroup.procs" "$ENTRYPOINT" || why+="the entrypoint moves no processes; "
if [ -z "$why" ]; then
    ok "$ENTRYPOINT: moves the container's processes to /sys/fs/cgroup/$ep_child, beside runbox's /sys/fs/cgroup/$cg_name"
else
    not_ok "$ENTRYPOINT: prepares the cgroup runbox uses"
    diag "$why"
fi

# ---- Dockerfile and .dockerignore ----
why=""
grep -q '^ARG DEBIAN_IMAGE=debian:bookworm-slim$' Dockerfile || why+="the base is not debian:bookworm-slim; "
[ "$(grep -c '^FROM ' Dockerfile)" -ge 2 ] || why+="not multi-stage; "
grep -q '^FROM .* AS build$' Dockerfile || why+="no build stage; "
grep -q '^ENTRYPOINT \["/usr/bin/tini", "--", "/usr/local/bin/runbox-entrypoint"\]$' Dockerfile ||
    why+="ENTRYPOINT is not tini running /usr/local/bin/runbox-entrypoint; "
grep -q "^COPY $ENTRYPOINT /usr/local/bin/runbox-entrypoint$" Dockerfile ||
    why+="$ENTRYPOINT is not copied to /usr/local/bin/runbox-entrypoint; "
if [ -z "$why" ]; then ok "Dockerfile: debian:bookworm-slim, multi-stage, tini runs the entrypoint"; else not_ok "Dockerfile: debian:bookworm-slim, multi-stage, tini runs the entrypoint"; diag "$why"; fi

# Every COPY source (from the context, not another stage) exists and is not ignored.
why=""
while read -r src; do
    [ "$src" = . ] && continue
    [ -e "$src" ] || why+="COPY $src: not in the repository; "
    while read -r pat; do
        case $pat in '' | '#'*) continue ;; esac
        pat=${pat#\*\*/}
        case $src in "$pat" | "$pat"/* | */"$pat" | */"$pat"/*) why+="COPY $src: excluded by .dockerignore ($pat); " ;; esac
    done <.dockerignore
done < <(grep -E '^COPY ' Dockerfile | grep -v -- '--from=' | sed -E 's/^COPY +//' | awk '{for (i = 1; i < NF; i++) print $i}')
if [ -z "$why" ]; then ok "Dockerfile: every COPY source exists and is in the build context"; else not_ok "Dockerfile: every COPY source exists and is in the build context"; diag "$why"; fi

why=""
for pat in .git build node_modules web/dist; do
    grep -q -E "^(\*\*/)?$pat/?$" .dockerignore || why+="$pat; "
done
if [ -z "$why" ]; then ok ".dockerignore: .git, build, node_modules, web/dist"; else not_ok ".dockerignore leaves out .git, build, node_modules, web/dist"; diag "missing: $why"; fi

# The packages apt-get installs in each stage. Backslash-continued RUN lines are joined first.
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' Dockerfile | awk '
    /^FROM /      { stage++ }
    /apt-get install/ { sub(/.*apt-get install[^&]*--no-install-recommends/, ""); sub(/&&.*/, "")
                        n = split($0, w, " "); for (i = 1; i <= n; i++) if (w[i] !~ /^-/) print stage, w[i] }
' >"$TMP/pkgs"
# The runtime stage has every toolchain and test framework of scripts/setup.sh (the boxes run
# them from the image's /usr).
why=""
# shellcheck disable=SC2013 # package names, one word each
for p in $(sed -n '/# language toolchains/,/# in-browser runs/p' scripts/setup.sh | grep -v '^ *#'); do
    grep -q "^2 $p$" "$TMP/pkgs" || why+="$p "
done
for p in tini $(grep -o -E 'lld-14|wasi-libc|lib[a-z+0-9-]*-dev-wasm32' scripts/setup.sh | sort -u); do
    grep -q "^2 $p$" "$TMP/pkgs" || why+="$p "
done
if [ -s "$TMP/pkgs" ] && [ -z "$why" ]; then
    ok "Dockerfile: the runtime stage installs tini and scripts/setup.sh's toolchains"
else
    not_ok "Dockerfile: the runtime stage installs tini and scripts/setup.sh's toolchains"
    diag "missing: ${why:-(no apt-get install found)}"
fi
if command -v apt-cache >/dev/null && apt-cache show bash >/dev/null 2>&1; then
    # One apt-cache call: the names it has a stanza for (a purely virtual name has none).
    cut -d' ' -f2 "$TMP/pkgs" | sort -u >"$TMP/wanted"
    # shellcheck disable=SC2046
    apt-cache show --no-all-versions $(cat "$TMP/wanted") 2>/dev/null | sed -n 's/^Package: //p' |
        sort -u >"$TMP/known"
    unknown=$(comm -23 "$TMP/wanted" "$TMP/known" | tr '\n' ' ')
    if [ -s "$TMP/pkgs" ] && [ -z "$unknown" ]; then
        ok "Dockerfile: every apt package exists ($(wc -l <"$TMP/pkgs") names, apt-cache show)"
    else
        not_ok "Dockerfile: every apt package exists"
        diag "unknown to apt-cache: ${unknown:-(no apt-get install found)}"
    fi
else
    skip "Dockerfile: every apt package exists" "no apt-cache with package lists here"
fi

# ---- docs/operations.md names the metrics that exist ----
if [ -f docs/operations.md ]; then
    code=$(grep -o -E 'runbox_cluster_[a-z_]+' src/cluster/cluster.c | sort -u)
    doc=$(grep -o -E 'runbox_cluster_[a-z_]+' docs/operations.md | sort -u)
    extra=$(comm -13 <(echo "$code") <(echo "$doc"))
    absent=$(comm -23 <(echo "$code") <(echo "$doc"))
    if [ -n "$code" ] && [ -z "$extra" ] && [ -z "$absent" ]; then
        ok "docs/operations.md: the runbox_cluster_* metrics are those of src/cluster/cluster.c"
    else
        not_ok "docs/operations.md: the runbox_cluster_* metrics are those of src/cluster/cluster.c"
        diag "named but not in the code: $extra; in the code but not named: $absent"
    fi
else
    not_ok "docs/operations.md exists"
fi

echo "1..$N"
[ "$FAILED" = 0 ]
