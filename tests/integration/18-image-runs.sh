#!/usr/bin/env bash
# The native sandbox on an imported image's root (runbox exec --image): a Debian root made by
# debootstrap (base_rootfs in lib.sh) is turned into a docker save archive and imported. The box
# sees the image and not the host, the image's Python and gcc work, runbox's account is laid
# over the image's, the root is read-only, and the limits give the same statuses as on the
# host's system. Hostile images (symlinks to host paths where the system should be,
# etc/passwd -> /etc/shadow, etc -> /) reach nothing of the host; busybox-like images without
# nsswitch.conf or /etc at all still know who runbox is. As an ordinary user too; nothing is
# left behind, not even after a SIGKILL of runbox. Needs root, jq, python3, gcc (static).
# shellcheck source-path=SCRIPTDIR source=../lib.sh disable=SC2016  # jq and sh in single quotes
. "$(dirname "$0")/../lib.sh"
need_tools "image runs" python3 jq tar gcc

MARK=runbox-image-$$
SECRET=host-secret-$$-$RANDOM
SECRET_DIR=/var/tmp/$MARK-secret
# World-readable, for the ordinary user's runs: $TMP is private.
W=$(mktemp -d /tmp/runbox-images.XXXXXX)
chmod 755 "$W"
D=$W/data
user=""
cleanup() {
    if [ -n "$user" ]; then
        pkill -KILL -u "$user" 2>/dev/null
        for _ in $(seq 100); do pgrep -u "$user" >/dev/null || break; sleep 0.05; done
        userdel "$user" 2>/dev/null
    fi
    pkill -KILL -f "^$MARK" 2>/dev/null
    rm -rf "$W" "$TMP" "$SECRET_DIR"
}
trap cleanup EXIT

base=$(base_rootfs) || {
    skip "image runs" "no Debian root could be made (base_rootfs)"
    done_testing
    exit
}

# jqt NAME JSON_FILE JQ_EXPR: passes when the expression is true for the file.
jqt() {
    local name=$1 f=$2 expr=$3
    if jq -e "$expr" <"$f" >/dev/null 2>&1; then
        tap 0 "$name"
    else
        tap 1 "$name"
        diag "false: $expr"
        diag "$(head -c 1500 "$f"; cat "$f.err" 2>/dev/null)"
    fi
}

# rb_exec OUT_JSON IMAGE [exec args...]: runbox exec --json on an image, result in OUT_JSON, rc
# in RB_RC; cgroups that this runbox left (named <pid>-<seq>; the next start would sweep them)
# are noted at once in LEAKED_CGROUPS.
LEAKED_CGROUPS=""
rb_exec() {
    local out=$1 image=$2 pid d
    shift 2
    "$RUNBOX" exec --json --image "$image" --data "$D" "$@" >"$out" 2>"$out.err" </dev/null &
    pid=$!
    wait "$pid"
    RB_RC=$?
    cat "$out.err" >>"$TMP/all-err"
    # Every layout: v1/hybrid /sys/fs/cgroup/<controller>/runbox, pure v2 /sys/fs/cgroup/runbox.
    for d in $(runbox_cgroups "$pid"); do
        LEAKED_CGROUPS="$LEAKED_CGROUPS $d"
    done
}

### The images

# Helpers built static on the host and put into the images: the attacks and a path reader.
: >"$TMP/all-err"
E=$TMP/extra
mkdir -p "$E/t" "$SECRET_DIR"
echo "$SECRET" >"$SECRET_DIR/secret"
chmod -R a+rX "$SECRET_DIR"
echo "marker-$$" >"$E/runbox-marker"
static=0
for p in forkbomb forkcount outflood busyloop membomb read-paths; do
    gcc -O1 -static -o "$E/t/$p" "$ROOT/tests/attacks/$p.c" 2>>"$TMP/gcc.err" || static=1
done
if [ $static != 0 ]; then
    skip "image runs" "gcc -static does not work here: $(head -3 "$TMP/gcc.err")"
    done_testing
    exit
fi
# The Debian root as one layer, without docs and caches, plus the marker and the helpers.
tar -C "$base" --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
    --exclude=./usr/share/info --exclude=./var/cache/apt --exclude=./var/log \
    -cf "$TMP/deb-layer.tar" . -C "$E" runbox-marker t
tap $? "the Debian root is made into a layer" || { done_testing; exit; }

A=$TMP/archives
mkdir -p "$A"
python3 - "$A" "$TMP/deb-layer.tar" "$E/t/read-paths" "$SECRET_DIR" "$(command -v busybox || true)" <<'EOF'
import io, json, sys, tarfile

out, deb_layer, reader, secret_dir, busybox = sys.argv[1:6]

def tar(entries):
    """entries: (name, kind, extra) with kind file (bytes), host (a host file's path), dir, sym."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, extra in entries:
            i = tarfile.TarInfo(name)
            i.mode = 0o755 if kind in ("dir", "host") else 0o644
            data = None
            if kind == "file":
                data = extra
            elif kind == "host":
                data = open(extra, "rb").read()
            elif kind == "dir":
                i.type = tarfile.DIRTYPE
            elif kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, extra
            if data is not None:
                i.size = len(data)
            t.addfile(i, io.BytesIO(data) if data is not None else None)
    return b.getvalue()

def docker_save(path, layer, env, tag):
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": env},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    with tarfile.open(path, "w") as t:
        def add(n, data):
            i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
        add("config.json", config)
        if isinstance(layer, bytes):
            add("l0/layer.tar", layer)
        else:
            t.add(layer, arcname="l0/layer.tar")
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [tag],
                                          "Layers": ["l0/layer.tar"]}]).encode())

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
docker_save(out + "/deb.tar", deb_layer, [PATH, "IMGVAR=from-the-image", "HOME=/tmp"], "deb:1")

secret = secret_dir + "/secret"
# Where the system should be, symlinks to host paths; /etc a symlink to the host's /.
docker_save(out + "/hostile-links.tar", tar([
    ("read-paths", "host", reader),
    ("usr", "sym", secret_dir), ("lib", "sym", secret), ("lib64", "sym", "/lib64"),
    ("bin", "sym", "/usr/bin"), ("opt", "sym", "/"), ("sbin", "sym", "/etc"), ("etc", "sym", "/"),
    ("home", "sym", "../../../../../.." + secret_dir), ("var", "dir", None),
    ("var/x", "sym", secret)]), ["PATH=/usr/bin:/bin"], "hostile-links:1")
# A real /etc whose files point at the host's secrets; what the box makes itself, pointing away.
docker_save(out + "/hostile-etc.tar", tar([
    ("read-paths", "host", reader), ("etc", "dir", None),
    ("etc/passwd", "sym", "/etc/shadow"), ("etc/group", "sym", "/etc/gshadow"),
    ("etc/hosts", "sym", secret), ("etc/hostname", "sym", secret),
    ("etc/resolv.conf", "sym", secret), ("etc/shadow-link", "sym", "/etc/shadow"),
    ("etc/alternatives", "sym", secret_dir), ("etc/ld.so.cache", "sym", secret),
    ("etc/nsswitch.conf", "file", b"passwd: files\n"),
    ("usr", "dir", None), ("usr/bin", "sym", "/usr/bin"), ("usr/secret-link", "sym", secret),
    ("tmp", "sym", secret_dir), ("run", "sym", secret_dir), ("box", "sym", secret_dir),
    ("proc", "sym", "/"), ("dev", "sym", "/dev"), ("sys", "sym", "/sys")]),
    ["PATH=/usr/bin:/bin"], "hostile-etc:1")
if busybox:
    bb = [("opt", "dir", None), ("opt/bb", "dir", None), ("opt/bb/busybox", "host", busybox)]
    bb += [("opt/bb/" + n, "sym", "busybox") for n in ("sh", "id", "whoami", "cat", "env")]
    # The image's own "runbox" and uid 60000 must give way to runbox's account.
    etc = [("etc", "dir", None), ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"
           b"runbox:x:1234:1234::/:/bin/false\nother:x:60000:60000::/:/bin/false")]
    docker_save(out + "/bb.tar", tar(bb + etc), ["PATH=/opt/bb"], "bb:1")
    docker_save(out + "/bb-noetc.tar", tar(bb), ["PATH=/opt/bb"], "bb-noetc:1")
EOF
tap $? "the test archives are built" || { done_testing; exit; }

for img in deb hostile-links hostile-etc bb bb-noetc; do
    [ -e "$A/$img.tar" ] || continue
    "$RUNBOX" image import --data "$D" --name "$img" "$A/$img.tar" >"$TMP/import.out" 2>&1 ||
        diag "import $img: $(cat "$TMP/import.out")"
done
[ -d "$D/images/deb/rootfs/usr/bin" ] && [ -f "$D/images/deb/rootfs/runbox-marker" ]
tap $? "the Debian image is imported" || { done_testing; exit; }
chmod -R a+rX "$W"

### 1. The box sees the image, not the host

[ -x /usr/bin/jq ] && [ ! -e "$base/usr/bin/jq" ]
tap $? "(jq is on the host, not in the image)"
rb_exec "$TMP/see.json" deb -- /bin/sh -c \
    'cat /etc/debian_version /runbox-marker; ls /usr/bin/jq 2>&1; ls /t; echo "env: $PATH $IMGVAR $HOME $USER"'
jqt "the box sees the image's /etc/debian_version and the marker put into its layer" "$TMP/see.json" \
    ".status == \"success\" and (.output | startswith(\"$(cat "$base/etc/debian_version")\nmarker-$$\n\"))"
jqt "a host-only binary (/usr/bin/jq) is absent" "$TMP/see.json" \
    '.output | test("/usr/bin/jq.: No such file or directory")'
jqt "the image's env is laid over the default (its PATH wins, USER stays runbox)" "$TMP/see.json" \
    '.output | test("env: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin from-the-image /tmp runbox\n")'

rb_exec "$TMP/py.json" deb -- python3 -c \
    'import getpass, sys, sysconfig; print(getpass.getuser(), sys.version_info[0], sysconfig.get_config_var("MULTIARCH"))'
jqt "python3 of the image runs; getpass.getuser() says runbox" "$TMP/py.json" \
    '.status == "success" and .output == "runbox 3 x86_64-linux-gnu\n"'
rb_exec "$TMP/cc.json" deb --time 5 --wall 20 -- /bin/sh -c \
    'printf "#include <stdio.h>\nint main(void) { printf(\"%%d\\\\n\", 6 * 7); return 0; }\n" >/box/a.c &&
     gcc -O1 -o /box/a /box/a.c && /box/a'
jqt "the image's gcc compiles a C program in /box, which runs" "$TMP/cc.json" \
    '.status == "success" and .output == "42\n"'

### 2. Accounts, hosts

rb_exec "$TMP/id.json" deb -- /bin/sh -c \
    'id -un; id -u; id -gn; whoami; cat /etc/passwd /etc/group /etc/hostname /etc/hosts'
jqt "id -un, whoami and id -gn say runbox, uid 60000" "$TMP/id.json" \
    '.output | startswith("runbox\n60000\nrunbox\nrunbox\n")'
jqt "/etc/passwd has the image's users and runbox" "$TMP/id.json" \
    '(.output | test("\nroot:x:0:0:root:/root:/bin/bash\n")) and (.output | test("\n_apt:x:42:"))
     and (.output | test("\nrunbox:x:60000:60000:runbox:/tmp:/bin/sh\n"))'
jqt "/etc/group has the image's groups and runbox; hostname and hosts are runbox's" "$TMP/id.json" \
    '(.output | test("\ndaemon:x:1:\n")) and (.output | test("\nrunbox:x:60000:\n"))
     and (.output | test("\nrunbox\n127.0.0.1\tlocalhost runbox\n"))'

### 3. Read-only, nosuid, nodev; the same restrictions

rb_exec "$TMP/ro.json" deb -- /bin/sh -c \
    'for f in /x /usr/x /etc/x /etc/passwd /var/x /runbox-marker /t/x; do
         (echo >"$f") 2>/dev/null && echo "WROTE $f"; done
     echo ok >/tmp/y && echo ok >/box/y && cat /tmp/y /box/y
     awk '"'"'$5 != "/" && $5 !~ /^\/(proc|dev|tmp|box)/ && ($6 !~ /(^|,)ro(,|$)/ || $6 !~ /nosuid/ || $6 !~ /nodev/) { print "WRITABLE", $5, $6 }'"'"' /proc/self/mountinfo
     grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
jqt "the image is read-only (every write refused), /tmp and /box are writable" "$TMP/ro.json" \
    '.status == "success" and (.output | test("WROTE|WRITABLE") | not) and (.output | startswith("ok\nok\n"))'
jqt "no capabilities, no_new_privs, seccomp, as on the host's system" "$TMP/ro.json" \
    '.output | endswith("CapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n")'

### 4. Limits: the same statuses as on the host's system

rb_exec "$TMP/wall.json" deb --wall 0.5 -- /bin/sleep 10
jqt "wall limit: timeout, wall_time, exit 124" "$TMP/wall.json" \
    ".status == \"timeout\" and .reason == \"wall_time\" and $RB_RC == 124"
rb_exec "$TMP/cpu.json" deb --time 1 --wall 5 -- /t/busyloop
jqt "CPU limit: timeout, cpu_time near 1 s" "$TMP/cpu.json" \
    '.status == "timeout" and .reason == "cpu_time" and .cpu_time >= 0.9 and .cpu_time <= 1.8'
rb_exec "$TMP/cpupy.json" deb --time 0.5 --wall 5 -- python3 -c 'while True: pass'
jqt "CPU limit (the image's python3): timeout, cpu_time" "$TMP/cpupy.json" \
    '.status == "timeout" and .reason == "cpu_time"'
rb_exec "$TMP/mem.json" deb --time 2 --wall 4 --memory 64 -- /t/membomb
jqt "memory bomb: memory_limit, peak <= 80 MB, exit 137" "$TMP/mem.json" \
    ".status == \"memory_limit\" and .reason == \"memory\" and .memory_bytes <= 80*1048576 and $RB_RC == 137"
rb_exec "$TMP/mempy.json" deb --time 2 --wall 4 --memory 64 -- python3 -c \
    'hog = []
while True: hog.append(b"x" * (1 << 20))'
jqt "memory bomb (the image's python3): memory_limit" "$TMP/mempy.json" '.status == "memory_limit"'
rb_exec "$TMP/out.json" deb --output 8 -- /t/outflood
jqt "output flood: output_limit, 8 KiB kept" "$TMP/out.json" \
    '.status == "output_limit" and (.output | length) == 8192'
rb_exec "$TMP/bomb.json" deb --time 1 --wall 2 --pids 32 -- /bin/bash -c "exec -a $MARK-bomb /t/forkbomb"
jqt "fork bomb: timeout, exit 124" "$TMP/bomb.json" ".status == \"timeout\" and $RB_RC == 124"
! pgrep -f "^$MARK-bomb" >/dev/null
tap $? "fork bomb: no bomb process left on the host"
rb_exec "$TMP/forks.json" deb --time 1 --wall 2 --pids 16 -- /t/forkcount
jqt "fork count: forks stop at the pids limit (8 <= forked < 16, EAGAIN)" "$TMP/forks.json" \
    '.status == "success" and ((.output | capture("forked (?<n>[0-9]+)").n | tonumber) as $n
     | $n >= 8 and $n < 16) and (.output | test("stopped by EAGAIN"))'

### 5. Hostile images reach nothing of the host

paths=(/usr/secret /lib /opt"$SECRET_DIR"/secret /home/secret /var/x /etc/passwd /etc/shadow
    /sbin/shadow /bin/jq /opt/etc/shadow /etc/group /usr/bin/jq /etc"$SECRET_DIR"/secret /etc/etc/shadow)
rb_exec "$TMP/links.json" hostile-links -- /read-paths "${paths[@]}"
jqt "usr, lib, bin, opt, home -> host paths: the box ran, no host file is seen" "$TMP/links.json" \
    ".status == \"success\" and (.output | test(\"$SECRET\") | not)
     and (.output | test(\"/usr/secret: error\")) and (.output | test(\"/lib: error\"))
     and (.output | test(\"/var/x: error\")) and (.output | test(\"/bin/jq: error\"))
     and (.output | test(\"/etc/etc/shadow: error No such file\"))"
jqt "etc -> /: the box's /etc has only runbox's files" "$TMP/links.json" \
    '(.output | test("/etc/passwd: data root:x:0:0:root:/root:/bin/sh[|]nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin[|]runbox:x:60000:60000:runbox:/tmp:/bin/sh[|]\n"))
     and (.output | test("/etc/shadow: error No such file"))
     and (.output | test("/etc/group: data root:x:0:[|]nogroup:x:65534:[|]runbox:x:60000:[|]\n"))'
paths=(/etc/passwd /etc/group /etc/hosts /etc/hostname /etc/resolv.conf /etc/shadow-link
    /etc/alternatives/secret /etc/ld.so.cache /etc/nsswitch.conf /usr/secret-link /usr/bin/jq
    /tmp/secret /run/secret /box/secret /sys/kernel)
rb_exec "$TMP/etc.json" hostile-etc -- /read-paths "${paths[@]}"
jqt "etc/passwd -> /etc/shadow and friends: no host file is seen" "$TMP/etc.json" \
    ".status == \"success\" and (.output | test(\"$SECRET\") | not)
     and (.output | test(\"/etc/shadow-link: error No such file\"))
     and (.output | test(\"/etc/nsswitch.conf: data passwd: files\"))"
jqt "passwd, group, hosts, hostname are runbox's, not the image's symlinks" "$TMP/etc.json" \
    '(.output | test("/etc/passwd: data root:x:0:0:root:/root:/bin/sh[|]nobody:[^\n]*[|]runbox:x:60000:60000:runbox:/tmp:/bin/sh[|]\n"))
     and (.output | test("/etc/hosts: data 127.0.0.1\tlocalhost runbox"))
     and (.output | test("/etc/hostname: data runbox[|]\n"))'
jqt "tmp, run, box, proc, dev, sys of the image are ignored: the box makes its own" "$TMP/etc.json" \
    '(.output | test("/tmp/secret: error No such file")) and (.output | test("/run/secret: error No such file"))
     and (.output | test("/box/secret: error No such file")) and (.output | test("/sys/kernel: error No such file"))'
grep -q "^$SECRET\$" "$SECRET_DIR/secret" && [ "$(ls -A "$SECRET_DIR")" = secret ]
tap $? "the host's files are untouched"

### 6. Busybox-like images: no nsswitch.conf, no group, no /etc at all

if [ ! -e "$A/bb.tar" ]; then
    skip "busybox-like images" "busybox is not installed"
else
    rb_exec "$TMP/bb.json" bb -- sh -c 'id -un; whoami; id -gn; id -u; cat /etc/passwd; echo "$PATH"'
    jqt "busybox image: id -un, whoami, id -gn say runbox; the image's PATH finds sh" "$TMP/bb.json" \
        '.status == "success" and (.output | startswith("runbox\nrunbox\nrunbox\n60000\n"))'
    jqt "busybox image: its own 'runbox' and uid 60000 give way to runbox's account" "$TMP/bb.json" \
        '.output | endswith("\nroot:x:0:0:root:/root:/bin/sh\nrunbox:x:60000:60000:runbox:/tmp:/bin/sh\n/opt/bb\n")'
    rb_exec "$TMP/bbn.json" bb-noetc -- sh -c 'id -un; whoami; ls /etc'
    jqt "an image without /etc: whoami still says runbox" "$TMP/bbn.json" \
        '.status == "success" and (.output | startswith("runbox\nrunbox\n"))'
fi

### 7. Warm runs: the template root of an image

loop=$(dirname "$RUNBOX")/sbx_loop
if [ -x "$loop" ]; then
    SBX_LOOP_ROOT=$D/images/deb/rootfs "$loop" 20 0 /bin/sh -c \
        'test -f /runbox-marker && test -f /etc/debian_version && ! test -e /usr/bin/jq' \
        >"$TMP/loop.out" 2>&1
    tap $? "20 warm runs on the image root (its template) all see the image" ||
        diag "$(cat "$TMP/loop.out")"
else
    skip "warm runs on an image root" "no sbx_loop beside $RUNBOX"
fi

### 8. Errors

"$RUNBOX" exec --image nope --data "$D" -- /bin/true >"$TMP/o" 2>&1
[ $? = 125 ] && grep -q "image 'nope' is not imported" "$TMP/o"
tap $? "a missing image: exit 125, a clear message" || diag "$(cat "$TMP/o")"
"$RUNBOX" exec --image ../deb --data "$D" -- /bin/true >"$TMP/o" 2>&1
[ $? = 125 ] && grep -q "bad image name" "$TMP/o"
tap $? "a path as image name is refused" || diag "$(cat "$TMP/o")"

### 9. As an ordinary user (user namespace)

user=rbimg$$
if ! useradd -M -s /bin/sh "$user" 2>/dev/null; then
    user=""
    skip "image runs as a user" "cannot create a test user"
else
    uid=$(id -u "$user")
    gid=$(id -g "$user")
    cp "$RUNBOX" "$W/runbox"
    chmod 755 "$W/runbox"
    as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env "$@" </dev/null; }
    as_user "$W/runbox" exec --json --image deb --data "$D" -- /bin/sh -c \
        'cat /runbox-marker; id -un; python3 -c "print(6 * 7)"; (echo >/usr/x) 2>/dev/null && echo WROTE; ls /usr/bin/jq 2>&1; true' \
        >"$TMP/u.json" 2>"$TMP/u.json.err"
    jqt "as a user: the box runs on the image (marker, runbox, python3, read-only, no host jq)" "$TMP/u.json" \
        ".status == \"success\" and (.output | startswith(\"marker-$$\nrunbox\n42\n\"))
         and (.output | test(\"WROTE\") | not) and (.output | test(\"No such file\"))"
    as_user "$W/runbox" exec --json --image hostile-links --data "$D" -- /read-paths /usr/secret /lib /etc/passwd \
        >"$TMP/u2.json" 2>"$TMP/u2.json.err"
    jqt "as a user: a hostile image reaches nothing of the host" "$TMP/u2.json" \
        ".status == \"success\" and (.output | test(\"$SECRET\") | not) and (.output | test(\"runbox:x:60000\"))"
    as_user "$W/runbox" exec --json --image deb --data "$D" --wall 0.5 -- /bin/sleep 10 >"$TMP/u3.json"
    jqt "as a user: the wall limit holds on the image" "$TMP/u3.json" '.status == "timeout" and .reason == "wall_time"'
    cat "$TMP"/u*.json.err >>"$TMP/all-err"
fi

### 10. Nothing left behind

marker=$MARK-kill
"$RUNBOX" exec --image deb --data "$D" --wall 60 -- /bin/bash -c "exec -a $marker sleep 300" \
    </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do pgrep -f "^$marker" >/dev/null && break; sleep 0.05; done
pgrep -f "^$marker" >/dev/null
tap $? "SIGKILL: the box on the image runs"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
for _ in $(seq 100); do pgrep -f "^$marker" >/dev/null || break; sleep 0.05; done
! pgrep -f "^$marker" >/dev/null
tap $? "SIGKILL of runbox: every process of the box on the image is gone"
"$RUNBOX" exec --image deb --data "$D" -- /bin/true </dev/null # sweeps the killed run's cgroups
left=$(runbox_cgroups "$pid")
[ -z "$left" ]
tap $? "SIGKILL of runbox: its cgroups are gone after the next start" || diag "$left"
[ -z "$LEAKED_CGROUPS" ]
tap $? "no run left a cgroup behind" || diag "$LEAKED_CGROUPS"
# The boxes' tmpfs are named runbox, their roots live under /run/runbox.
ours=(-e "$W" -e " /run/runbox(/| )" -e " - tmpfs runbox(-ws)? ")
! grep -Eq "${ours[@]}" /proc/self/mountinfo
tap $? "no mount of the boxes or of the images is visible on the host" ||
    diag "$(grep -E "${ours[@]}" /proc/self/mountinfo)"
! pgrep -f "^$MARK" >/dev/null
tap $? "no process of the boxes is left"
! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/all-err"
tap $? "no sanitizer report" || diag "$(grep -E -A20 'Sanitizer|runtime error' "$TMP/all-err" | head -40)"
done_testing
