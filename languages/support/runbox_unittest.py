"""runbox's unittest runner: python3 /box/.runbox/runbox_unittest.py TEST_FILE...

Loads each test file as a module (by its name, from /box, so that it can import the student's
modules by name), runs every TestCase in it with output buffering, and writes runbox-jsonl
events as it goes, one flushed line per event, to the fd RUNBOX_REPORT_FD names (a pipe runbox
reads: taken, moved to a high fd and fd 3 closed before any test module is imported), else to
$RUNBOX_DIR/report.jsonl:

    {"event": "plan", "count": 2, "names": ["TestAdd.test_small", ...]}
    {"event": "start", "name": "TestAdd.test_small"}
    {"event": "end", "name": "TestAdd.test_small", "status": "pass"|"fail"|"error"|"skip",
     "message": "...", "output": "...", "test_code": "..."}
    {"event": "done", "code": 0}

A test cut off by a timeout keeps its "start" without an "end". Each test has a time budget
(RUNBOX_TEST_BUDGET_MS, else max(1 s, RUNBOX_WALL_MS / number of tests)): past it a
RunboxTimeout is raised in it (again every 100 ms if caught) and it is reported "timed out after
N s". The usual verbose unittest report goes to stderr. Exit status: 0 when every test passed,
1 otherwise.
"""

import fcntl
import signal


def _open_channel():
    import os
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


_CHANNEL = _open_channel()  # before anything else is imported

import importlib
import inspect
import json
import os
import sys
import traceback
import unittest

_TEXT_MAX = 16 * 1024  # what runbox keeps of one string (REPORT_TEXT_MAX)


def _clean(s):
    """@s as valid UTF-8 text (lone surrogates replaced), cut to what runbox keeps."""
    s = str(s)
    if len(s) > _TEXT_MAX:
        s = s[:_TEXT_MAX] + "\n[... cut ...]"
    return s.encode("utf-8", "replace").decode("utf-8")


class RunboxTimeout(BaseException):
    """Raised in a test past its time budget (not swallowed by `except Exception`)."""


_budget = 0.0


def _on_alarm(signum, frame):
    raise RunboxTimeout("timed out after %g s" % _budget)


class Events:
    """The runbox-jsonl report (the channel)."""

    def __init__(self, f):
        self.f = f

    def emit(self, **event):
        if not self.f:
            return
        self.f.write(json.dumps({k: v if k in ("count", "names", "code") else _clean(v)
                                 for k, v in event.items() if v or k in ("count", "code")})
                     + "\n")
        self.f.flush()


def _name(test):
    method = getattr(test, "_testMethodName", None)
    if method is None:  # an _ErrorHolder: setUpClass, a module fixture...
        return str(test)
    return "%s.%s" % (type(test).__name__, method)


def _test_code(test):
    method = getattr(test, "_testMethodName", None)
    fn = getattr(type(test), method, None) if method else None
    if fn is None:
        return ""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _is_internal(filename):
    return os.sep + "unittest" + os.sep in filename or filename == __file__


def _format_frames(frames):
    """A traceback's frames with the files in the working directory (/box) named relatively."""
    here = os.getcwd() + os.sep
    for f in frames:
        if f.filename.startswith(here):
            f.filename = f.filename[len(here):]
    return "".join(traceback.format_list(frames))


class JsonlResult(unittest.TextTestResult):
    """A verbose text result that also writes runbox-jsonl events (the class attribute
    `events` is set before the run)."""

    events = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outcome = None  # (status, message) of the running test

    def _describe(self, test, err):
        exctype, value, tb = err
        text = "".join(traceback.format_exception_only(exctype, value)).rstrip()
        if issubclass(exctype, test.failureException):
            return text
        # An error: show where it happened, without unittest's own frames.
        frames = [f for f in traceback.extract_tb(tb) if not _is_internal(f.filename)]
        if not frames:
            return text
        return "Traceback (most recent call last):\n%s%s" % (
            _format_frames(frames), text)

    def _set(self, status, message=""):
        # The first problem wins (a failure, then an error in tearDown).
        if self._outcome is None or self._outcome[0] == "pass":
            self._outcome = (status, message)

    def startTest(self, test):
        self._outcome = None
        self.events.emit(event="start", name=_name(test))
        super().startTest(test)
        if _budget:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, _budget, 0.1)

    def stopTest(self, test):
        if _budget:
            signal.setitimer(signal.ITIMER_REAL, 0)
        output = ""
        if self.buffer and self._stdout_buffer is not None:
            output = self._stdout_buffer.getvalue() + self._stderr_buffer.getvalue()
        super().stopTest(test)
        status, message = self._outcome or ("pass", "")
        self.events.emit(event="end", name=_name(test), status=status, message=message,
                         output=output, test_code=_test_code(test))
        self._outcome = None

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set("pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set("fail", self._describe(test, err))

    def addError(self, test, err):
        super().addError(test, err)
        if issubclass(err[0], RunboxTimeout):
            self._set("error", "timed out after %g s" % _budget)
            return
        if getattr(test, "_testMethodName", None) is None:
            # Not a test (a class or module fixture failed): report it as one errored test.
            self.events.emit(event="start", name=_name(test))
            self.events.emit(event="end", name=_name(test), status="error",
                             message=self._describe(test, err))
            return
        self._set("error", self._describe(test, err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set("skip", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set("pass", "expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set("fail", "unexpected success: the test is marked @expectedFailure")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            status = "fail" if issubclass(err[0], test.failureException) else "error"
            self._set(status, "%s\n%s" % (subtest._subDescription(), self._describe(test, err)))


def load(path, loader):
    """The tests of the test file @path, or raise what importing it raised."""
    name = os.path.splitext(os.path.basename(path))[0]
    module = importlib.import_module(name)
    return loader.loadTestsFromModule(module)


def _tests_of(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _tests_of(t)
        else:
            yield t


def main(argv):
    global _budget
    events = Events(_CHANNEL)
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    ok = True
    for path in argv:
        try:
            suite.addTest(load(path, loader))
        except Exception:  # the test file (or the student's module) does not import
            etype, value, tb = sys.exc_info()
            frames = [f for f in traceback.extract_tb(tb)
                      if not f.filename.startswith("<frozen") and f.filename != __file__
                      and os.sep + "importlib" + os.sep not in f.filename]
            message = "cannot import %s:\n%s%s" % (
                path, _format_frames(frames),
                "".join(traceback.format_exception_only(etype, value)).rstrip())
            events.emit(event="start", name=path)
            events.emit(event="end", name=path, status="error", message=message)
            print(message, file=sys.stderr)
            ok = False
    JsonlResult.events = events
    names = [_name(t) for t in _tests_of(suite)]
    events.emit(event="plan", count=len(names), names=names)
    try:
        budget_ms = int(os.environ.get("RUNBOX_TEST_BUDGET_MS") or 0)
        wall_ms = int(os.environ.get("RUNBOX_WALL_MS") or 0)
    except ValueError:
        budget_ms = wall_ms = 0
    if not budget_ms and wall_ms and names:
        budget_ms = max(1000, wall_ms // len(names))
    _budget = budget_ms / 1000.0
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, buffer=True,
                                     resultclass=JsonlResult)
    result = runner.run(suite)
    code = 0 if ok and result.wasSuccessful() else 1
    events.emit(event="done", code=code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
