import json
import os
import sys
import unittest

import probe

CLEAN = {"pycache_prefix": None, "PYTHONPYCACHEPREFIX": None, "stdlib_bytecode_used": True, "box_pycache": []}


class TestBytecode(unittest.TestCase):
    def test_the_students_box(self):
        self.assertEqual(probe.box_view(), CLEAN)

    def test_the_tests_box(self):
        here = {
            "pycache_prefix": sys.pycache_prefix,
            "PYTHONPYCACHEPREFIX": os.environ.get("PYTHONPYCACHEPREFIX"),
            "stdlib_bytecode_used": os.path.isfile(json.__spec__.cached or ""),
            "box_pycache": sorted(d for d, subdirs, _ in os.walk("/box") if "__pycache__" in subdirs),
        }
        self.assertEqual(here, CLEAN)
