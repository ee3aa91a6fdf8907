#!/usr/bin/env bash
# runbox image import/ls/rm: docker save archives and OCI layouts built here with Python's
# tarfile, the layers applied with whiteouts, and one hostile archive per attack: each refused
# one leaves nothing in the images dir, and nothing lands outside it.
. "$(dirname "$0")/../lib.sh"
need_tools "images" python3 jq

A=$TMP/archives
mkdir -p "$A" "$TMP/outside"
python3 - "$A" "$TMP" <<'EOF' || { tap 1 "the test archives are built"; done_testing; exit; }
import gzip, hashlib, io, json, os, sys, tarfile

out, tmp = sys.argv[1], sys.argv[2]

def tar(entries, gz=False):
    """entries: (name, kind, extra) with kind file/dir/sym/hard/chr/fifo."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, extra, *mode in entries:
            i = tarfile.TarInfo(name)
            i.mode = mode[0] if mode else (0o755 if kind == "dir" else 0o644)
            data = None
            if kind == "file":
                data = extra.encode()
                i.size = len(data)
            elif kind == "dir":
                i.type = tarfile.DIRTYPE
            elif kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, extra
            elif kind == "hard":
                i.type, i.linkname = tarfile.LNKTYPE, extra
            elif kind == "chr":
                i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                i.type = tarfile.FIFOTYPE
            t.addfile(i, io.BytesIO(data) if data is not None else None)
    raw = b.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
    "config": {"Env": ["PATH=/usr/bin:/bin", "GREETING=hi"], "WorkingDir": "/work",
               "User": "1000:1000", "Cmd": ["/bin/sh"], "Entrypoint": None},
    "rootfs": {"type": "layers", "diff_ids": []}}).encode()

def sha(b):
    return hashlib.sha256(b).hexdigest()

def docker_save(path, layers, tag="example/demo:1.0", config=CONFIG, names=None, extra=()):
    """layers: bytes; names: member paths (default lN/layer.tar)."""
    names = names or ["l%d/layer.tar" % n for n in range(len(layers))]
    manifest = [{"Config": sha(config) + ".json", "RepoTags": [tag] if tag else None,
                 "Layers": names}]
    with tarfile.open(path, "w") as t:
        def add(n, data):
            i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
        add(sha(config) + ".json", config)
        for n, data in zip(names, layers):
            if data is not None:
                add(n, data)
        for n, data in extra:
            add(n, data)
        add("manifest.json", json.dumps(manifest).encode())

def oci(path, layers, ref="demo-oci", corrupt=False, config=CONFIG):
    CONFIG = config
    with tarfile.open(path, "w") as t:
        def add(n, data):
            i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
        descs = []
        for data in layers:
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": "sha256:" + sha(data), "size": len(data)})
            add("blobs/sha256/" + sha(data), data + (b"x" if corrupt else b""))
        man = json.dumps({"schemaVersion": 2, "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + sha(CONFIG), "size": len(CONFIG)}, "layers": descs}).encode()
        add("blobs/sha256/" + sha(CONFIG), CONFIG)
        add("blobs/sha256/" + sha(man), man)
        add("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        add("index.json", json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + sha(man), "size": len(man),
            "annotations": {"org.opencontainers.image.ref.name": ref}}]}).encode())

l1 = tar([("etc", "dir", None), ("etc/hello", "file", "hello\n"), ("keep/a", "file", "a"),
          ("gone", "file", "bye"), ("opq/old1", "file", "1"), ("opq/sub/old2", "file", "2"),
          ("link", "sym", "etc/hello"), ("hard", "hard", "etc/hello"),
          ("abs-link", "sym", "/etc/passwd")])
# The opaque marker comes after a file of the same layer: that file must stay.
l2 = tar([("./opq/", "dir", None), ("opq/new", "file", "new"), ("opq/.wh..wh..opq", "file", ""),
          (".wh.gone", "file", ""), ("etc/hello2", "file", "hello2")], gz=True)
def with_diff_ids(layers):
    c = json.loads(CONFIG)
    c["rootfs"]["diff_ids"] = ["sha256:" + sha(gzip.decompress(l) if l[:2] == b"\x1f\x8b" else l)
                               for l in layers]
    return json.dumps(c).encode()
docker_save(out + "/good.tar", [l1, l2], config=with_diff_ids([l1, l2]))
oci(out + "/oci.tar", [gzip.compress(l1, mtime=0), l2], config=with_diff_ids([l1, l2]))
# The layer is right, the config's diff_id for it is not (it is the other layer's).
docker_save(out + "/bad-diff-id.tar", [l1], config=with_diff_ids([l2]))

outside = tmp.lstrip("/") + "/outside"
hostile = {
    "abs": [tar([("/etc/runbox-evil", "file", "x")])],
    "dotdot": [tar([("a/../../outside/pwned", "file", "x")])],
    "symlink": [tar([("esc", "sym", "/"), ("esc/" + outside + "/pwned", "file", "x")])],
    "symlink2": [tar([("esc", "sym", tmp + "/outside")]), tar([("esc/pwned", "file", "x")])],
    "hardlink": [tar([("passwd", "hard", "/etc/passwd")])],
    "hardlink2": [tar([("passwd", "hard", "../../../../etc/passwd")])],
    "hardlink3": [tar([("passwd", "hard", "etc/passwd")])],
}
for name, layers in hostile.items():
    docker_save("%s/%s.tar" % (out, name), layers)
docker_save(out + "/devices.tar", [tar([("dev/null2", "chr", None), ("fifo", "fifo", None),
                                        ("ok", "file", "ok")])])
docker_save(out + "/setuid.tar", [tar([("bin/su", "file", "#!", 0o4755),
                                       ("bin/sg", "file", "#!", 0o2711),
                                       ("tmp", "dir", None, 0o1777)])])
oci(out + "/bad-digest.tar", [l2], corrupt=True)
# A config whose name promises a digest it does not have.
with tarfile.open(out + "/bad-config-digest.tar", "w") as t:
    for n, data in [("0" * 64 + ".json", CONFIG), ("l0/layer.tar", l1),
                    ("manifest.json", json.dumps([{"Config": "0" * 64 + ".json",
                     "Layers": ["l0/layer.tar"]}]).encode())]:
        i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
docker_save(out + "/truncated.tar", [l2[: len(l2) // 2]], names=["l0/layer.tar.gz"])
docker_save(out + "/missing-layer.tar", [l1, None])
docker_save(out + "/untagged.tar", [l1], tag=None)
# A bomb: one file whose header claims 9 GiB (its data is never reached).
big = tarfile.TarInfo("bomb"); big.size = 9 << 30
docker_save(out + "/bomb.tar", [big.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024)])
# Many small files, to interrupt an import half-way.
docker_save(out + "/many.tar", [tar([("d%d/f%d" % (n // 1000, n), "file", "x")
                                     for n in range(50000)])])
with open(out + "/not-an-image.tar", "wb") as f:
    f.write(tar([("hello", "file", "hi")]))
EOF

D=$TMP/data
I=$D/images
img() {
    "$RUNBOX" image "$@" --data "$D" >"$TMP/o" 2>"$TMP/e"
    RC=$?
    cat "$TMP/e" >>"$TMP/all-err"
}

# A docker save archive: two layers, the second gzip'd with whiteouts and an opaque directory.
img import "$A/good.tar"
[ $RC = 0 ] && grep -q "imported 'demo-1.0'" "$TMP/o" && [ -d "$I/demo-1.0/rootfs" ]
tap $? "a docker save archive is imported, named from its RepoTags" || diag "$(cat "$TMP/o" "$TMP/e")"
R=$I/demo-1.0/rootfs
[ "$(cat "$R/etc/hello")" = hello ] && [ "$(cat "$R/etc/hello2")" = hello2 ] && [ -f "$R/keep/a" ]
tap $? "the files of both layers are there"
[ ! -e "$R/gone" ]
tap $? "a .wh. whiteout removes the lower layer's file"
[ ! -e "$R/opq/old1" ] && [ ! -e "$R/opq/sub" ] && [ "$(cat "$R/opq/new")" = new ]
tap $? "an opaque directory loses the lower layers' entries, keeps its own layer's" ||
    diag "$(ls -laR "$R/opq")"
[ "$(readlink "$R/link")" = etc/hello ] && [ "$(readlink "$R/abs-link")" = /etc/passwd ]
tap $? "symlinks are stored as they are, absolute targets too"
[ "$(stat -c %i "$R/hard")" = "$(stat -c %i "$R/etc/hello")" ]
tap $? "a hard link to an extracted file is a hard link"
C=$I/demo-1.0/config.json
jq -e '.name == "demo-1.0" and (.id | test("^sha256:[0-9a-f]{64}$")) and .working_dir == "/work"
       and .user == "1000:1000" and .env == ["PATH=/usr/bin:/bin", "GREETING=hi"]
       and .cmd == ["/bin/sh"] and .entrypoint == null and .created == "2024-01-02T03:04:05Z"
       and .layers == 2 and .size > 0 and (.diff_ids | length) == 2' "$C" >/dev/null
tap $? "config.json holds the name, id, Env, WorkingDir, User, Cmd, created, size" || diag "$(cat "$C")"

# The same image as an OCI layout.
img import "$A/oci.tar"
[ $RC = 0 ] && [ -d "$I/demo-oci/rootfs" ]
tap $? "an OCI layout is imported, named from its ref.name" || diag "$(cat "$TMP/e")"
diff -r "$R" "$I/demo-oci/rootfs" >/dev/null
tap $? "the OCI layout gives the same tree as the docker save archive"
[ "$(jq -r .id "$C")" = "$(jq -r .id "$I/demo-oci/config.json")" ]
tap $? "both have the config digest as their id"

img import --name other "$A/untagged.tar"
[ $RC = 0 ] && [ -d "$I/other/rootfs" ]
tap $? "--name names the image"
img import "$A/untagged.tar"
id=$(jq -r .id "$I/other/config.json")
[ $RC = 0 ] && [ -d "$I/${id:7:12}" ]
tap $? "an untagged image is named by its id's first 12 digits"
img import "$A/good.tar"
[ $RC = 1 ] && grep -q "exists already" "$TMP/e"
tap $? "an existing name is refused"

# ls and rm.
img ls
[ $RC = 0 ] && grep -q '^demo-1.0 ' "$TMP/o" && grep -q '^demo-oci ' "$TMP/o"
tap $? "image ls lists the images" || diag "$(cat "$TMP/o")"
img ls --json
jq -e 'length == 4 and ((map(.name) | sort) == map(.name))' "$TMP/o" >/dev/null
tap $? "image ls --json gives their configs, sorted by name" || diag "$(cat "$TMP/o")"
img rm demo-oci
[ $RC = 0 ] && [ ! -e "$I/demo-oci" ]
tap $? "image rm removes an image"
img rm demo-oci
[ $RC = 1 ] && grep -q "no image 'demo-oci'" "$TMP/e"
tap $? "image rm of a missing image is a clear error"
img rm ../data
[ $RC = 1 ] && [ -d "$D" ]
tap $? "image rm refuses a path"
"$RUNBOX" image >/dev/null 2>&1
r1=$?
img frob
r2=$RC
img import
r3=$RC
img import --name 'Bad/Name' "$A/good.tar"
[ $r1 = 2 ] && [ $r2 = 2 ] && [ $r3 = 2 ] && [ $RC = 2 ]
tap $? "usage errors exit 2" || diag "$r1 $r2 $r3 $RC"
"$RUNBOX" image ls --data "$TMP/nowhere" >"$TMP/o" 2>&1
[ $? = 0 ] && [ ! -e "$TMP/nowhere" ]
tap $? "image ls on a data dir without images lists none and creates nothing"

# Hostile archives: each refused with a message naming the problem; nothing left behind.
D=$TMP/hostile
I=$D/images
refused() { # NAME ARCHIVE GREP
    img import "$A/$2.tar"
    if [ $RC = 1 ] && grep -q -- "$3" "$TMP/e" && [ -z "$(ls -A "$I")" ] &&
        [ -z "$(ls -A "$TMP/outside")" ] && [ ! -e /etc/runbox-evil ]; then
        tap 0 "$1"
    else
        tap 1 "$1"
        diag "rc=$RC: $(cat "$TMP/e") / left: $(ls -A "$I" "$TMP/outside")"
    fi
}
refused "an absolute path is refused, naming the entry and layer" abs \
    "layer 1 (l0/layer.tar): entry '/etc/runbox-evil': an absolute path"
refused "a '..' escape is refused" dotdot "'..' component"
refused "a file written through a symlink to / is refused" symlink "symlink"
refused "a file written through an earlier layer's symlink is refused" symlink2 "layer 2.*symlink"
refused "a hard link to /etc/passwd is refused" hardlink "hard link to an absolute path"
refused "a hard link through .. is refused" hardlink2 "hard link through"
refused "a hard link to a path not extracted is refused" hardlink3 "not extracted"
refused "a blob that does not match its digest is refused" bad-digest "sha256 is"
refused "a config that does not match its digest is refused" bad-config-digest "sha256 is"
refused "a layer that does not match the config's diff_id is refused" bad-diff-id "diff_id"
refused "a truncated gzip layer is refused" truncated "layer 1"
refused "a manifest naming a missing layer is refused" missing-layer "not in the archive"
refused "a file over the size cap is refused at its header" bomb "over IMAGE_MAX_BYTES"
refused "a tar that is no image is refused" not-an-image "neither manifest.json"
refused "a missing file is refused" no-such-file "no-such-file"

img import "$A/devices.tar"
R=$I/demo-1.0/rootfs
[ $RC = 0 ] && [ ! -e "$R/dev/null2" ] && [ ! -e "$R/fifo" ] && [ -f "$R/ok" ] &&
    jq -e '.skipped_special == 2' "$I/demo-1.0/config.json" >/dev/null &&
    grep -q "2 device nodes" "$TMP/o"
tap $? "device nodes and FIFOs are skipped and counted" || diag "$(cat "$TMP/o" "$TMP/e")"
img rm demo-1.0
img import "$A/setuid.tar"
[ $RC = 0 ] && [ "$(stat -c %a "$R/bin/su")" = 755 ] && [ "$(stat -c %a "$R/bin/sg")" = 711 ] &&
    [ "$(stat -c %a "$R/tmp")" = 1777 ] &&
    jq -e '.stripped_modes == 2' "$I/demo-1.0/config.json" >/dev/null
tap $? "setuid and setgid bits are stripped (a directory's sticky bit stays)" ||
    diag "$(stat -c '%a %n' "$R/bin/su" "$R/bin/sg" "$R/tmp"; cat "$TMP/e")"
img rm demo-1.0

# Ctrl-C ends an import between two entries, with nothing left.
"$RUNBOX" image import --data "$D" "$A/many.tar" >"$TMP/o" 2>"$TMP/e" &
pid=$!
sleep 0.3
kill -INT $pid
wait $pid
RC=$?
cat "$TMP/e" >>"$TMP/all-err"
if [ $RC = 130 ] && [ -e "$I/demo-1.0" ]; then
    skip "an interrupted import leaves nothing" "the import finished before the signal"
    img rm demo-1.0
else
    [ $RC = 130 ] && grep -q interrupted "$TMP/e"
    tap $? "an interrupted import leaves nothing" || diag "rc=$RC $(cat "$TMP/e")"
fi
[ -z "$(ls -A "$I")" ]
tap $? "nothing is left in the images dir" || diag "$(ls -A "$I")"
! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$TMP/all-err"
tap $? "no sanitizer report" || diag "$(grep -E -A20 'Sanitizer|runtime error' "$TMP/all-err" | head -40)"
done_testing
