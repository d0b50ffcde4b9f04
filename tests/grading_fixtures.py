"""A tiny nbgrader assignment and a class of broken or hostile submissions, made by code.

``make_course`` writes a course (this repo's nbgrader_config.py and a two-part
assignment ``tiny``) into a temporary folder. Each function in :data:`SUBMISSIONS`
writes one student's folder, and its docstring says which failure mode it documents.
Scores are never written down here: tests compute them by grading honest notebooks.
"""

import os
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "tiny"


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
    meta = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked,
            "schema_version": 3}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook():
    """Two parts of 2 points: ``square`` (visible + hidden test), ``mean`` (one test)."""
    cells = [
        new_markdown_cell("# Tiny assignment"),
        new_code_cell("import numpy as np", metadata=_meta("imports", locked=True)),
        new_markdown_cell("## Part 1: square (2 points)"),
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
                      "    ### END SOLUTION", metadata=_meta("square", solution=True)),
        new_code_cell('"""square works on arrays and scalars"""\n'
                      "np.testing.assert_allclose(square(np.arange(3.0)), [0.0, 1.0, 4.0], "
                      "strict=True)\n"
                      "assert abs(square(3) - 9) < 1e-12",
                      metadata=_meta("test_square", grade=True, locked=True, points=1)),
        new_code_cell('"""square of negative numbers"""\n### BEGIN HIDDEN TESTS\n'
                      "got = square(np.array([-2.0, 5.0]))\n"
                      "assert np.shape(got) == (2,) and np.allclose(got, [4, 25]), "
                      '"square(-2) should be 4"\n### END HIDDEN TESTS',
                      metadata=_meta("test_square_hidden", grade=True, locked=True, points=1)),
        new_markdown_cell("## Part 2: mean (2 points)"),
        new_code_cell("def mean(x):\n    ### BEGIN SOLUTION\n    return sum(x) / len(x)\n"
                      "    ### END SOLUTION", metadata=_meta("mean", solution=True)),
        new_code_cell('"""mean of a list and of an array"""\n'
                      "x = np.random.default_rng(0).standard_normal(5)\n"
                      "np.testing.assert_allclose(mean(x), x.sum() / 5, strict=True)\n"
                      "np.testing.assert_allclose(mean(np.array([1.0, 2.0, 6.0])), 3.0, "
                      "strict=True)\n"
                      "assert abs(mean([4.0]) - 4.0) < 1e-12",
                      metadata=_meta("test_mean", grade=True, locked=True, points=2)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def make_course(folder):
    """A course in ``folder`` with ``tiny`` in solutions/ (not yet released)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "solutions" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(), folder / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return folder


GOOD = {"square": "def square(x):\n    return x * x",
        "mean": "def mean(x):\n    return sum(x) / len(x)"}
# part 1 wrong (x * 2 is right for x = 2 only), part 2 right
WRONG = {"square": "def square(x):\n    return x * 2", "mean": GOOD["mean"]}


def answer(release, answers, extra=None):
    """The released notebook with solution cells replaced by ``answers`` (grade_id -> code).

    ``extra`` (grade_id -> code) is inserted as a new cell right after that solution cell.
    """
    nb = nbformat.from_dict(release)
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        cells.append(cell)
        if extra and grade_id in extra:
            cells.append(new_code_cell(extra[grade_id]))
    nb.cells = cells
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _write(folder, nb, name=ASSIGNMENT):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


# Each writer: (folder, release notebook) -> None. The folder is submitted/<student>.


def good(folder, release):
    """An honest, correct submission: full marks."""
    _write(folder, answer(release, GOOD))


def wrong(folder, release):
    """An honest submission, part 1 wrong: the reference score for every cheat below."""
    _write(folder, answer(release, WRONG))


def infinite_loop(folder, release):
    """Part 1 loops forever: the cell times out, part 2 is still graded."""
    _write(folder, answer(release, {**GOOD, "square": "while True:\n    pass"}))


def slow_cell(folder, release):
    """Part 1 sleeps for an hour: the cell times out, part 2 is still graded."""
    _write(folder, answer(release, {**GOOD, "square": "import time\ntime.sleep(3600)"}))


SLOW_PART_SECONDS = 25


def slow_parts(folder, release):
    """Correct, but each part sleeps 25 s: every cell within a 60 s --timeout, the two
    together longer than a short --student-timeout."""
    pause = f"\nimport time\ntime.sleep({SLOW_PART_SECONDS})"
    _write(folder, answer(release, {name: code + pause for name, code in GOOD.items()}))


def ignores_interrupt(folder, release):
    """Part 2 ignores SIGINT and loops: the kernel is stopped, part 1 keeps its points."""
    source = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
              "while True:\n    time.sleep(0.1)")
    _write(folder, answer(release, {**GOOD, "mean": source}))


def os_exit(folder, release):
    """Part 2 calls os._exit: part 1 keeps its points, part 2 and later cells fail."""
    _write(folder, answer(release, {**GOOD, "mean": "import os\nos._exit(1)"}))


def segfault(folder, release):
    """Part 2 dereferences a null pointer through ctypes: the kernel dies."""
    _write(folder, answer(release, {**GOOD, "mean": "import ctypes\nctypes.string_at(0)"}))


def memory_bomb(folder, release):
    """Part 2 allocates 64 GB: MemoryError in that cell, the rest graded."""
    _write(folder, answer(release, GOOD, extra={"mean": "hog = bytearray(64 * 2**30)"}))


def deleted_test(folder, release):
    """Wrong answers and the visible test of part 1 deleted: restored, not a free pass."""
    nb = answer(release, WRONG)
    nb.cells.remove(_cell(nb, "test_square"))
    _write(folder, nb)


def edited_test(folder, release):
    """Wrong answers and the test of part 1 replaced by ``assert True``: restored."""
    nb = answer(release, WRONG)
    _cell(nb, "test_square").source = "assert True"
    _write(folder, nb)


def test_to_markdown(folder, release):
    """Wrong answers and the test of part 1 turned into a markdown cell: restored."""
    nb = answer(release, WRONG)
    cell = _cell(nb, "test_square")
    nb.cells[nb.cells.index(cell)] = new_markdown_cell(cell.source, metadata=cell.metadata)
    _write(folder, nb)


def duplicated_ids(folder, release):
    """The solution cell of part 1 copied (same grade id) with a first draft above it."""
    nb = answer(release, GOOD)
    cell = _cell(nb, "square")
    draft = nbformat.from_dict(cell)
    draft.source = "def square(x):\n    raise NotImplementedError('draft')"
    nb.cells.insert(nb.cells.index(cell), draft)
    _write(folder, nb)


def invalid_json(folder, release):
    """A notebook cut off in the middle of its JSON: not graded, zero."""
    folder.mkdir(parents=True)
    text = nbformat.writes(answer(release, GOOD))
    (folder / f"{ASSIGNMENT}.ipynb").write_text(text[: len(text) // 2])


def empty_file(folder, release):
    """An empty notebook file: not graded, zero."""
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(b"")


def wrong_name(folder, release):
    """A correct notebook saved as ``tiny (1).ipynb``: graded as tiny.ipynb."""
    _write(folder, answer(release, GOOD), name=f"{ASSIGNMENT} (1)")


def extra_notebook(folder, release):
    """A correct notebook plus a scratch notebook: the scratch one is ignored."""
    _write(folder, answer(release, GOOD))
    _write(folder, new_notebook(cells=[new_code_cell("print('scratch')")]), name="scratch")


def missing_notebook(folder, release):
    """Only a text file, no notebook: zero, status missing."""
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("I could not finish, sorry.\n")


def huge_output(folder, release):
    """A correct notebook whose part 1 prints two million lines (in one call)."""
    _write(folder, answer(release, GOOD, extra={
        "square": "print('\\n'.join(map(str, range(2_000_000))))"}))


def huge_file(folder, release):
    """A correct notebook next to a 1 GB (sparse) data file: the file is not copied."""
    _write(folder, answer(release, GOOD))
    with open(folder / "weights.npy", "wb") as f:
        f.truncate(2**30)


def patched_numpy(folder, release):
    """Wrong answers, then ``np.allclose``/``np.testing.assert_allclose`` made to pass."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None")}))


def patched_builtins(folder, release):
    """Wrong answers, then ``abs`` patched in builtins and ``np`` shadowed by a fake."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "import builtins\nbuiltins.abs = lambda x: 0\n"
        "class FakeNumpy:\n    allclose = staticmethod(lambda *a, **k: True)\n"
        "    class testing:\n        assert_allclose = staticmethod(lambda *a, **k: None)\n"
        "np = FakeNumpy()")}))


def blanked_cells(folder, release):
    """Wrong answers and the NOTES.md trick: an input transformer that blanks later cells."""
    _write(folder, answer(release, {
        **WRONG, "square": "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
        + WRONG["square"]}))


def hidden_traceback(folder, release):
    """Wrong answers, with IPython's traceback display switched off."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "ip = get_ipython()\nip._showtraceback = lambda *a, **k: None\n"
        "ip.showtraceback = lambda *a, **k: None")}))


def cached_answers(folder, release):
    """Answers hard-coded for the visible tests' inputs: the hidden test still fails."""
    _write(folder, answer(release, {**GOOD, "square": (
        "def square(x):\n    if isinstance(x, int):\n        return 9\n"
        "    return np.array([0.0, 1.0, 4.0])")}))


# Attacks on the split between the student's kernel and the trusted test process: the
# tests never run in the kernel, so none of these can earn a point its answers do not.


def trace_hook(folder, release):
    """Wrong answers, and a trace function that re-patches numpy on every call it sees."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "import sys, numpy\n"
        "def hook(frame, event, arg):\n"
        "    numpy.allclose = lambda *a, **k: True\n"
        "    numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "    return hook\n"
        "sys.settrace(hook)")}))


def code_swap(folder, release):
    """Wrong answers; numpy's checking functions get a new ``__code__`` that always passes."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "import numpy.testing\n"
        "numpy.testing.assert_allclose.__code__ = (lambda *a, **k: None).__code__\n"
        "import builtins\n"
        "builtins.abs = lambda x: 0")}))


def forged_replies(folder, release):
    """Wrong answers; the kernel's answers to every user expression are forged as success."""
    _write(folder, answer(release, WRONG, extra={"mean": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "def forged(self, expressions):\n"
        "    ok = {'status': 'ok', 'data': {'text/plain': repr('{\"passed\": true}')},\n"
        "          'metadata': {}}\n"
        "    return {name: ok for name in expressions}\n"
        "InteractiveShell.user_expressions = forged")}))


def lying_object(folder, release):
    """``square`` returns an object that equals everything and converts to the right array."""
    _write(folder, answer(release, {**GOOD, "square": (
        "class Liar:\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        return np.array([0.0, 1.0, 4.0])\n"
        "    def __sub__(self, other):\n        return 0\n"
        "    __rsub__ = __sub__\n"
        "def square(x):\n    return Liar()")}))


def hunts_hidden_tests(folder, release):
    """Correct answers that search their process and the file system for a hidden test.

    ``square`` (which the hidden test calls) searches every live container, its callers'
    frames and IPython's history for the hidden test's message; a last cell also walks
    the file system. Anything found is printed after ``LEAKED``.
    """
    hunt = (
        "def _hunt(walk=False):\n"
        "    import gc, os, sys\n"
        "    needle = 'square(-2) ' + 'should be 4'\n"
        "    found = []\n"
        "    for obj in gc.get_objects():\n"
        "        items = obj.values() if isinstance(obj, dict) else obj\n"
        "        if isinstance(obj, (dict, list, tuple)):\n"
        "            found += [s[:60] for s in items if isinstance(s, str) and needle in s\n"
        "                      and s != needle]\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        found += [k for k, v in frame.f_locals.items()\n"
        "                  if isinstance(v, str) and needle in v and v != needle]\n"
        "        frame = frame.f_back\n"
        "    for root, dirs, files in os.walk('/') if walk else ():\n"
        "        dirs[:] = [d for d in dirs if d not in ('proc', 'sys', 'dev', 'usr',\n"
        "                                                'site-packages')]\n"
        "        for name in files:\n"
        "            try:\n"
        "                with open(os.path.join(root, name), 'rb') as f:\n"
        "                    if needle.encode() in f.read(2**20):\n"
        "                        found.append(os.path.join(root, name))\n"
        "            except OSError:\n"
        "                pass\n"
        "    if found:\n"
        "        print('LEAKED', found[:5])\n"
        "    return found\n")
    nb = answer(release, {**GOOD, "square": hunt + "def square(x):\n    _hunt()\n"
                          "    return x * x"})
    nb.cells.append(new_code_cell("_hunt(walk=True)"))
    _write(folder, nb)


def noisy_correct(folder, release):
    """Correct answers that warn, print to stderr and show numbers while the tests run."""
    _write(folder, answer(release, {"square": (
        "import sys, warnings\n"
        "def square(x):\n"
        "    warnings.warn('squaring is fun')\n"
        "    print('0.0', file=sys.stderr)\n"
        "    display(0.0)\n"
        "    return x * x"), "mean": GOOD["mean"]}))


def forged_status(folder, release):
    """Correct answers; a cell raises exceptions named like the grader's own errors."""
    _write(folder, answer(release, GOOD, extra={"square": (
        "class DeadKernelError(Exception):\n    pass\n"
        "raise DeadKernelError('the kernel died while running this cell')")}))


def big_return(folder, release):
    """Part 1 returns 40 MB arrays: too large to cross, the test fails at once."""
    _write(folder, answer(release, {**GOOD, "square": (
        "def square(x):\n    return np.zeros(5_000_000) + 1")}))


def emits_a_gigabyte(folder, release):
    """Correct answers, then a cell that tries to emit 1 GB: printed, displayed and at once."""
    _write(folder, answer(release, GOOD, extra={"square": (
        "chunk = 'x' * 2**20\n"
        "for _ in range(512):\n    print(chunk)\n"
        "for _ in range(512):\n    display({'text/plain': chunk}, raw=True)\n"
        "del chunk\n"
        "display({'text/plain': 'y' * 2**30}, raw=True)")}))


# Found by a security review of the split grader: each must earn nothing.


def builtin_hijack(folder, release):
    """Wrong answers; the kernel's agent.describe (patched through an alias, which preflight
    flags as an import of the course's own code) adds a name the test never asked for,
    ``abs``, as a student function, hoping the test process binds it where it would shadow
    the builtin."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "import json\n"
        "import course_lib.grading.agent as _g\n"
        "_orig = _g.describe\n"
        "def _describe(names):\n"
        "    found = json.loads(_orig(names))\n"
        "    found['names']['abs'] = {'kind': 'function'}\n"
        "    return json.dumps(found)\n"
        "_g.describe = _describe\n"
        "def abs(x):\n    return 0")}))


def giant_answer(folder, release):
    """Wrong answers; the kernel answers the grader's first user expressions with 8 MB of
    text that is a Python tuple literal ('',0,0,...): parsed, it would take gigabytes of
    the grading process's memory."""
    _write(folder, answer(release, WRONG, extra={"square": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "_real = InteractiveShell.user_expressions\n"
        "_left = [2]\n"
        "_text = \"'',\" + '0,' * (4 * 2**20 - 200)\n"
        "def _ue(self, expressions):\n"
        "    if _left[0] <= 0:\n"
        "        return _real(self, expressions)\n"
        "    _left[0] -= 1\n"
        "    ok = {'status': 'ok', 'data': {'text/plain': _text}, 'metadata': {}}\n"
        "    return {name: ok for name in expressions}\n"
        "InteractiveShell.user_expressions = _ue")}))


def socket_flood(folder, release):
    """Wrong answers; when a test calls ``square``, it writes 256 MB with no end of line
    into the grader's socket (the agent's connection, found in the agent module), hoping
    the grading process reads it all into memory."""
    _write(folder, answer(release, {**WRONG, "square": (
        "import course_lib.grading.agent as _g\n"
        "def square(x):\n"
        "    link = _g._link\n"
        "    chunk = b'A' + b'0' * 2**20\n"
        "    for _ in range(256):\n"
        "        link.sock.sendall(chunk)\n"
        "    return x * 2")}))


def socket_stall(folder, release):
    """Wrong answers; when a test calls ``square``, it sends the grader call frames
    without end and never reads the answers, hoping the grader blocks writing them
    (the grader must give up by the test's deadline)."""
    _write(folder, answer(release, {**WRONG, "square": (
        "import course_lib.grading.agent as _g\n"
        "def square(x):\n"
        "    frame = '{\"id\":0,\"args\":{\"$\":\"tuple\",\"v\":[]},"
        "\"kwargs\":{\"$\":\"dict\",\"v\":[]}}'\n"
        "    for _ in range(200000):\n"
        "        _g._link.send('C', frame)\n"
        "    return x * 2")}))


def shadowed_startup(folder, release):
    """Wrong answers, and a ``course_lib/`` package next to the notebook whose import
    stops the process: were the submission's folder on the path while the kernel starts,
    it would run first (before the grader locks the kernel's runtime folder)."""
    _write(folder, answer(release, WRONG))
    (folder / "course_lib").mkdir()
    (folder / "course_lib" / "__init__.py").write_text(
        "raise SystemExit('a submitted course_lib ran when the kernel started')\n")


def own_module(folder, release):
    """Correct, with ``square`` in a module of the student's own next to the notebook:
    a cell may import it (the kernel starts with the folder off the path, not after)."""
    _write(folder, answer(release, {**GOOD, "square": "from my_square import square"}))
    (folder / "my_square.py").write_text("def square(x):\n    return x * x\n")


def agent_hijack(folder, release):
    """Correct answers; the agent's ``serve`` (patched through an alias) returns at once
    without connecting, as if the test were done: no test may pass, and the grading
    neither hangs nor fails."""
    _write(folder, answer(release, GOOD, extra={"square": (
        "import course_lib.grading.agent as _g\n"
        "_g.serve = lambda path, names: 'reset'")}))


def runtime_dir_write(folder, release):
    """Correct answers; a cell writes 4 files of 48 MB into the folder of its connection
    file (the runtime folder, the one host folder the kernel could write while it
    started): the grader has made it read-only by then."""
    _write(folder, answer(release, GOOD, extra={"square": (
        "import os, sys\n"
        "d = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
        "for i in range(4):\n"
        "    with open(os.path.join(d, f'fill{i}'), 'wb') as f:\n"
        "        f.write(b'x' * 48 * 2**20)\n"
        "    print('wrote', i + 1, 'files of 48 MB')")}))


def leak_hidden_inputs(folder, release):
    """Correct answers, except that ``square`` raises with its argument in the message when
    the input is not a visible test's: if the message reached the feedback, it would hold
    the hidden test's input."""
    _write(folder, answer(release, {**GOOD, "square": (
        "import numpy as np\n"
        "def square(x):\n"
        "    if isinstance(x, np.ndarray) and x.tolist() not in ([0.0, 1.0, 2.0],):\n"
        "        raise ValueError('LEAK ' + repr(x.tolist()))\n"
        "    return x * x")}))


# a correct ``square`` that keeps, in ``KEPT``, every argument no visible test passes
SQUARE_KEEPING_HIDDEN_INPUTS = (
    "import numpy as np\nKEPT = []\n"
    "def square(x):\n"
    "    if isinstance(x, np.ndarray) and x.tolist() != [0.0, 1.0, 2.0]:\n"
    "        KEPT.append(x.tolist())\n"
    "    return x * x")


def leak_across_tests(folder, release):
    """``square`` is correct and keeps every argument a visible test does not use; ``mean``
    raises with what was kept, from the visible test that runs after the hidden one."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("def mean(x):\n"
                 "    raise ValueError('LEAK ' + repr(KEPT))")}))


def leak_via_class_name(folder, release):
    """Correct answers, except that for a hidden test's input ``square`` returns an object
    of a class named after that input: if the message saying what came back reached the
    feedback, it would hold the hidden input."""
    _write(folder, answer(release, {**GOOD, "square": (
        "import numpy as np\n"
        "def square(x):\n"
        "    if isinstance(x, np.ndarray) and x.tolist() not in ([0.0, 1.0, 2.0],):\n"
        "        return type('LEAK ' + repr(x.tolist()), (), {})()\n"
        "    return x * x")}))


def leak_via_exception_name(folder, release):
    """Correct answers, except that for a hidden test's input ``square`` raises an exception
    of a class named after that input (``LEAK_m2p0_5p0``): the type's name would carry it."""
    _write(folder, answer(release, {**GOOD, "square": (
        "import numpy as np\n"
        "def square(x):\n"
        "    if isinstance(x, np.ndarray) and x.tolist() not in ([0.0, 1.0, 2.0],):\n"
        "        name = 'LEAK_' + '_'.join(str(v).replace('-', 'm').replace('.', 'p')\n"
        "                                  for v in x.tolist())\n"
        "        raise type(name, (Exception,), {})()\n"
        "    return x * x")}))


def leak_via_check_message(folder, release):
    """``square`` is correct and keeps a hidden test's input; ``mean``, in the visible test
    after it, returns that input times 111.111 (5.0 -> 555.555), which the test's own
    failure message ("ACTUAL: ...") would print."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("def mean(x):\n"
                 "    return KEPT[0][1] * 111.111")}))


def leak_via_quotes(folder, release):
    """``square`` keeps a hidden test's input; ``mean`` returns it spelt in letters between
    quotes of both kinds (``'a\\'b" LEAK mv2p0 v5p0 END'``): a filter of the message's
    numbers and quoted text would let it through numpy's "ACTUAL:" line."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("def mean(x):\n"
                 "    spelt = ' '.join('m' * (v < 0) + 'v' + str(abs(v)).replace('.', 'p')\n"
                 "                     for v in KEPT[0])\n"
                 "    return 'a\\'b\" LEAK ' + spelt + ' END'")}))


def leak_via_length(folder, release):
    """``square`` keeps a hidden test's input ``[a, b]``; ``mean`` returns a string of
    ``1000 + 100 (a + 10) + (b + 10)`` letters, whose length numpy writes as a dtype
    (``<U1815`` for ``[-2.0, 5.0]``)."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("def mean(x):\n"
                 "    a, b = KEPT[0]\n"
                 "    return 'z' * int(1000 + 100 * (a + 10) + (b + 10))")}))


def leak_via_execution_count(folder, release):
    """``square`` keeps a hidden test's input; the answer cell after the hidden test sets
    the kernel's prompt counter to a number spelling it (5.0 -> 555005), which the cell
    after it would carry as ``In [555005]`` into the graded notebook and nbgrader's
    feedback."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("if KEPT:\n"
                 "    get_ipython().execution_count = 555000 + int(KEPT[0][1])\n"
                 "def mean(x):\n"
                 "    return sum(x) / len(x)")}, extra={"mean": "1 + 1"}))


def leak_via_display_update(folder, release):
    """``square`` keeps a hidden test's input; a cell before the hidden test shows a
    display, and the answer cell after it rewrites that display with the kept input
    (``update_display``): the earlier cell's outputs are kept in the feedback."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("from IPython.display import update_display\n"
                 "update_display('LEAK ' + repr(KEPT), display_id='leak')\n"
                 "def mean(x):\n"
                 "    return sum(x) / len(x)")},
        extra={"square": "from IPython.display import display\n"
                         "display('nothing yet', display_id='leak')"}))


def leak_via_invalid_output(folder, release):
    """``square`` keeps a hidden test's input; the answer cell after the hidden test
    publishes, 50 times, an output the notebook format rejects, carrying it: the format's
    error, which quotes the output, used to stop the grading and reach the student's
    page."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("from IPython.display import publish_display_data\n"
                 "for _ in range(50):\n"
                 "    publish_display_data({'text/plain': {'replaced': 'LEAK ' + repr(KEPT)}})\n"
                 "def mean(x):\n"
                 "    return sum(x) / len(x)")}))


def display_update_flood(folder, release):
    """Correct answers; one cell shows 600 tiny displays under one id, then rewrites them
    all with 9,000 characters each: 5.4 MB, over the 1 MB a cell keeps (a review found
    3,000 rewrites of 99,000 from a later cell making a 232 MB notebook)."""
    _write(folder, answer(release, GOOD, extra={"mean": (
        "from IPython.display import display, update_display\n"
        "for _ in range(600):\n"
        "    display({'text/html': '.'}, raw=True, display_id='d')\n"
        "update_display({'text/html': 'A' * 9_000}, raw=True, display_id='d')")}))


def leak_via_dead_cell(folder, release):
    """``square`` is correct and keeps a hidden test's input; the answer cell after the
    hidden test stops the kernel when it has one: which cell died would carry the input
    (one cell per value)."""
    _write(folder, answer(release, {
        "square": SQUARE_KEEPING_HIDDEN_INPUTS,
        "mean": ("import os\n"
                 "if KEPT:\n"
                 "    os._exit(1)\n"
                 "def mean(x):\n"
                 "    return sum(x) / len(x)")}))


def empty_answers(folder, release):
    """Both answers wrong; arrays answered with empty arrays, which bare ``np.allclose``
    (broadcasting) and ``assert_allclose`` against a scalar would accept."""
    _write(folder, answer(release, {
        "square": ("def square(x):\n    if np.ndim(x):\n"
                   "        return np.empty((0,) + np.shape(x))\n    return x * 2"),
        "mean": ("def mean(x):\n    if isinstance(x, np.ndarray):\n"
                 "        return np.empty(0)\n    return x[0]")}))


SUBMISSIONS = {f.__name__.replace("_", "-"): f for f in (
    good, wrong, infinite_loop, slow_cell, ignores_interrupt, os_exit, segfault, memory_bomb, deleted_test,
    edited_test, test_to_markdown, duplicated_ids, invalid_json, empty_file, wrong_name,
    extra_notebook, missing_notebook, huge_output, huge_file, patched_numpy,
    patched_builtins, blanked_cells, hidden_traceback, cached_answers, trace_hook, code_swap,
    forged_replies, lying_object, hunts_hidden_tests, noisy_correct, forged_status, big_return,
    builtin_hijack, giant_answer, socket_flood, socket_stall, shadowed_startup, own_module,
    agent_hijack, runtime_dir_write, leak_hidden_inputs, leak_across_tests, leak_via_class_name,
    leak_via_exception_name, leak_via_check_message, leak_via_quotes, leak_via_length,
    leak_via_execution_count, leak_via_display_update, leak_via_invalid_output,
    display_update_flood, leak_via_dead_cell, empty_answers)}


# A Dask task for tests (importable by the workers): the worker grading VICTIM dies.
VICTIM = "victim"


def grade_or_die(job):
    """Grade ``job`` as :func:`course_lib.grading.cluster.grade_student` does, except that
    the worker process grading :data:`VICTIM` exits at once (each time it is tried)."""
    if job.student == VICTIM:
        os._exit(1)
    from course_lib.grading import cluster

    return cluster.grade_student(job)


# Malformed files: each must cost only its own student (every other one is graded).


def _write_text(folder, text, name=ASSIGNMENT):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ipynb").write_text(text, encoding="utf-8", errors="surrogatepass")


def deep_nesting(folder, release):
    """Valid JSON nested 200,000 levels deep inside a notebook's metadata."""
    text = nbformat.writes(answer(release, GOOD))
    _write_text(folder, text.replace('"metadata": {', '"metadata": {"deep": '
                                     + "[" * 200_000 + "]" * 200_000 + ", ", 1))


def lone_surrogates(folder, release):
    """Correct answers with lone surrogates (valid JSON escapes, not valid UTF-8) in a
    markdown cell, a comment and a string."""
    nb = answer(release, {**GOOD, "square": GOOD["square"] + "  # \ud800 done"})
    nb.cells.insert(0, new_markdown_cell("notes \udcff"))
    text = nbformat.writes(nb).replace("\ud800", "\\ud800").replace("\udcff", "\\udcff")
    _write_text(folder, text)


def odd_metadata(folder, release):
    """Correct answers; grading metadata that is a list, an int grade id, and a made-up
    locked test cell ``assert True`` worth points."""
    nb = answer(release, GOOD)
    nb.cells.insert(1, new_markdown_cell("list", metadata={"nbgrader": ["grade_id"]}))
    nb.cells.insert(1, new_markdown_cell("int id", metadata={"nbgrader": {"grade_id": 7}}))
    nb.cells.append(new_code_cell("assert True", metadata=_meta(
        "free_points", grade=True, locked=True, points=100)))
    _write_text(folder, nbformat.writes(nb, version=4))


def test_as_solution(folder, release):
    """Wrong answers; the test cell of part 1 relabelled as an editable solution cell."""
    nb = answer(release, WRONG)
    cell = _cell(nb, "test_square")
    cell.metadata.nbgrader.update(grade=False, solution=True, locked=False)
    cell.source = "pass"
    _write(folder, nb)


def not_a_notebook(folder, release):
    """Valid JSON that is not a notebook: a list of numbers, with huge exponents."""
    _write_text(folder, "[1e999999, -1e999999, 12345678901234567890123456789]")


def null_bytes(folder, release):
    """Correct answers and a cell with a NUL character in its source."""
    _write(folder, answer(release, GOOD, extra={"mean": "x = 1\x00"}))


MALFORMED = {f.__name__.replace("_", "-"): f for f in (
    deep_nesting, lone_surrogates, odd_metadata, test_as_solution, not_a_notebook,
    null_bytes)}


def write_class(submitted_root, release, names):
    """Write the named submissions into ``submitted_root/<name>/`` (an input folder)."""
    for name in names:
        {**SUBMISSIONS, **MALFORMED}[name](Path(submitted_root) / name, release)


def file_digests(folder):
    """``{relative path: (size, sha256)}`` of every file under ``folder`` (sparse-aware)."""
    import hashlib

    digests = {}
    for root, _, files in os.walk(folder):
        for fname in files:
            path = Path(root) / fname
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(2**20):
                    h.update(chunk)
            digests[str(path.relative_to(folder))] = (path.stat().st_size, h.hexdigest())
    return digests


# The sample class of examples/ps4_mlp (``make grade-demo``), made from PS4's source and
# release. Regenerate after PS4 changes: .venv/bin/python tests/grading_fixtures.py


def solved(source_cell):
    """A source cell as a student who solved it would hand it in (markers removed)."""
    keep = [line for line in source_cell.source.splitlines()
            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
    return "\n".join(keep)


def ps4_answers(source, grade_ids=None):
    """``{grade_id: solved source}`` for PS4's solution cells (all, or ``grade_ids``)."""
    return {c.metadata.nbgrader["grade_id"]: solved(c) for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")
            and (grade_ids is None or c.metadata.nbgrader["grade_id"] in grade_ids)}


PS4_EARLY_PARTS = ("linear_forward", "linear_backward", "relu", "sigmoid", "leaky_relu",
                   "softmax_cross_entropy")


def ps4_sample_class(source, release):
    """``{student: {file name: bytes}}``: six PS4 submissions, one story each.

    ada   everything solved;
    ben   parts 1 to 3 solved, the rest left as handed out;
    cleo  everything solved, but her part 4 crashes the kernel (ctypes);
    dev   ben's answers plus the input-transformer trick that blanks later cells;
    eve   everything solved, saved as ``PS4 final.ipynb``;
    fay   a notebook cut off halfway (not valid JSON).
    """
    full = ps4_answers(source)
    early = ps4_answers(source, PS4_EARLY_PARTS)
    crash = {**full, "gradcheck_function": "import ctypes\nctypes.string_at(0)"}
    trick = {**early, "linear_forward": "get_ipython().input_transformers_cleanup.append("
             "lambda lines: [])\n" + early["linear_forward"]}

    def text(answers):
        return nbformat.writes(answer(release, answers)).encode()

    return {
        "ada": {"ps4_mlp.ipynb": text(full)},
        "ben": {"ps4_mlp.ipynb": text(early)},
        "cleo": {"ps4_mlp.ipynb": text(crash)},
        "dev": {"ps4_mlp.ipynb": text(trick)},
        "eve": {"PS4 final.ipynb": text(full)},
        "fay": {"ps4_mlp.ipynb": text(full)[:20_000]},
    }


def write_ps4_examples(repo=REPO):
    source = nbformat.read(repo / "solutions/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    release = nbformat.read(repo / "assignments/ps4_mlp/ps4_mlp.ipynb", as_version=4)
    base = repo / "examples" / "ps4_mlp"
    shutil.rmtree(base, ignore_errors=True)
    for student, files in ps4_sample_class(source, release).items():
        (base / student).mkdir(parents=True)
        for name, data in files.items():
            (base / student / name).write_bytes(data)


if __name__ == "__main__":
    write_ps4_examples()
