"""runbox's pytest plugin, loaded with `-p runbox_pytest` in runbox's test mode.

It is the report: runbox-jsonl events, one flushed line each, written to the fd that
RUNBOX_REPORT_FD names (a pipe runbox reads; see src/job/inproc.c), else to
$RUNBOX_DIR/report.jsonl (runners without that pipe):

* "plan" once the tests are collected (their count and names), "start" and "end" per test
  (status, message, output, test_code), "done" with pytest's exit status last. A run that ends
  before "done" (os._exit) is not a success, and a planned test without "end" is an error.
* The fd is taken when the plugin loads, before any test module (and so any student module) is
  imported: it is moved to a high number and fd 3 is closed.
* Each test gets a time budget (RUNBOX_TEST_BUDGET_MS, else max(1 s, RUNBOX_WALL_MS / number of
  tests)): past it, a RunboxTimeout is raised in the test (again every 100 ms if it is caught)
  and the test is reported "timed out after N s"; the other tests still run.

Only the standard library and pytest's public hooks are used (pytest 7).
"""

import fcntl
import inspect
import json
import os
import re
import signal

import pytest

_TEXT_MAX = 16 * 1024  # what runbox keeps of one string (REPORT_TEXT_MAX)


def _open_channel():
    fd = os.environ.get("RUNBOX_REPORT_FD")
    try:
        if fd:
            high = fcntl.fcntl(int(fd), fcntl.F_DUPFD_CLOEXEC, 100)
            os.close(int(fd))
            return os.fdopen(high, "w", encoding="utf-8")
        path = os.path.join(os.environ.get("RUNBOX_DIR", "/box/.runbox"), "report.jsonl")
        return open(path, "w", encoding="utf-8")
    except (OSError, ValueError):
        return None


_stream = _open_channel()  # taken now, before the tests (and the student's code) are imported
_reports = {}  # nodeid -> the phase reports (setup, call, teardown) seen so far
_budget = 0.0  # seconds per test, 0 = none


class RunboxTimeout(BaseException):
    """Raised in a test that ran past its time budget (BaseException: `except Exception` in the
    student's code does not swallow it)."""


def _clean(s):
    """@s as valid UTF-8 text (lone surrogates replaced), cut to what runbox keeps."""
    if s is None:
        return ""
    s = str(s)
    if len(s) > _TEXT_MAX:
        s = s[:_TEXT_MAX] + "\n[... cut ...]"
    return s.encode("utf-8", "replace").decode("utf-8")


def _emit(event):
    if _stream:
        _stream.write(json.dumps({k: v if k in ("count", "names", "code") else _clean(v)
                                  for k, v in event.items()}) + "\n")
        _stream.flush()


def _test_code(item):
    fn = getattr(item, "function", None)
    if fn is None:
        return None
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def _message(report):
    """One short line or a few: what went wrong in @report."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[-1])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _no_cli_hints(crash.message)
    text = str(longrepr).rstrip()
    return _no_cli_hints(text.splitlines()[-1]) if text else ""


def _no_cli_hints(message):
    """@message without pytest's hints at its command line ("Use -v to get more diff", "use
    '-vv' to show"): the student has no command line. The language sets CI, so pytest shows the
    whole comparison and these should not appear; any that still do are dropped."""
    lines = [l for l in message.split("\n") if not _CLI_HINT.search(l)]
    return "\n".join(lines).rstrip()


_CLI_HINT = re.compile(r"\b[Uu]se -v+\b|use '-v+'|\(-vv?\)")


def _outcome(reports):
    """(status, message) of one test from its phase reports."""
    for rep in reports:
        if rep.failed and "RunboxTimeout" in str(rep.longrepr):
            return "error", "timed out after %g s" % _budget
    for rep in reports:
        if rep.failed and rep.when != "call":
            return "error", "%s failed: %s" % (rep.when, _message(rep))
    for rep in reports:
        if rep.when == "call":
            if rep.failed:
                return "fail", _message(rep)
            if rep.skipped:
                if hasattr(rep, "wasxfail"):
                    return "pass", "expected failure: %s" % rep.wasxfail
                return "skip", _message(rep)
    for rep in reports:
        if rep.skipped:
            return "skip", _message(rep)
    return "pass", ""


def pytest_collectreport(report):
    if report.failed:  # a test file that does not import: one errored test named after it
        name = "collecting %s" % report.nodeid
        _emit({"event": "start", "name": name})
        _emit({"event": "end", "name": name, "status": "error", "message": _message(report),
               "output": str(report.longrepr)})


def pytest_collection_finish(session):
    global _budget
    items = session.items
    _emit({"event": "plan", "count": len(items), "names": [_clean(i.name) for i in items]})
    try:
        budget_ms = int(os.environ.get("RUNBOX_TEST_BUDGET_MS") or 0)
        wall_ms = int(os.environ.get("RUNBOX_WALL_MS") or 0)
    except ValueError:
        budget_ms = wall_ms = 0
    if not budget_ms and wall_ms and items:
        budget_ms = max(1000, wall_ms // len(items))
    _budget = budget_ms / 1000.0


def pytest_sessionfinish(session, exitstatus):
    _emit({"event": "done", "code": int(exitstatus)})


def _on_alarm(signum, frame):
    raise RunboxTimeout("timed out after %g s" % _budget)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _reports[item.nodeid] = []
    _emit({"event": "start", "name": item.name})
    if _budget:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _budget, 0.1)
    try:
        yield
    finally:
        if _budget:
            signal.setitimer(signal.ITIMER_REAL, 0)
    reports = _reports.pop(item.nodeid, [])
    status, message = _outcome(reports)
    # Each phase's report carries the sections captured so far: the last one has them all.
    output = reports[-1].capstdout + reports[-1].capstderr if reports else ""
    event = {"event": "end", "name": item.name, "status": status}
    if message:
        event["message"] = message
    if output:
        event["output"] = output
    code = _test_code(item)
    if code:
        event["test_code"] = code
    _emit(event)


def pytest_runtest_logreport(report):
    if report.nodeid in _reports:
        _reports[report.nodeid].append(report)
