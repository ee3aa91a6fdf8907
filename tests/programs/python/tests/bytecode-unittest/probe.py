"""The bytecode check (issue 19): what this box's Python sees.

Debian ships the standard library and pytest byte-compiled under /usr. A PYTHONPYCACHEPREFIX
(or -X pycache_prefix) in a box makes Python look for byte code under that prefix instead, so
every import is compiled from source again (2.5 times the CPU of a pytest run). The student's
own directory must still get no __pycache__ (PYTHONDONTWRITEBYTECODE; the compile stage's
py_compile writes to /tmp). The test calls box_view() in its own box and, through the student's
module, in the student's (another box in judge mode).
"""
import json
import os
import sys


def box_view():
    return {
        "pycache_prefix": sys.pycache_prefix,
        "PYTHONPYCACHEPREFIX": os.environ.get("PYTHONPYCACHEPREFIX"),
        "stdlib_bytecode_used": os.path.isfile(json.__spec__.cached or ""),
        "box_pycache": sorted(d for d, subdirs, _ in os.walk("/box") if "__pycache__" in subdirs),
    }
