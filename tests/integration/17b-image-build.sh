#!/usr/bin/env bash
# runbox image build: an image from Debian's packages with debootstrap, no daemon.
# Part 1 puts fake debootstraps first in PATH (scripts that record their argv, make a hostile
# root, mount inside the target, leave a daemon behind, hang or fail): what runbox gives
# debootstrap, how it normalises the root, and that nothing is left (staging dir, mounts,
# processes) after a failure, Ctrl-C or a SIGKILLed runbox, all without the network.
# Part 2 runs the real debootstrap against the mirror, twice at most: one build with jq (the
# .debs cached under /var/cache/runbox-tests/debs for the next run), one unknown package
# (fails in seconds), and one build interrupted with Ctrl-C while package scripts run.
. "$(dirname "$0")/../lib.sh"
need_tools "image build" jq python3 curl setpriv

D=$TMP/data
I=$D/images
FAKE=$TMP/fakebin
MIRROR=${RUNBOX_TEST_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$D" "$FAKE"
: >"$TMP/all-err"

# b ARGS...: runbox image build ARGS --data $D; stdout in $TMP/o, stderr in $TMP/e, rc in RC,
# seconds taken in SECS.
b() {
    local t0
    t0=$(date +%s.%N)
    "$RUNBOX" image build "$@" --data "$D" >"$TMP/o" 2>"$TMP/e" </dev/null
    RC=$?
    SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cat "$TMP/e" >>"$TMP/all-err"
}

# nothing_left [DIR]: no staging dir in DIR (default $I), nothing mounted under $TMP in this
# mount namespace, no process of the fakes' (their marker is in their argv).
nothing_left() {
    local dir=${1:-$I}
    [ -z "$(ls -A "$dir" 2>/dev/null | grep -v '^[a-z0-9]')" ] || { echo "left: $(ls -A "$dir")"; return 1; }
    ! grep -q " $TMP" /proc/self/mountinfo || { echo "mounted: $(grep " $TMP" /proc/self/mountinfo)"; return 1; }
    ! pgrep -f "runbox-fake-daemon-$$" >/dev/null || { echo "running: $(pgrep -af "runbox-fake-daemon-$$")"; return 1; }
}

# fake NAME BODY: a debootstrap for the next builds; BODY runs with $target, and the argv is
# recorded in $TMP/argv.
fake() {
    cat >"$FAKE/debootstrap" <<EOF
#!/bin/bash
printf '%s\n' "\$@" >"$TMP/argv"
target=\${@:\$#-1:1}
$2
EOF
    chmod 755 "$FAKE/debootstrap"
    rm -f "$TMP/argv" "$TMP/ready"
}
daemon="(exec -a runbox-fake-daemon-$$ sleep 1000) </dev/null >/dev/null 2>&1 &"

# ---- part 1: fake debootstraps ----
fake marker "touch $TMP/ran; exit 1"
PATH=$FAKE:$PATH b --packages "foo;rm" x
[ $RC = 2 ] && grep -q "bad package name 'foo;rm'" "$TMP/e" && [ ! -e "$TMP/ran" ] && nothing_left
tap $? "a package name with ';' is refused before anything runs" || diag "rc=$RC $(cat "$TMP/e")"
PATH=$FAKE:$PATH b --packages "-x" x
[ $RC = 2 ] && grep -q "bad package name '-x'" "$TMP/e" && [ ! -e "$TMP/ran" ] && nothing_left
tap $? "a package name that is an option is refused before anything runs" || diag "rc=$RC $(cat "$TMP/e")"
PATH=$FAKE:$PATH b --packages "jq Curl" --suite "bookworm;x" --mirror "ftp://x" x
[ $RC = 2 ] && grep -q "bad package name 'Curl'" "$TMP/e" && [ ! -e "$TMP/ran" ]
tap $? "the first bad word of --packages is named" || diag "rc=$RC $(cat "$TMP/e")"
PATH=$FAKE:$PATH b --suite "../x" x
r1=$RC
PATH=$FAKE:$PATH b --mirror "ftp://example/debian" x
r2=$RC
PATH=$FAKE:$PATH b --env "NO-EQUALS" x
[ $r1 = 2 ] && [ $r2 = 2 ] && [ $RC = 2 ] && [ ! -e "$TMP/ran" ] && nothing_left
tap $? "a bad suite, mirror or env is refused before anything runs" || diag "$r1 $r2 $RC"
"$RUNBOX" image ls --packages jq --data "$D" >/dev/null 2>&1
[ $? = 2 ]
tap $? "build options are usage errors on other sub-commands"
chmod 755 "$TMP"
setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$FAKE:$PATH" \
    "$RUNBOX" image build --data "$TMP/nobody" x >"$TMP/o" 2>"$TMP/e" </dev/null
RC=$?
[ $RC = 1 ] && grep -q "needs root" "$TMP/e" && [ ! -e "$TMP/ran" ] && [ ! -e "$TMP/nobody" ]
tap $? "not root: a clear error, nothing made" || diag "rc=$RC $(cat "$TMP/e")"

# A hostile root, as a debootstrap could leave it: device nodes, a FIFO, a socket, setuid and
# setgid bits, a file capability, a sticky file, foreign owners, a symlink to the host's
# /etc/shadow, hard links, downloaded packages and apt lists.
fake hostile "set -e
mkdir -p \"\$target\"/{dev,usr/bin,var/cache/apt/archives/partial,var/lib/apt/lists/partial,var/mail,etc}
mknod \"\$target/dev/null\" c 1 3
mknod \"\$target/dev/sda\" b 8 0
mkfifo \"\$target/fifo\"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \"\$target/sock\"
echo su >\"\$target/usr/bin/su\"; chmod 4755 \"\$target/usr/bin/su\"
ln \"\$target/usr/bin/su\" \"\$target/usr/bin/su-again\"
echo sg >\"\$target/usr/bin/sg\"; chmod 2755 \"\$target/usr/bin/sg\"
echo t >\"\$target/usr/bin/sticky\"; chmod 1755 \"\$target/usr/bin/sticky\"
chmod 2775 \"\$target/var/mail\"
echo p >\"\$target/usr/bin/ping\"
if command -v setcap >/dev/null; then setcap cap_net_raw+ep \"\$target/usr/bin/ping\"; fi
echo 12.0 >\"\$target/etc/debian_version\"; chown -R 1000:1000 \"\$target/etc\"
ln -s /etc/shadow \"\$target/etc/shadow-link\"
echo deb >\"\$target/var/cache/apt/archives/jq_1.6_amd64.deb\"
echo list >\"\$target/var/lib/apt/lists/deb.debian.org_debian_Packages\"
$daemon"
shadow_before=$(stat -c '%u %g %a' /etc/shadow)
mkdir -p "$TMP/cache"
PATH=$FAKE:$PATH b --packages "jq python3-pandas,libstdc++6" --suite trixie \
    --mirror http://mirror.example/debian --cache "$TMP/cache/../cache" --env GREETING=hi hostile
R=$I/hostile/rootfs
[ $RC = 0 ] && grep -q "built 'hostile'" "$TMP/o" && [ -f "$I/hostile/config.json" ]
tap $? "a build that debootstrap completes is an image" || diag "rc=$RC $(cat "$TMP/o" "$TMP/e")"
mapfile -t argv <"$TMP/argv"
[ "${argv[0]}" = --variant=minbase ] && [ "${argv[1]}" = --include=jq,python3-pandas,libstdc++6 ] &&
    [ "${argv[2]}" = "--cache-dir=$TMP/cache" ] && [ "${argv[3]}" = trixie ] &&
    [[ ${argv[4]} == "$(cd "$I" && pwd -P)"/.staging-*/rootfs ]] &&
    [ "${argv[5]}" = http://mirror.example/debian ] && [ ${#argv[@]} = 6 ]
tap $? "debootstrap gets minbase, the packages, the cache dir, suite, staging target, mirror" ||
    diag "$(cat "$TMP/argv")"
[ -z "$(find "$R" \( -type c -o -type b -o -type p -o -type s \) 2>&1)" ] &&
    [ "$(jq .skipped_special "$I/hostile/config.json")" = 4 ]
tap $? "device nodes, FIFOs and sockets are removed and counted" ||
    diag "$(find "$R" \( -type c -o -type b -o -type p -o -type s \)) $(cat "$I/hostile/config.json")"
want=4
command -v setcap >/dev/null && want=5
[ -z "$(find "$R" -perm /6000 2>&1)" ] && [ "$(stat -c %a "$R/usr/bin/sticky")" = 755 ] &&
    [ "$(stat -c %a "$R/var/mail")" = 775 ] && [ "$(stat -c %a "$R/usr/bin/su")" = 755 ] &&
    [ -z "$(getcap "$R/usr/bin/ping" 2>/dev/null)" ] &&
    [ "$(jq .stripped_modes "$I/hostile/config.json")" = $want ]
tap $? "setuid, setgid and sticky bits and file capabilities are stripped and counted" ||
    diag "$(find "$R" -perm /7000; getcap -r "$R"; jq .stripped_modes "$I/hostile/config.json")"
[ -z "$(find "$R" ! -user root -o ! -group root)" ] && [ "$(readlink "$R/etc/shadow-link")" = /etc/shadow ] &&
    [ "$(stat -c '%u %g %a' /etc/shadow)" = "$shadow_before" ]
tap $? "everything is root's; a symlink to the host's /etc/shadow stays a value, not followed" ||
    diag "$(find "$R" ! -user root -o ! -group root)"
[ -z "$(ls "$R/var/cache/apt/archives" | grep -v '^partial$')" ] && [ -z "$(ls -A "$R/var/lib/apt/lists")" ] &&
    [ ! -e "$I/hostile/debootstrap.out" ]
tap $? "downloaded packages, apt lists and the log are removed"
C=$I/hostile/config.json
jq -e '.name == "hostile" and .id == null and .layers == 0 and .diff_ids == [] and
    .env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
             "GREETING=hi"] and .working_dir == "" and .user == "" and .cmd == null and
    .entrypoint == null and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and
    (.imported_at | type == "number") and .size == 15 and
    .built_from == {"suite": "trixie", "mirror": "http://mirror.example/debian",
                    "packages": ["jq", "python3-pandas", "libstdc++6"]}' "$C" >/dev/null
tap $? "config.json has import's fields and built_from (size counts a hard-linked file once)" ||
    diag "$(cat "$C")"
nothing_left
tap $? "the daemon debootstrap's scripts left is gone, no staging dir is left" || diag "$(nothing_left)"
rm -f "$TMP/argv"
PATH=$FAKE:$PATH b --env LANG=C --env PATH=/bin --json hostile
[ $RC = 1 ] && grep -q "exists already" "$TMP/e" && [ ! -e "$TMP/argv" ] && nothing_left
tap $? "a name that is taken is refused before debootstrap runs" || diag "rc=$RC $(cat "$TMP/e")"
"$RUNBOX" image rm --data "$D" hostile >/dev/null
PATH=$FAKE:$PATH b --env LANG=C --env PATH=/bin --suite bookworm --json envs
[ $RC = 0 ] && jq -e '.env == ["PATH=/bin", "LANG=C"] and .built_from.packages == []' "$TMP/o" >/dev/null
tap $? "--env replaces a default by its key; --json prints the config" || diag "$(cat "$TMP/o" "$TMP/e")"
"$RUNBOX" image rm --data "$D" envs >/dev/null

# A debootstrap that fails after mounting inside the target and starting a daemon.
fake failing "mkdir -p \"\$target/proc\" \"\$target/sys\"
mount -t proc proc \"\$target/proc\"
mount -t tmpfs tmpfs \"\$target/sys\"
$daemon
echo 'I: Retrieving InRelease'
echo 'E: Couldn'\"'\"'t find these debs: nosuchpkg' >&2
echo 'I: not an error line'
exit 1"
PATH=$FAKE:$PATH b --packages nosuchpkg failing
[ $RC = 1 ] && grep -q "exit status 1" "$TMP/e" && grep -q "E: Couldn't find these debs: nosuchpkg" "$TMP/e" &&
    grep -q "not a package of Debian" "$TMP/e" && ! grep -q "not an error line" "$TMP/e"
tap $? "a failed debootstrap: its E: lines are in the error" || diag "rc=$RC $(cat "$TMP/e")"
nothing_left && [ ! -e "$I/failing" ]
tap $? "a failed build leaves nothing: no staging dir, no mount, no daemon" || diag "$(nothing_left)"

# One that hangs with its mounts up: Ctrl-C, then SIGKILL of runbox.
fake hanging "mkdir -p \"\$target/proc\"
mount -t proc proc \"\$target/proc\"
$daemon
touch $TMP/ready
sleep 1000"
hang_start() { # start a build of the hanging fake; wait for it to be ready
    PATH=$FAKE:$PATH "$RUNBOX" image build --data "$D" hanging >"$TMP/o" 2>"$TMP/e" </dev/null &
    pid=$!
    for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
    [ -e "$TMP/ready" ]
}
if hang_start; then
    ! grep -q " $TMP" /proc/self/mountinfo
    tap $? "debootstrap's mounts are in its own mount namespace, never in the host's"
    t0=$(date +%s%N)
    kill -INT $pid
    wait $pid
    RC=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    cat "$TMP/e" >>"$TMP/all-err"
    [ $RC = 130 ] && grep -q interrupted "$TMP/e" && [ $ms -lt 3000 ] && nothing_left
    tap $? "Ctrl-C kills debootstrap and its daemon, leaves nothing (${ms} ms)" ||
        diag "rc=$RC $(cat "$TMP/e") $(nothing_left)"
else
    tap 1 "the hanging fake started" || diag "$(cat "$TMP/e")"
fi
rm -f "$TMP/ready"
if hang_start; then
    kill -KILL $pid
    wait $pid 2>/dev/null
    for _ in $(seq 50); do pgrep -f "runbox-fake-daemon-$$" >/dev/null || break; sleep 0.1; done
    ! pgrep -f "runbox-fake-daemon-$$" >/dev/null && ! pgrep -f "$FAKE/debootstrap" >/dev/null &&
        ! grep -q " $TMP" /proc/self/mountinfo
    tap $? "a SIGKILLed runbox takes debootstrap, its daemon and its mounts along" ||
        diag "$(pgrep -af "runbox-fake-daemon-$$|$FAKE/debootstrap")"
    rm -rf "$I"/.staging-* # the one thing a SIGKILL leaves
fi

# ---- part 2: the real debootstrap ----
real=1
if ! command -v debootstrap >/dev/null; then
    skip "image build with debootstrap" "debootstrap is not installed"
    real=0
elif ! curl -sf -o /dev/null --max-time 15 "$MIRROR/dists/bookworm/Release"; then
    skip "image build with debootstrap" "the mirror $MIRROR is unreachable"
    real=0
fi
if [ $real = 1 ]; then
    # The .debs are shared by the runs of this script (both builds), one build at a time.
    CACHE=/var/cache/runbox-tests/debs
    mkdir -p "$CACHE"
    exec 8>"$CACHE.lock"
    flock 8
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    b --packages jq --mirror "$MIRROR" --cache "$CACHE" --env RUNBOX_TEST=1 jqimg
    R=$I/jqimg/rootfs
    C=$I/jqimg/config.json
    [ $RC = 0 ] && [ -x "$R/usr/bin/jq" ] && [ -f "$R/etc/debian_version" ]
    tap $? "a minbase image with jq is built (${SECS} s)" || diag "rc=$RC $(cat "$TMP/o" "$TMP/e")"
    jq -e --arg s "$suite" --arg m "$MIRROR" '.name == "jqimg" and
        .built_from == {"suite": $s, "mirror": $m, "packages": ["jq"]} and
        (.env | index("RUNBOX_TEST=1")) and (.env[0] | startswith("PATH=")) and
        .size > 50000000 and .skipped_special > 0 and .stripped_modes > 0' "$C" >/dev/null
    tap $? "its config.json: the host's suite by default, mirror, packages, env, counts" || diag "$(cat "$C")"
    [ -z "$(find "$R" -perm /6000 2>&1)" ] && [ -z "$(find "$R" \( -type c -o -type b -o -type p -o -type s \) 2>&1)" ]
    tap $? "no setuid/setgid bits, no device nodes anywhere" ||
        diag "$(find "$R" -perm /6000 -o -type c -o -type b | head)"
    [ -z "$(ls "$R/var/cache/apt/archives" | grep '\.deb$')" ] && [ -z "$(ls -A "$R/var/lib/apt/lists")" ] &&
        [ "$(chroot "$R" /usr/bin/jq -n '1 + 1')" = 2 ]
    tap $? "no cached .debs or apt lists; jq runs in it" || diag "$(du -sh "$R")"
    "$RUNBOX" image ls --data "$D" >"$TMP/o" 2>>"$TMP/all-err" && grep -q '^jqimg ' "$TMP/o" &&
        "$RUNBOX" image ls --data "$D" --json | jq -e '.[0].name == "jqimg" and .[0].built_from.packages == ["jq"]' >/dev/null
    tap $? "image ls shows the built image" || diag "$(cat "$TMP/o")"
    b --packages jq jqimg
    [ $RC = 1 ] && grep -q "exists already" "$TMP/e" && awk -v s="$SECS" 'BEGIN { exit !(s < 2) }'
    tap $? "building a name that is taken fails at once (${SECS} s)" || diag "rc=$RC $(cat "$TMP/e")"

    b --packages "jq runbox-no-such-package" --mirror "$MIRROR" --cache "$CACHE" unknown
    [ $RC = 1 ] && grep -q "Couldn't find these debs: runbox-no-such-package" "$TMP/e" && nothing_left &&
        [ ! -e "$I/unknown" ]
    tap $? "an unknown package: a clear error, nothing left (${SECS} s)" || diag "rc=$RC $(cat "$TMP/e")"

    # Ctrl-C while package scripts run (proc is mounted in the target then).
    "$RUNBOX" image build --data "$D" --verbose --mirror "$MIRROR" --cache "$CACHE" intr \
        >"$TMP/o" 2>"$TMP/e" </dev/null &
    pid=$!
    for _ in $(seq 1200); do
        grep -q "I: Installing core packages\|I: Unpacking the base system" "$TMP/e" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    sleep 1
    kill -INT $pid
    wait $pid
    RC=$?
    cat "$TMP/e" >>"$TMP/all-err"
    [ $RC = 130 ] && grep -q "interrupted" "$TMP/e" && [ ! -e "$I/intr" ] && nothing_left &&
        ! pgrep -f "debootstrap.*$I" >/dev/null
    tap $? "Ctrl-C during a real build: debootstrap killed, nothing left" ||
        diag "rc=$RC $(tail -5 "$TMP/e") $(nothing_left)"
    flock -u 8

    "$RUNBOX" image rm --data "$D" jqimg >"$TMP/o" 2>>"$TMP/all-err"
    [ $? = 0 ] && [ ! -e "$I/jqimg" ] && [ -z "$(ls -A "$I")" ]
    tap $? "image rm removes the built image" || diag "$(ls -A "$I")"
fi

! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/all-err"
tap $? "no sanitizer report" || diag "$(grep -E -A20 'Sanitizer|runtime error' "$TMP/all-err" | head -40)"
done_testing
