"""runbox's pytest plugin, loaded with `-p runbox_pytest` in runbox's test mode.

It does two things the JUnit XML report cannot:

* It writes runbox-jsonl events to $RUNBOX_DIR/progress.jsonl as each test starts and ends,
  one flushed line each, so that when the run is cut off (a timeout, the memory limit) the
  tests that finished are still known and the one that was running is named.
* It records each test function's source as the user property "test_code", which pytest
  writes into the JUnit XML as <property name="test_code" value="...">.

Only the standard library and pytest's public hooks are used (pytest 7).
"""

import inspect
import json
import os

import pytest

_TEXT_MAX = 16 * 1024  # what runbox keeps of one string (REPORT_TEXT_MAX)

_stream = None  # the progress file; False when it cannot be opened
_reports = {}  # nodeid -> the phase reports (setup, call, teardown) seen so far


def _clean(s):
    """@s as valid UTF-8 text (lone surrogates replaced), cut to what runbox keeps."""
    if s is None:
        return ""
    s = str(s)
    if len(s) > _TEXT_MAX:
        s = s[:_TEXT_MAX] + "\n[... cut ...]"
    return s.encode("utf-8", "replace").decode("utf-8")


def _emit(event):
    global _stream
    if _stream is None:
        path = os.path.join(os.environ.get("RUNBOX_DIR", "/box/.runbox"), "progress.jsonl")
        try:
            _stream = open(path, "a", encoding="utf-8")
        except OSError:
            _stream = False
    if _stream:
        _stream.write(json.dumps({k: _clean(v) for k, v in event.items()}) + "\n")
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
        return crash.message
    text = str(longrepr).rstrip()
    return text.splitlines()[-1] if text else ""


def _outcome(reports):
    """(status, message) of one test from its phase reports."""
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


def pytest_configure(config):
    # junit_logging=all writes a "--- Captured Log ---" banner into <system-out> even when
    # nothing was captured; keep banners only over something. Private API, hence the guard:
    # without it the report is merely noisier.
    try:
        from _pytest.junitxml import _NodeReporter

        prepare = _NodeReporter._prepare_content
    except (ImportError, AttributeError):
        return

    def prepare_nonempty(self, content, header):
        return prepare(self, content, header) if content else ""

    _NodeReporter._prepare_content = prepare_nonempty


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        code = _test_code(item)
        if code:
            item.user_properties.append(("test_code", code))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _reports[item.nodeid] = []
    _emit({"event": "start", "name": item.name})
    yield
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
