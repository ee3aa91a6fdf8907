#!/usr/bin/python3
"""The bare side of bench/langs.sh: for one language file and one hello program, writes a shell
script that does what runbox's compile and run stages do, on the host without a box: a fresh
work directory with the program in it, the language's compile argv (if any) and its run argv,
with the box's base environment plus the language's "env". Placeholders are expanded as the
box does for a one-file program ({main}, {stem}, {sources}); support files and judge
options are left out (a hello world needs none).

  langs.py LANGUAGE_FILE PROGRAM WORKDIR SCRIPT    prints "ok" or "skip: why"

The script runs in WORKDIR-N, N from the file WORKDIR.next (which it increments): the caller
makes those directories, each holding PROGRAM, before the timing.
"""
import json
import os
import shlex
import sys


def expand(argv, main, stem):
    out = []
    for a in argv:
        if a == "{sources}":
            out.append(main)
        else:
            out.append(a.replace("{main}", main).replace("{stem}", stem))
    return out


def main():
    lang_file, prog, work, script = sys.argv[1:5]
    with open(lang_file) as f:
        lang = json.load(f)
    runner = lang.get("runner") or {}
    if runner.get("image") or runner.get("type") == "docker":
        print("skip: runs on an image, not on the host's toolchain")
        return
    name = os.path.basename(prog)
    stem = name.rsplit(".", 1)[0]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8"}
    env.update(lang.get("env") or {})
    env.pop("PYTHONPATH", None)  # /box/.runbox: support files the bare run does not have
    # The work directories are made before the timing, one per run (bench/langs.sh makes
    # WORKDIR-1, WORKDIR-2, ... each with the program in it): a fresh directory as the box
    # has (GHC and raco would skip an up-to-date build), without rm, mkdir and cp inside the
    # timed command. The next one's number is in WORKDIR.next, read and bumped by builtins.
    nxt = shlex.quote(work + ".next")
    lines = ["set -e", "read -r n <%s" % nxt, "echo $((n + 1)) >%s" % nxt,
             "cd %s-$n" % shlex.quote(work)]
    envs = "env -i " + " ".join(shlex.quote("%s=%s" % kv) for kv in env.items())
    if lang.get("compile"):
        lines.append("%s %s >/dev/null" % (envs, shlex.join(expand(lang["compile"], name, stem))))
    lines.append("exec %s %s" % (envs, shlex.join(expand(lang["run"], name, stem))))
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("ok")


main()
