#!/usr/bin/env bash
# Dev helper (not part of the test suite): checks every languages/*.json against the
# real toolchains WITHOUT runbox. For each language and each program in
# tests/programs/<lang>/ it copies the program into a fresh temp dir, runs the
# language's compile argv (placeholders expanded, language env, minimal base env)
# and then its run argv with that dir as cwd, and checks stdout/stderr/exit status:
#   hello  -> stdout "Hello, World!\n", exit 0
#   echo   -> stdout == stdin (text and binary bytes), exit 0
#   args   -> each program argument on its own line, exit 0
#   exit3  -> stderr "bye\n", exit 3
#   broken -> compile fails (compiled languages only)
# It also runs each language's "selftest" and "version" command, and prints the wall
# time, CPU time (process tree) and peak RSS (largest single process) of every stage
# (wall time only with --bwrap). Memory/pids limits are not enforced (no cgroup);
# the CPU limit is applied per process with RLIMIT_CPU and the wall limit by killing.
#
# Usage: tests/programs/check-outside-box.sh [--bwrap] [--keep] [-v] [LANG...]
#   --bwrap  run every stage under bubblewrap with a box-like filesystem view
#            (/usr, /bin, /lib*, /sbin, the box's /etc files and the language's
#            "paths" read-only; the temp dir as a writable /box; an empty tmpfs /tmp;
#            no network). Catches missing "paths" entries. Needs /usr/bin/bwrap.
#   --keep   keep the temp dirs (printed) instead of removing them
#   -v       print compiler/program stderr of passing stages too
# Without --bwrap, /tmp in the language env (and HOME, TMPDIR) is redirected to a
# fresh per-stage directory so that caches (e.g. GOCACHE) start empty like in the box.
set -euo pipefail
exec /usr/bin/python3 - "$(cd "$(dirname "$0")/../.." && pwd)" "$@" <<'PY'
import json, os, re, resource, shutil, signal, subprocess, sys, tempfile, time

root = sys.argv[1]
argv = sys.argv[2:]
use_bwrap = "--bwrap" in argv
keep = "--keep" in argv
verbose = "-v" in argv
only = [a for a in argv if not a.startswith("-")]

LANG_DIR = os.path.join(root, "languages")
PROG_DIR = os.path.join(root, "tests", "programs")
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
# /etc entries the box always gets (besides generated passwd/group/hosts)
BOX_ETC = ["/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
           "/etc/localtime", "/etc/ssl", "/etc/fonts", "/etc/mime.types"]
ARGS = ["one", "two words", "", "-n", "--", "*", "ünïcödé"]
ECHO_IN = (b"first line\n  indented line with trailing spaces   \n\n"
           b"tab\there\n\xc3\xbcnicode \xe2\x9c\x93\n"
           + bytes(range(256)) + b"\n"
           + b"".join(b"%06d lorem ipsum dolor sit amet\n" % i for i in range(3000))
           + b"no trailing newline")
REQUIRED = ("name", "display_name", "aliases", "extensions", "source_file", "version",
            "compile", "run", "env", "paths", "limits", "selftest")
LIMIT_KEYS = ("time", "wall", "memory_mb", "pids")

failures = []
rows = []
top = tempfile.mkdtemp(prefix="runbox-check-")
if use_bwrap and not os.access("/usr/bin/bwrap", os.X_OK):
    sys.exit("check: --bwrap needs /usr/bin/bwrap")


def fail(lang, what, msg):
    failures.append(f"{lang}/{what}: {msg}")
    print(f"  FAIL {what}: {msg}")


def validate(spec, fname):
    errs = [f"missing key {k}" for k in REQUIRED if k not in spec]
    if spec.get("name") + ".json" != os.path.basename(fname):
        errs.append("name does not match the file name")
    for k in ("version", "run"):
        v = spec.get(k)
        if not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
            errs.append(f"{k} must be a non-empty string array")
    c = spec.get("compile")
    if c is not None:
        if not (isinstance(c, list) and c and all(isinstance(x, str) for x in c)):
            errs.append("compile must be null or a non-empty string array")
        if not isinstance(spec.get("compile_limits"), dict):
            errs.append("compiled language without compile_limits")
    for lk in ("limits", "compile_limits"):
        if lk in spec:
            keys = LIMIT_KEYS + (("output_kb",) if lk == "limits" else ())
            for k in keys:
                if not isinstance(spec[lk].get(k), int) or spec[lk][k] <= 0:
                    errs.append(f"{lk}.{k} must be a positive integer")
    for arr in (spec.get("version", []), spec.get("run", []), c or []):
        for el in arr:
            for ph in re.findall(r"\{[^{}]*\}", el):
                if ph not in ("{main}", "{stem}", "{sources}"):
                    errs.append(f"unknown placeholder {ph} in {el[:40]!r}")
                if ph == "{sources}" and el != ph:
                    errs.append("{sources} must be a whole element")
    if not os.path.splitext(spec.get("source_file", ""))[1] in spec.get("extensions", []):
        errs.append("source_file extension not in extensions")
    st = spec.get("selftest", {})
    if spec.get("source_file") not in st.get("files", {}):
        errs.append("selftest.files lacks source_file")
    for p in spec.get("paths", []):
        if not os.path.exists(p):
            errs.append(f"path {p} does not exist on this host")
    return errs


def expand(argv, main, boxdir, exts):
    stem = os.path.splitext(main)[0]
    out = []
    for el in argv:
        if el == "{sources}":
            out += sorted(f for f in os.listdir(boxdir)
                          if os.path.splitext(f)[1] in exts and os.path.isfile(os.path.join(boxdir, f)))
        else:
            out.append(el.replace("{main}", main).replace("{stem}", stem))
    return out


def bwrap_prefix(spec, boxdir, etcdir):
    cmd = ["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
           "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
           "--bind", boxdir, "/box", "--chdir", "/box", "--clearenv"]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    for p in BOX_ETC + list(spec["paths"]):
        if os.path.lexists(p):
            cmd += ["--ro-bind", p, p]
    for f in ("passwd", "group", "hosts"):
        cmd += ["--ro-bind", os.path.join(etcdir, f), "/etc/" + f]
    return cmd


def run_stage(spec, stage_argv, boxdir, limits, stdin=b"", label=""):
    """Runs one stage; returns (rc, stdout, stderr, wall, cpu, maxrss_kb, note)."""
    stagetmp = tempfile.mkdtemp(dir=top, prefix="tmp-")
    env = dict(BASE_ENV)
    env.update(spec["env"])
    if use_bwrap:
        etcdir = os.path.join(stagetmp, "etc")
        os.mkdir(etcdir)
        with open(os.path.join(etcdir, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n")
        with open(os.path.join(etcdir, "group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")
        with open(os.path.join(etcdir, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n::1 localhost\n")
        cmd = bwrap_prefix(spec, boxdir, etcdir)
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        cmd += ["--"] + stage_argv
        cwd, penv = boxdir, {"PATH": "/usr/bin:/bin"}
    else:
        # emulate the box's private /tmp: redirect /tmp-based values to a fresh dir
        t = os.path.join(stagetmp, "tmp")
        os.mkdir(t)
        penv = {k: (t + v[4:] if v == "/tmp" or v.startswith("/tmp/") else v) for k, v in env.items()}
        penv["TMPDIR"] = t
        cmd, cwd = stage_argv, boxdir
    inf = tempfile.TemporaryFile(dir=stagetmp)
    inf.write(stdin)
    inf.seek(0)
    outf = tempfile.TemporaryFile(dir=stagetmp)
    errf = tempfile.TemporaryFile(dir=stagetmp)
    cpu_limit = limits["time"]

    def pre():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit + 1))

    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=penv, stdin=inf, stdout=outf, stderr=errf,
                         preexec_fn=pre)
    note = ""
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > limits["wall"]:
            os.killpg(p.pid, signal.SIGKILL)
            note = f"wall limit {limits['wall']}s exceeded"
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.005)
    wall = time.monotonic() - t0
    p.returncode = 0  # reaped by wait4 ourselves
    try:
        os.killpg(p.pid, signal.SIGKILL)  # leftover background processes
    except ProcessLookupError:
        pass
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        note = note or f"killed by signal {-rc}"
    outf.seek(0)
    errf.seek(0)
    out, err = outf.read(), errf.read()
    for f in (inf, outf, errf):
        f.close()
    shutil.rmtree(stagetmp, ignore_errors=True)
    mem_kb = limits["memory_mb"] * 1024
    if ru.ru_maxrss > mem_kb and not use_bwrap:
        note += f" peak RSS {ru.ru_maxrss // 1024} MiB > memory_mb {limits['memory_mb']}"
    cpu = ru.ru_utime + ru.ru_stime
    rows.append((spec["name"], label, wall, cpu, ru.ru_maxrss // 1024))
    return rc, out, err, wall, cpu, ru.ru_maxrss, note.strip()


def show(b, n=1500):
    s = b.decode("utf-8", "replace")
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def build_and_run(spec, files, main, what, stdin=b"", args=(), expect_compile_fail=False):
    """files: dict name -> bytes. Returns (rc, out, err) of the run stage, or None."""
    boxdir = tempfile.mkdtemp(dir=top, prefix=spec["name"] + "-" + what + "-")
    os.chmod(boxdir, 0o777)
    for name, data in files.items():
        with open(os.path.join(boxdir, name), "wb") as f:
            f.write(data)
    exts = spec["extensions"]
    try:
        if spec["compile"] is not None:
            cargv = expand(spec["compile"], main, boxdir, exts)
            rc, out, err, wall, cpu, rss, note = run_stage(
                spec, cargv, boxdir, spec["compile_limits"], label=what + " compile")
            if expect_compile_fail:
                if rc == 0:
                    fail(spec["name"], what, "compile succeeded but should fail")
                elif rc < 0 or note:
                    fail(spec["name"], what, f"compile died instead of failing cleanly: {note}")
                elif not (out.strip() or err.strip()):
                    fail(spec["name"], what, "compile failed without any diagnostics")
                else:
                    print(f"  ok   {what}: compile failed as expected (rc {rc}, {wall:.2f}s)")
                    if verbose:
                        print("       " + show(err + out, 600).replace("\n", "\n       "))
                return None
            if rc != 0 or note:
                fail(spec["name"], what, f"compile rc {rc} {note}\n{show(out + err)}")
                return None
            if err.strip() and verbose:
                print(f"       compile stderr: {show(err, 400)}")
        elif expect_compile_fail:
            fail(spec["name"], what, "interpreted language has a broken program")
            return None
        rargv = expand(spec["run"], main, boxdir, exts) + list(args)
        rc, out, err, wall, cpu, rss, note = run_stage(spec, rargv, boxdir, spec["limits"], stdin,
                                                        label=what + " run")
        if len(out) + len(err) > spec["limits"]["output_kb"] * 1024:
            note += " output over output_kb"
        if note:
            fail(spec["name"], what, f"run: {note} (rc {rc})\n{show(err)}")
            return None
        return rc, out, err
    finally:
        if not keep:
            shutil.rmtree(boxdir, ignore_errors=True)


def check_lang(fname):
    with open(fname, encoding="utf-8") as f:
        spec = json.load(f)
    name = spec.get("name", "?")
    print(f"== {name} ({os.path.basename(fname)})")
    errs = validate(spec, fname)
    if errs:
        for e in errs:
            fail(name, "json", e)
        return
    # version
    rc, out, err, wall, cpu, rss, note = run_stage(spec, spec["version"], top,
                                                    spec["limits"], label="version")
    line = next((l for l in (out + err).decode("utf-8", "replace").splitlines()
                 if re.search(r"\d", l)), "")
    m = re.search(r"\d+(?:\.\d+)+", line) or re.search(r"\d+", line)
    if rc != 0 or not m:
        fail(name, "version", f"rc {rc}, no version in {show(out + err, 200)!r}")
    else:
        print(f"  ok   version: {m.group(0)}   ({line.strip()})")
    # selftest
    st = spec["selftest"]
    files = {k: v.encode() for k, v in st["files"].items()}
    r = build_and_run(spec, files, spec["source_file"], "selftest",
                      st.get("stdin", "").encode(), st.get("args", []))
    if r:
        rc, out, err = r
        if rc == 0 and out.decode("utf-8", "replace") == st["expected_output"]:
            print("  ok   selftest")
        else:
            fail(name, "selftest", f"rc {rc}, stdout {show(out)!r}, stderr {show(err)!r}")
    # programs
    pdir = os.path.join(PROG_DIR, name)
    progs = {}
    for f in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
        stem, ext = os.path.splitext(f)
        if ext in spec["extensions"]:
            progs[stem.lower()] = f
    compiled = spec["compile"] is not None
    wanted = ["hello", "echo", "args", "exit3"] + (["broken"] if compiled else [])
    for what in wanted:
        if what not in progs:
            fail(name, what, f"missing program in {pdir}")
    for what in sorted(set(progs) - set(wanted)):
        fail(name, what, "unexpected program (broken is only for compiled languages)")
    for what in wanted:
        if what not in progs:
            continue
        fn = progs[what]
        with open(os.path.join(pdir, fn), "rb") as f:
            files = {fn: f.read()}
        if what == "broken":
            build_and_run(spec, files, fn, what, expect_compile_fail=True)
            continue
        stdin = ECHO_IN if what == "echo" else b""
        args = ARGS if what == "args" else []
        r = build_and_run(spec, files, fn, what, stdin, args)
        if not r:
            continue
        rc, out, err = r
        exp_rc, exp_out, exp_err = {
            "hello": (0, b"Hello, World!\n", b""),
            "echo": (0, ECHO_IN, b""),
            "args": (0, "".join(a + "\n" for a in ARGS).encode(), b""),
            "exit3": (3, b"", b"bye\n"),
        }[what]
        if (rc, out, err) == (exp_rc, exp_out, exp_err):
            print(f"  ok   {what}")
        else:
            fail(name, what, f"rc {rc} (want {exp_rc}), stdout {show(out, 300)!r} "
                             f"(want {show(exp_out, 60)!r}), stderr {show(err, 600)!r} (want {exp_err!r})")


try:
    langs = sorted(f for f in os.listdir(LANG_DIR) if f.endswith(".json"))
    if only:
        langs = [f for f in langs if f[:-5] in only]
        missing = set(only) - {f[:-5] for f in langs}
        if missing:
            sys.exit(f"check: no languages/{'/'.join(sorted(missing))}.json")
    print(f"mode: {'bwrap (box-like view)' if use_bwrap else 'outside box'}; temp {top}")
    seen_names, seen_exts = {}, {}
    for f in sorted(os.listdir(LANG_DIR)):
        if f.endswith(".json"):
            with open(os.path.join(LANG_DIR, f), encoding="utf-8") as fh:
                sp = json.load(fh)
            for n in [sp.get("name")] + list(sp.get("aliases", [])):
                if n in seen_names:
                    failures.append(f"{f}: name/alias {n!r} also used by {seen_names[n]}")
                seen_names[n] = f
            for e in sp.get("extensions", []):
                if e in seen_exts:
                    failures.append(f"{f}: extension {e!r} also used by {seen_exts[e]}")
                seen_exts[e] = f
    for msg in failures:
        print("  FAIL " + msg)
    for f in langs:
        check_lang(os.path.join(LANG_DIR, f))
finally:
    if keep:
        print(f"kept {top}")
    else:
        shutil.rmtree(top, ignore_errors=True)

print("\n%-11s %-18s %8s %8s %9s" % ("language", "stage", "wall s", "cpu s", "rss MiB"))
for n, label, wall, cpu, rss in rows:
    if use_bwrap:  # bwrap's pid-1 reaper hides the payload's rusage
        print("%-11s %-18s %8.2f %8s %9s" % (n, label, wall, "-", "-"))
    else:
        print("%-11s %-18s %8.2f %8.2f %9d" % (n, label, wall, cpu, rss))
if failures:
    print(f"\n{len(failures)} FAILURE(S):")
    for f in failures:
        print("  " + f.splitlines()[0])
    sys.exit(1)
print(f"\nall {len(langs)} languages OK")
PY
