"""runbox judge mode, the student box's side (docs/judge.md), for Python.

Loads the student's modules (named on the command line), says {"ready": true} on fd 4, then
answers requests read from fd 3, one JSON line each: it looks up, calls and operates on the
student's objects and answers with plain data or a reference ({"$ref": N}) to what is not plain
data. Nothing here decides a grade: the tests and their verdicts are in the judge's box.
"""

import importlib
import json
import operator
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runbox_wire  # noqa: E402 - runbox's own, beside this file

_IN = os.dup(3)
_OUT = os.dup(4)
os.close(3)
os.close(4)

sys.path.insert(0, "/box")
sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))

_objs = {}  # ref -> object
_refs = {}  # id(object) -> ref (the same object keeps its number)
# Numbers differ from one student box to the next (a fresh one after a timeout or a crash), so
# a reference kept from an earlier box is "gone", never another object.
_BASE = int.from_bytes(os.urandom(3), "big") << 24
_modules = {}  # name -> module, or the exception its import raised


class _Gone(LookupError):
    pass


def _ref(v):
    r = _refs.get(id(v))
    if r is None or _objs.get(r) is not v:
        r = _BASE + len(_objs) + 1
        _objs[r] = v
        _refs[id(v)] = r
    return {"$ref": r}


def _other(v, depth):
    if isinstance(v, type) and issubclass(v, BaseException):
        return {"$exc": {"module": v.__module__, "name": v.__name__}}
    # numpy's scalars are numbers.
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0 and hasattr(v, "item"):
        return _enc(v.item(), depth)
    return _ref(v)


def _enc(v, depth=0):
    return runbox_wire.encode(v, _other, depth)


def _tagged(k, x):
    if k == "$ref":
        if x not in _objs:
            raise _Gone("the object #%s is gone (the program was restarted)" % x)
        return _objs[x]
    raise ValueError("unknown tag %s" % k)


def _dec(v):
    return runbox_wire.decode(v, _tagged)


def _module(name):
    m = _modules.get(name)
    if m is None:
        try:
            m = importlib.import_module(name)
        except BaseException as e:  # noqa: B036 - the student's import may raise anything
            m = e
        _modules[name] = m
    if isinstance(m, BaseException):
        raise ImportError("importing %s failed: %s: %s" % (name, type(m).__name__, m))
    return m


_OPS = {
    "__eq__": operator.eq, "__ne__": operator.ne, "__lt__": operator.lt,
    "__le__": operator.le, "__gt__": operator.gt, "__ge__": operator.ge,
    "__hash__": hash, "__repr__": repr, "__str__": str, "__bool__": bool, "__len__": len,
    "__iter__": iter, "__next__": next, "__contains__": lambda a, b: b in a,
    "__getitem__": operator.getitem, "__setitem__": operator.setitem,
    "__delitem__": operator.delitem, "__add__": operator.add, "__sub__": operator.sub,
    "__mul__": operator.mul, "__matmul__": operator.matmul, "__truediv__": operator.truediv,
    "__floordiv__": operator.floordiv, "__mod__": operator.mod, "__divmod__": divmod,
    "__pow__": operator.pow, "__lshift__": operator.lshift, "__rshift__": operator.rshift,
    "__and__": operator.and_, "__xor__": operator.xor, "__or__": operator.or_,
    "__radd__": lambda a, b: b + a, "__rsub__": lambda a, b: b - a,
    "__rmul__": lambda a, b: b * a, "__rtruediv__": lambda a, b: b / a,
    "__rfloordiv__": lambda a, b: b // a, "__rmod__": lambda a, b: b % a,
    "__rpow__": lambda a, b: b ** a, "__iadd__": operator.iadd, "__isub__": operator.isub,
    "__imul__": operator.imul, "__neg__": operator.neg, "__pos__": operator.pos,
    "__abs__": abs, "__invert__": operator.invert, "__int__": int, "__float__": float,
    "__index__": operator.index, "__round__": round,
}


def _handle(req):
    op = req.get("op")
    if op in ("get", "set", "dir"):
        m = _module(req["mod"])
        if op == "get":
            return getattr(m, req["name"])
        if op == "set":
            return setattr(m, req["name"], _dec(req["value"]))
        return [n for n in dir(m) if not n.startswith("_")]
    obj = _dec({"$ref": req.get("ref")})
    if op == "getattr":
        return getattr(obj, req["name"])
    if op == "setattr":
        return setattr(obj, req["name"], _dec(req["value"]))
    if op == "delattr":
        return delattr(obj, req["name"])
    if op == "call":
        args = [_dec(a) for a in req.get("args", [])]
        kwargs = {k: _dec(v) for k, v in req.get("kwargs", {}).items()}
        return obj(*args, **kwargs)
    if op == "dunder":
        name = req["name"]
        args = [_dec(a) for a in req.get("args", [])]
        if name == "__exit__":
            return obj.__exit__(None, None, None)
        if name == "__enter__":
            return obj.__enter__()
        fn = _OPS.get(name)
        if fn is None:
            raise TypeError("judge mode does not forward %s" % name)
        return fn(obj, *args)
    raise ValueError("unknown request %r" % op)


def _student_trace(e):
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if not f.filename.endswith("runbox_serve.py")]
    if not frames:
        return ""
    return "".join(traceback.format_list(frames)).rstrip()


def _send(obj):
    runbox_wire.write_line(_OUT, json.dumps(obj, allow_nan=False))


def _answer(req):
    try:
        value = _handle(req)
        return {"ok": _enc(value)}
    except BaseException as e:  # noqa: B036 - whatever the student's code raises is an answer
        if isinstance(e, (SystemExit, KeyboardInterrupt)):
            raise
        if isinstance(e, _Gone):
            return {"gone": str(e)}
        return {"err": {"type": type(e).__name__, "module": type(e).__module__,
                        "message": str(e), "trace": _student_trace(e)}}


def main():
    for path in sys.argv[1:]:
        name = os.path.splitext(os.path.basename(path))[0]
        if name.isidentifier():
            try:
                _module(name)
            except ImportError:
                pass  # each request for it says why
    _send({"ready": True})
    reader = runbox_wire.LineReader(_IN)
    while True:
        line = reader.read()
        if line is None:
            return
        try:
            req = json.loads(line)
        except ValueError:
            _send({"err": {"type": "ValueError", "message": "not a request"}})
            continue
        answer = _answer(req)
        try:
            _send(answer)
        except (TypeError, ValueError) as e:
            _send({"err": {"type": type(e).__name__, "message": str(e)}})
        sys.stdout.flush()
        sys.stderr.flush()


main()
