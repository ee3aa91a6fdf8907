#!/usr/bin/python3
"""Process timer for bench/run.sh: paired, alternating start-to-exit timings and parallel
throughput, with the same spawning path (os.posix_spawn + waitpid, stdio on /dev/null, a clean
environment, no inherited fds) for every contender.

  timer.py paired     --section S --n N [--warmup W] [--gap-ms G] [--expect TEXT] --out FILE
                      NAME CMD [NAME CMD ...]        (the first is the baseline)
  timer.py throughput --section S --runs N --k K [--rounds R] [--expect TEXT] --out FILE
                      NAME CMD [NAME CMD ...]        (the first is the baseline)
  timer.py summary FILE

CMD is one shell-quoted string; leading VAR=value words are added to the base environment
(PATH=/usr/bin:/bin), like env(1). Results are appended to FILE as tab-separated rows, which
`summary` prints as a table. Nothing is asserted: a contender that fails its check run is
reported and skipped, and the exit status is 3 when that happened.
"""
import argparse
import gc
import math
import os
import shlex
import subprocess
import sys
import time

BASE_ENV = {"PATH": "/usr/bin:/bin"}


def no_inherited_fds():
    """Mark every fd above 2 close-on-exec: the same as close_fds for every child."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


class Contender:
    def __init__(self, name, cmd):
        words = shlex.split(cmd)
        self.env = dict(BASE_ENV)
        while words and "=" in words[0] and not words[0].startswith("/"):
            k, v = words.pop(0).split("=", 1)
            self.env[k] = v
        self.name, self.cmd, self.argv = name, cmd, words
        self.path = words[0]
        self.failures = 0

    def shown(self):
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items() if k != "PATH")
        return f"env -i PATH={BASE_ENV['PATH']} {extra + ' ' if extra else ''}" + " ".join(
            shlex.quote(w) for w in self.argv)

    def check(self, expect):
        """One untimed run with output captured: does it work at all?"""
        try:
            p = subprocess.run(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                               capture_output=True, close_fds=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{e}"
        if p.returncode != 0:
            return f"exit status {p.returncode}: {p.stderr.decode(errors='replace').strip()[:300]}"
        if expect is not None and p.stdout.decode(errors="replace").strip() != expect:
            return f"stdout {p.stdout[:100]!r}, expected {expect!r}"
        return None


_FILE_ACTIONS = None


def file_actions():
    global _FILE_ACTIONS
    if _FILE_ACTIONS is None:
        _FILE_ACTIONS = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                         (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                         (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]
    return _FILE_ACTIONS


def spawn_wait(c):
    """Start-to-exit of one run in ns, or -1 when it did not exit 0."""
    fa = file_actions()
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(c.path, c.argv, c.env, file_actions=fa)
    _, st = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    return t1 - t0 if st == 0 else -1


def quantile(xs, q):
    s = sorted(xs)
    if not s:
        return float("nan")
    i = q * (len(s) - 1)
    lo, hi = math.floor(i), math.ceil(i)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)


def median_ci(xs):
    """Distribution-free ~95% confidence interval of the median (order statistics)."""
    s = sorted(xs)
    n = len(s)
    if n < 6:
        return (float("nan"), float("nan"))
    h = 1.96 * math.sqrt(n) / 2
    lo, hi = max(0, int(math.floor(n / 2 - h))), min(n - 1, int(math.ceil(n / 2 + h)))
    return s[lo], s[hi]


def emit(out, row):
    with open(out, "a") as f:
        f.write("\t".join(str(x) for x in row) + "\n")


def checked(cs, expect):
    ok = []
    for c in cs:
        err = c.check(expect)
        if err:
            print(f"  !! {c.name} does not run: {err}", flush=True)
            print(f"     command: {c.shown()}", flush=True)
        else:
            ok.append(c)
    return ok


def cmd_paired(a, cs):
    ok = checked(cs, a.expect)
    failed = len(ok) != len(cs)
    if not ok:
        return 3
    print(f"  commands ({a.n} rounds, order rotated each round"
          + (f", {a.gap_ms} ms idle before every run" if a.gap_ms else ", back to back") + "):")
    for c in ok:
        print(f"    {c.name:<14} {c.shown()}")
    for _ in range(a.warmup):
        for c in ok:
            spawn_wait(c)
    gap = a.gap_ms / 1000.0
    t = {c.name: [] for c in ok}
    gc.disable()
    t_start = time.monotonic()
    for i in range(a.n):
        k = i % len(ok)
        for c in ok[k:] + ok[:k]:
            if gap:
                time.sleep(gap)
            ns = spawn_wait(c)
            if ns < 0:
                c.failures += 1
                t[c.name].append(float("nan"))
            else:
                t[c.name].append(ns / 1e6)
    elapsed = time.monotonic() - t_start
    gc.enable()
    base = ok[0]
    bt = t[base.name]
    bmed = quantile([x for x in bt if x == x], 0.5)
    print(f"  {'contender':<14} {'median':>8} {'p10':>8} {'p90':>8} {'+ over ' + base.name:>16}"
          f" {'95% CI of +':>17} {'ratio':>7} {'fails':>5}   (ms)")
    for c in ok:
        xs = [x for x in t[c.name] if x == x]
        med = quantile(xs, 0.5)
        # The added cost: the median of the per-round differences to the baseline.
        d = [x - y for x, y in zip(t[c.name], bt) if x == x and y == y]
        dmed = quantile(d, 0.5) if c is not base else 0.0
        lo, hi = median_ci(d) if c is not base else (0.0, 0.0)
        ratio = med / bmed if bmed else float("nan")
        ci = f"[{lo:+.2f}, {hi:+.2f}]" if c is not base else ""
        print(f"  {c.name:<14} {med:8.3f} {quantile(xs, 0.1):8.3f} {quantile(xs, 0.9):8.3f}"
              f" {dmed if c is not base else 0:+16.3f} {ci:>17} {ratio:6.2f}x {c.failures:5d}")
        emit(a.out, ["paired", a.section, c.name, len(xs), f"{med:.4f}", f"{quantile(xs, .1):.4f}",
                     f"{quantile(xs, .9):.4f}", f"{dmed:.4f}", f"{lo:.4f}", f"{hi:.4f}",
                     f"{ratio:.4f}", c.failures, base.name, c.shown()])
    print(f"  ({elapsed:.1f} s)", flush=True)
    return 3 if failed else 0


def worker_loop(c, n):
    fa = file_actions()
    bad = 0
    for _ in range(n):
        pid = os.posix_spawn(c.path, c.argv, c.env, file_actions=fa)
        _, st = os.waitpid(pid, 0)
        bad += st != 0
    return bad


def batch(c, k, n):
    """k worker processes run n runs in all; returns (seconds, failures)."""
    per = [n // k + (1 if i < n % k else 0) for i in range(k)]
    r, w = os.pipe()
    t0 = time.perf_counter_ns()
    pids = []
    for i in range(k):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            bad = worker_loop(c, per[i])
            os.write(w, bytes([min(bad, 255)]))
            os._exit(0)
        pids.append(pid)
    os.close(w)
    for pid in pids:
        os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    bad = sum(os.read(r, 4096))
    os.close(r)
    return (t1 - t0) / 1e9, bad


def cmd_throughput(a, cs):
    ok = checked(cs, a.expect)
    failed = len(ok) != len(cs)
    if not ok:
        return 3
    print(f"  K={a.k} parallel loops, {a.runs} runs per contender in {a.rounds} alternating "
          f"rounds of {a.runs // a.rounds}:")
    for c in ok:
        print(f"    {c.name:<22} {c.shown()}")
    per_round = max(a.k, a.runs // a.rounds)
    rates = {c.name: [] for c in ok}
    for rnd in range(a.rounds):
        order = ok if rnd % 2 == 0 else ok[::-1]
        for c in order:
            sec, bad = batch(c, a.k, per_round)
            c.failures += bad
            rates[c.name].append(per_round / sec)
    base = ok[0]
    bmed = quantile(rates[base.name], 0.5)
    print(f"  {'contender':<22} {'runs/s':>8} {'min':>8} {'max':>8} {'vs ' + base.name:>12} {'fails':>5}")
    for c in ok:
        xs = rates[c.name]
        med = quantile(xs, 0.5)
        print(f"  {c.name:<22} {med:8.1f} {min(xs):8.1f} {max(xs):8.1f} {med / bmed:11.2f}x"
              f" {c.failures:5d}")
        emit(a.out, ["throughput", a.section, c.name, per_round * a.rounds, f"{med:.2f}",
                     f"{min(xs):.2f}", f"{max(xs):.2f}", a.k, f"{med / bmed:.4f}", c.failures,
                     base.name, c.shown()])
    sys.stdout.flush()
    return 3 if failed else 0


def cmd_summary(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    print(f"  {'section':<28} {'contender':<22} {'median ms':>9} {'p90 ms':>8} {'+ms vs base':>12}"
          f" {'ratio':>7}")
    last = None
    meds = {}
    for r in rows:
        meds[(r[1], r[2])] = float(r[4])
    for r in rows:
        kind, section = r[0], r[1]
        if section != last and last is not None:
            print()
        shown_sec = section if section != last else ""
        last = section
        if kind in ("paired", "inproc"):
            name, med, p90, dmed, ratio, base = r[2], float(r[4]), float(r[6]), float(r[7]), \
                float(r[10]), r[12]
            plus = "" if name == base else f"{dmed:+.2f}"
            rat = "" if name == base else f"{ratio:.2f}x"
            print(f"  {shown_sec:<28} {name:<22} {med:9.2f} {p90:8.2f} {plus:>12} {rat:>7}")
            if name == "bwrap" and (section, "runbox") in meds:
                rb = meds[(section, "runbox")]
                print(f"  {'':<28} {'(runbox / bwrap)':<22} {'':>9} {'':>8} {rb - med:+12.2f}"
                      f" {rb / med:6.2f}x")
        elif kind == "throughput":
            name, med, k, ratio, base = r[2], float(r[4]), r[7], float(r[8]), r[10]
            rat = "" if name == base else f"{ratio:.2f}x"
            print(f"  {shown_sec:<28} {name:<22} {med:7.1f}/s {'':>8} {'':>12} {rat:>7}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "summary":
        cmd_summary(sys.argv[2])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["paired", "throughput"])
    p.add_argument("--section", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--expect")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--gap-ms", type=int, default=0)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("contenders", nargs="+")
    a = p.parse_args()
    if len(a.contenders) % 2:
        p.error("contenders come as NAME CMD pairs")
    no_inherited_fds()
    cs = [Contender(a.contenders[i], a.contenders[i + 1]) for i in range(0, len(a.contenders), 2)]
    return cmd_paired(a, cs) if a.mode == "paired" else cmd_throughput(a, cs)


if __name__ == "__main__":
    sys.exit(main())
