"""runbox judge mode, the judge box's side (docs/judge.md), for pytest.

The student's code is not in this box. Each of the student's modules is replaced here by a
one-line file that calls install(): the module becomes a proxy whose attributes, calls,
operators and iterations travel as JSON lines to the student's box (fd 4 out, fd 3 in, through
runbox) and whose answers come back as plain data or as references to the student's objects.

What the student's code answers is only ever data: a value that is not plain data (an object of
the student's own class, a function) stays a reference, and comparing a reference with expected
data is False without asking the student's code (an object whose __eq__ always says True
proves nothing here). Exceptions come back as the built-in exception of the same name, or as a
local class of that name (the same class each time, so pytest.raises(solution.MyError) works).

Loaded as a pytest plugin (-p runbox_judge): it tells runbox how many tests there are and which
one is running, so each test gets its own time budget.
"""

import builtins
import json
import os
import sys

import runbox_wire

_IN, _OUT = 3, 4
_current = None  # the test runbox was last told about


def _fail(msg):
    try:
        import pytest

        pytest.fail(msg, pytrace=False)
    except ImportError:
        raise AssertionError(msg) from None


_reader = runbox_wire.LineReader(_IN)


def _send_line(line):
    runbox_wire.write_line(_OUT, line)


def _recv_line():
    line = _reader.read()
    if line is None:
        _fail("the connection to the student's code ended (or sent a line over 16 MiB)")
    return line


def announce(name):
    """Tell runbox that test @name runs now (its time budget starts)."""
    global _current
    if name != _current:
        _current = name
        _send_line("!test " + name.replace("\n", " "))


# Values to and from JSON (docs/judge.md).


def _refuse(v, depth):
    if isinstance(v, Remote):
        return {"$ref": v._rb_id()}
    raise TypeError(
        "judge mode: a %s cannot be passed to the student's code (only data: None, bool, "
        "int, float, str, bytes, list, tuple, dict, set, and the student's own objects)"
        % type(v).__name__
    )


def _enc(v):
    return runbox_wire.encode(v, _refuse)


_exc_classes = {}


def _exc_class(module, name):
    if module == "builtins" and isinstance(getattr(builtins, name, None), type):
        cls = getattr(builtins, name)
        if issubclass(cls, BaseException):
            return cls
    key = (module, name)
    if key not in _exc_classes:
        _exc_classes[key] = type(name, (Exception,), {"__module__": module})
    return _exc_classes[key]


def _tagged(k, x):
    if k == "$ref":
        return Remote(x)
    if k == "$exc":
        return _exc_class(x.get("module", ""), x.get("name", "Exception"))
    raise ValueError("unknown tag %s" % k)


def _dec(v):
    return runbox_wire.decode(v, _tagged)


class _Gone(Exception):
    """A reference from an earlier student box (runbox started a fresh one)."""


def request(msg):
    """Send @msg, return the answer's value or raise what the student's code raised."""
    __tracebackhide__ = True
    _send_line(json.dumps(msg, allow_nan=False))
    answer = json.loads(_recv_line())
    if "ok" in answer:
        return _dec(answer["ok"])
    if "err" in answer:
        e = answer["err"]
        cls = _exc_class(e.get("module", ""), e.get("type", "Exception"))
        exc = cls(e.get("message", ""))
        trace = e.get("trace")
        if trace:
            exc.__notes__ = ["In the student's code:\n" + trace]
        raise exc
    if "gone" in answer:
        raise _Gone(answer["gone"])
    if "timeout" in answer:
        _fail("timed out: the student's code did not answer within %g s" % answer["timeout"])
    if "crash" in answer:
        _fail("the student's program ended: %s" % answer["crash"])
    _fail("the student's side answered something that is not an answer")


class Remote:
    """One of the student's objects, by reference. One found by name in the student's module
    (a function, a class) is looked up again when the student's box was replaced."""

    __slots__ = ("_rb_ref", "_rb_origin")

    def __init__(self, ref, origin=None):
        object.__setattr__(self, "_rb_ref", ref)
        object.__setattr__(self, "_rb_origin", origin)

    def _rb_id(self):
        return object.__getattribute__(self, "_rb_ref")

    def _rb(self, op, **kw):
        __tracebackhide__ = True
        kw["op"] = op
        for attempt in (0, 1):
            kw["ref"] = object.__getattribute__(self, "_rb_ref")
            try:
                return request(kw)
            except _Gone as e:
                origin = object.__getattribute__(self, "_rb_origin")
                if attempt or origin is None:
                    _fail("the student's object is gone: %s" % e)
                fresh = request({"op": "get", "mod": origin[0], "name": origin[1]})
                if not isinstance(fresh, Remote):
                    _fail("%s.%s is no longer an object" % origin)
                object.__setattr__(self, "_rb_ref", fresh._rb_id())

    def __getattr__(self, name):
        return self._rb("getattr", name=name)

    def __setattr__(self, name, value):
        self._rb("setattr", name=name, value=_enc(value))

    def __delattr__(self, name):
        self._rb("delattr", name=name)

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True
        return self._rb("call", args=[_enc(a) for a in args],
                        kwargs={k: _enc(v) for k, v in kwargs.items()})

    def _dunder(self, name, *args):
        __tracebackhide__ = True
        return self._rb("dunder", name=name, args=[_enc(a) for a in args])

    # Comparisons ask the student's code only between two of its objects: data is never
    # equal to a reference (see the module's docstring).
    def _cmp(self, name, other):
        if not isinstance(other, Remote):
            return NotImplemented
        return self._dunder(name, other)

    def __eq__(self, other):
        if isinstance(other, Remote) and other._rb_id() == self._rb_id():
            return True
        return self._cmp("__eq__", other)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __lt__(self, other):
        return self._cmp("__lt__", other)

    def __le__(self, other):
        return self._cmp("__le__", other)

    def __gt__(self, other):
        return self._cmp("__gt__", other)

    def __ge__(self, other):
        return self._cmp("__ge__", other)

    def __hash__(self):
        return self._dunder("__hash__")

    def __repr__(self):
        try:
            return self._dunder("__repr__")
        except BaseException:
            return "<the student's object #%d>" % self._rb_id()

    def __str__(self):
        return self._dunder("__str__")

    def __bool__(self):
        return bool(self._dunder("__bool__"))

    def __len__(self):
        return self._dunder("__len__")

    def __iter__(self):
        return self._dunder("__iter__")

    def __next__(self):
        return self._dunder("__next__")

    def __contains__(self, x):
        return self._dunder("__contains__", x)

    def __getitem__(self, k):
        return self._dunder("__getitem__", k)

    def __setitem__(self, k, v):
        self._dunder("__setitem__", k, v)

    def __delitem__(self, k):
        self._dunder("__delitem__", k)

    def __enter__(self):
        return self._dunder("__enter__")

    def __exit__(self, *a):
        return self._dunder("__exit__", None, None, None)


def _binop(name):
    def op(self, *args):
        return self._dunder(name, *args)

    op.__name__ = name
    return op


for _n in ("add sub mul matmul truediv floordiv mod divmod pow lshift rshift and xor or "
           "radd rsub rmul rtruediv rfloordiv rmod rpow iadd isub imul neg pos abs invert "
           "int float index round").split():
    setattr(Remote, "__%s__" % _n, _binop("__%s__" % _n))


class RemoteModule(type(sys)):
    """The student's module @name, by proxy."""

    def __getattr__(self, attr):
        __tracebackhide__ = True
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        v = request({"op": "get", "mod": self.__name__, "name": attr})
        if isinstance(v, Remote):
            object.__setattr__(v, "_rb_origin", (self.__name__, attr))
        return v

    def __setattr__(self, attr, value):
        if attr.startswith("__") and attr.endswith("__"):
            return super().__setattr__(attr, value)
        request({"op": "set", "mod": self.__name__, "name": attr, "value": _enc(value)})

    def __dir__(self):
        return request({"op": "dir", "mod": self.__name__})


def install(name):
    """Make the module being imported as @name the proxy of the student's module @name."""
    old = sys.modules[name]
    proxy = RemoteModule(name)
    for k in ("__file__", "__spec__", "__loader__", "__package__"):
        try:
            type(sys).__setattr__(proxy, k, getattr(old, k))
        except AttributeError:
            pass
    sys.modules[name] = proxy


# The pytest plugin.


def pytest_collection_finish(session):
    _send_line("!plan %d" % len(session.items))


def pytest_runtest_setup(item):
    announce(item.name)
