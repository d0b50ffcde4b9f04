"""Look at one student's submission before anything runs, and stage what to grade.

Two steps, so that no student's file is parsed where the whole class would pay for it:

* :func:`read_folder` (in the coordinator) only reads bytes: every file of the submitted
  folder within the size limits, never following a symbolic link, never writing;
* :func:`inspect_files` (in the student's own grading process, under their time and
  memory limits) parses them and returns a :class:`Preflight`: the notebooks to grade
  (repaired where that is safe), the other files to copy, and a plain-language list of
  problems; :func:`stage` writes them where nbgrader looks.

What it handles:

* a notebook that is empty, not JSON (or nested too deeply), not a notebook, over the
  size limit, or too big for the grading process's memory once parsed: not graded;
  characters UTF-8 cannot hold (lone surrogates) are replaced;
* a submission whose files add up to more than ``max_total_bytes``: the files beyond it
  are not read;
* grading metadata that is malformed or names a grade id the assignment does not have:
  removed (the cell is graded as an ordinary cell);
* a wrongly named notebook (``ps4_mlp (1).ipynb``): graded under the expected name when
  its grade ids are the assignment's; other notebooks are extra and ignored;
* a grade id used by several cells (plain nbgrader cannot save such a notebook): the
  last copy keeps it, as nbgrader's DeduplicateIds does, the others become plain cells;
* deleted, edited or retyped test cells, found by comparing with the released notebook
  (nbgrader restores them from the gradebook: ``OverwriteCells``);
* code that reaches into the test machinery (``np.allclose = ...``, ``builtins``,
  IPython's input transformers, ``sys.modules``): flagged for a human to look at.
"""

import ast
import copy
import errno
import heapq
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat
from nbgrader.utils import is_grade, is_locked, is_solution

TRUSTED_NAMES = {"np", "numpy", "builtins", "__builtins__", "sys", "course_lib", "math"}
SHELL_HOOKS = {
    "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
    "set_custom_exc", "showtraceback", "_showtraceback", "events", "run_cell",
    "register_magic_function",
}


def is_top_notebook(rel):
    """Whether the relative path ``rel`` names a notebook at the top of a submission: the
    only files graded as notebooks (any other file is copied along)."""
    path = PurePosixPath(rel)
    return path.suffix == ".ipynb" and len(path.parts) == 1


@dataclass
class Received:
    """One student's files as read, ``{relative path: bytes}``, and what was left out."""

    files: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)  # notebooks too big to read at all

    @property
    def has_notebook(self):
        return any(is_top_notebook(rel) for rel in self.files)


@dataclass
class Preflight:
    """What to grade for one student, and what was wrong with the submission."""

    notebooks: dict = field(default_factory=dict)  # expected name -> NotebookNode
    files: list = field(default_factory=list)  # other files to copy (relative paths)
    problems: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    suspicious: list = field(default_factory=list)

    def summary(self):
        """Plain data for the coordinator: the notebooks' names instead of the notebooks."""
        return {"notebooks": sorted(self.notebooks), "problems": self.problems,
                "unreadable": self.unreadable, "missing": self.missing,
                "suspicious": self.suspicious}

    @classmethod
    def from_summary(cls, summary):
        return cls(**{**summary, "notebooks": dict.fromkeys(summary["notebooks"])})


def _grade_ids(nb):
    """The well-formed grade ids of ``nb``'s cells, in order (repeats kept)."""
    ids = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            ids.append(meta["grade_id"])
    return ids


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value):
    """``value`` (parsed JSON) with every lone surrogate replaced by U+FFFD, and a count.

    JSON may spell characters UTF-8 cannot hold (``"\\ud800"``); left in, they make
    writing the notebook fail.
    """
    if isinstance(value, str):
        fixed, count = LONE_SURROGATE.subn("\ufffd", value)
        return fixed, count
    if isinstance(value, list):
        pairs = [_without_lone_surrogates(v) for v in value]
        return [v for v, _ in pairs], sum(n for _, n in pairs)
    if isinstance(value, dict):
        pairs = {_without_lone_surrogates(k)[0]: _without_lone_surrogates(v)
                 for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return value, 0


def _parse_notebook(name, data):
    """``(notebook, None, notes)`` or ``(None, why it cannot be graded, [])``.

    ``data`` is the file's bytes. A notebook whose parsed form outgrows the process's
    memory (a few MB of ``[{}, {}, ...]`` take GBs) is one that cannot be graded.
    """
    if not data:
        return None, f"{name} is an empty file", []
    try:
        parsed = json.loads(data.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        return None, f"{name} is not valid JSON (line {e.lineno}: {e.msg})", []
    except RecursionError:
        return None, f"{name} is not a notebook (its JSON is nested too deeply)", []
    except MemoryError:
        return None, f"{name} takes more memory to read than grading allows", []
    try:
        parsed, replaced = _without_lone_surrogates(parsed)
        nb = nbformat.reads(json.dumps(parsed), as_version=4)  # joins lines, upgrades
        nbformat.validate(nb)
    except MemoryError:
        return None, f"{name} takes more memory to read than grading allows", []
    except Exception as e:  # nbformat raises several kinds for a malformed notebook
        return None, f"{name} is not a notebook ({type(e).__name__})", []
    notes = [f"{name}: {replaced} invalid characters replaced"] if replaced else []
    return nb, None, notes


def _clean_grading_metadata(nb, name, release):
    """Make each cell's nbgrader metadata the release's, by grade id, or drop it.

    Metadata that is malformed or names a grade id the assignment lacks is removed (the
    cell is graded as an ordinary cell: a test is identified by its grade id, and nbgrader
    restores every test the assignment has). Metadata that relabels a known cell (a test
    marked as a solution, changed points) is put back as released.
    """
    released = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in release.cells
                if "grade_id" in c.metadata.get("nbgrader", {})}
    problems = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(grade_id, str) and grade_id in released:
            if meta != released[grade_id]:
                cell.metadata["nbgrader"] = copy.deepcopy(released[grade_id])
                problems.append(f"{name}: grading metadata of {grade_id!r} changed (restored)")
            continue
        del cell.metadata["nbgrader"]
        what = "malformed grading metadata" if not isinstance(grade_id, str) else \
            f"an unknown grade id {grade_id[:40]!r}"
        problems.append(f"{name}: cell {index} had {what} (removed)")
    return problems


def _deduplicate(nb, name):
    problems = []
    ids = _grade_ids(nb)
    for grade_id in sorted({i for i in ids if ids.count(i) > 1}):
        holders = [c for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
        for cell in holders[:-1]:
            del cell.metadata["nbgrader"]
        problems.append(f"{name}: grade id {grade_id!r} used by {len(holders)} cells "
                        "(kept the last)")
    return problems


def _compare_with_release(nb, release, name):
    problems = []
    cells = {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
             if "grade_id" in c.metadata.get("nbgrader", {})}
    for ref in release.cells:
        meta = ref.metadata.get("nbgrader", {})
        if not (is_locked(ref) and is_grade(ref)) or "grade_id" not in meta:
            continue
        grade_id = meta["grade_id"]
        cell = cells.get(grade_id)
        if cell is None:
            problems.append(f"{name}: test cell {grade_id!r} deleted (restored)")
        elif cell.cell_type != ref.cell_type:
            problems.append(f"{name}: test cell {grade_id!r} turned into {cell.cell_type} "
                            "(restored)")
        elif cell.source != ref.source:
            problems.append(f"{name}: test cell {grade_id!r} edited (restored)")
    return problems


def _attribute_root(node):
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_for_tampering(source, reference_names=frozenset()):
    """Reasons to look at ``source`` by hand: it patches modules, builtins or IPython, or
    uses the course's own code beyond its tools (:data:`COURSE_TOOLS`), imported or bound
    to one of ``reference_names`` by a locked cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    reasons = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args:
            root = _attribute_root(node.args[0])
            if root in TRUSTED_NAMES:
                reasons.append(f"{node.func.id}() on {root}")
        for target in targets:
            if isinstance(target, ast.Attribute | ast.Subscript) and \
                    _attribute_root(target) in TRUSTED_NAMES:
                reasons.append(f"assigns {ast.unparse(target)}")
            elif isinstance(target, ast.Name) and target.id in TRUSTED_NAMES:
                reasons.append(f"rebinds {target.id}")
        if isinstance(node, ast.Attribute) and node.attr in SHELL_HOOKS:
            reasons.append(f"uses IPython's {node.attr}")
        if isinstance(node, ast.Name) and node.id == "__builtins__":
            reasons.append("uses __builtins__")
        reasons += [f"uses {name} (the course's own code) in an answer"
                    for name, _ in _course_code(node) if name not in COURSE_TOOLS]
        if isinstance(node, ast.Name) and node.id in reference_names:
            reasons.append(f"uses {node.id} (the course's own code) in an answer")
    return sorted(set(reasons))


# what an answer may use of the course's library (the assignment says so: gradient
# checks, data, plots); the rest holds reference versions of what students write
COURSE_TOOLS = {"course_lib.datasets", "course_lib.plotting", "course_lib.gradcheck"}


def _course_code(node):
    """``[(course_lib module or name, name it is bound to)]`` that ``node`` brings in:
    an import, or a ``__import__``/``import_module`` call with a constant name."""
    if isinstance(node, ast.Import):
        found = [(a.name, a.asname or a.name.split(".")[0]) for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        found = [(f"{node.module}.{a.name}", a.asname or a.name) for a in node.names]
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str) and (
                getattr(node.func, "id", None) == "__import__"
                or getattr(node.func, "attr", None) == "import_module"):
        found = [(node.args[0].value, None)]
    else:
        return []
    return [(module, bound) for module, bound in found if module.split(".")[0] == "course_lib"
            and not any(module.startswith(f"{tool}.") for tool in COURSE_TOOLS)]


def reference_names(release):
    """Names the release's locked cells bind to course code an answer may not use
    (``checks``, for ``from course_lib import ps4_checks as checks``)."""
    names = set()
    for cell in release.cells:
        if cell.cell_type == "code" and is_locked(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {bound for node in ast.walk(tree) for module, bound in _course_code(node)
                      if bound and module not in COURSE_TOOLS}
    return names


MAX_FILES = 1000  # files read from one submission (a course's have a handful)
MAX_ENTRIES = 10 * MAX_FILES  # entries (files, folders, links) looked at in one submission
OVER_TOTAL = "would bring the submission over its limit"


def _listing(directory, limit):
    """The first ``limit`` entries of ``directory`` by name, hidden ones left out, and
    whether there were more. A folder of millions of entries is never held in memory."""
    with os.scandir(directory) as entries:
        first = heapq.nsmallest(limit + 1, (e for e in entries if not e.name.startswith(".")),
                                key=lambda e: e.name)
    return first[:limit], len(first) > limit


def _read_regular(path, max_bytes, room):
    """``(bytes, None)``, or ``(None, why it is not read)`` for anything but a regular file
    of at most ``max_bytes`` that fits in the ``room`` left in the submission: a link is
    not followed, a pipe not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        return None, ("is a symbolic link" if e.errno == errno.ELOOP
                      else f"cannot be opened ({e.strerror})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > max_bytes:
            return None, f"is {info.st_size / 2**20:.0f} MB (limit {max_bytes / 2**20:.0f} MB)"
        if info.st_size > room:
            return None, OVER_TOTAL
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(min(max_bytes, room) + 1)
        if len(data) > min(max_bytes, room):
            return None, "grew while it was read"
        return data, None
    finally:
        os.close(fd)


def _paths(folder):
    """The files (anything but a folder) under ``folder``: the notebooks at its top first,
    then the rest depth first, by name. After :data:`MAX_ENTRIES` entries looked at, or if
    a folder had more entries than were listed, a last None."""
    budget = MAX_ENTRIES
    top, cut = _listing(folder, budget)
    top.sort(key=lambda e: not (is_top_notebook(e.name) and not e.is_dir(follow_symlinks=False)))
    stack = [iter(top)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if budget == 0:
            cut = True
            break
        budget -= 1
        if entry.is_dir(follow_symlinks=False):
            inner, more = _listing(entry.path, budget)
            cut = cut or more
            stack.append(iter(inner))
        else:
            yield Path(entry.path)
    if cut:
        yield None


def read_folder(folder, max_bytes, max_total_bytes):
    """Read the files of ``folder`` (submitted/<student>/<assignment>) as a :class:`Received`.

    Only bytes are read, nothing parsed: hidden files and folders are skipped, symbolic
    links are not followed and pipes not waited on (only regular files are read), a file
    over ``max_bytes`` is not read, and neither is any file once the files read reach
    ``max_total_bytes`` or :data:`MAX_FILES`, or the entries looked at
    :data:`MAX_ENTRIES`. The notebooks at the top of the folder, which are what is
    graded, are read first.
    """
    folder = Path(folder)
    received, total = Received(), 0
    for path in _paths(folder):
        if path is None or len(received.files) == MAX_FILES:
            received.problems.append(f"more files than are read (at most {MAX_FILES} files "
                                     f"and {MAX_ENTRIES} entries in all): the rest not read")
            break
        rel = path.relative_to(folder)
        data, why = _read_regular(path, max_bytes, max_total_bytes - total)
        if why == OVER_TOTAL:
            why = f"would bring the submission over {max_total_bytes / 2**20:.0f} MB"
        if why is None:
            received.files[str(rel)] = data
            total += len(data)
            continue
        received.problems.append(f"{rel} {why} (not read)")
        if is_top_notebook(rel):
            received.unreadable.append(path.stem)
    return received


def inspect_files(received, sources, releases):
    """Check the files of a :class:`Received` against the assignment; a :class:`Preflight`.

    ``sources`` and ``releases`` map each notebook name (``"ps4_mlp"``) to its source
    and released NotebookNode.
    """
    result = Preflight(problems=list(received.problems))
    readable = {}
    for rel, data in received.files.items():
        path = PurePosixPath(rel)
        if is_top_notebook(rel):
            nb, why, notes = _parse_notebook(path.name, data)
            result.problems += notes
            if nb is None:
                result.problems.append(why)
                if path.stem in sources:
                    result.unreadable.append(path.stem)
            else:
                readable[path.stem] = nb
        else:
            result.files.append(rel)
    result.unreadable += [n for n in received.unreadable if n in sources]

    for name in sources:
        if name in readable:
            result.notebooks[name] = readable.pop(name)
    for name, source in sources.items():
        if name in result.notebooks or name in result.unreadable:
            continue
        wanted = set(_grade_ids(source))
        overlap = {other: len(wanted & set(_grade_ids(nb))) for other, nb in readable.items()}
        best = max(overlap, key=overlap.get, default=None)
        if best is not None and overlap[best] > 0:
            result.notebooks[name] = readable.pop(best)
            result.problems.append(f"{best}.ipynb is wrongly named: graded as {name}.ipynb")
    for other in readable:
        result.problems.append(f"extra notebook {other}.ipynb (ignored)")
    for name in sources:
        if name not in result.notebooks and name not in result.unreadable:
            result.missing.append(name)
            result.problems.append(f"{name}.ipynb is missing")

    for name, nb in result.notebooks.items():
        references = reference_names(releases[name])
        result.problems += _clean_grading_metadata(nb, name, releases[name])
        result.problems += _deduplicate(nb, name)
        result.problems += _compare_with_release(nb, releases[name], name)
        for cell in nb.cells:
            if cell.cell_type == "code" and not (is_locked(cell) and not is_solution(cell)):
                result.suspicious += scan_for_tampering(cell.source, references)
    if result.suspicious:
        reasons = ", ".join(sorted(set(result.suspicious)))
        result.problems.append(f"suspicious code, please review: {reasons}")
    return result


def inspect_submission(folder, sources, releases, max_bytes, max_total_bytes=None):
    """:func:`read_folder` then :func:`inspect_files`, in one process (for tests and tools)."""
    received = read_folder(folder, max_bytes, max_total_bytes or 4 * max_bytes)
    return inspect_files(received, sources, releases)


def stage(check, received, folder):
    """Write what ``check`` grades into ``folder``: its notebooks, then the other files.

    ``received`` is the :class:`Received` it was made from. A relative path that would
    land outside ``folder`` is skipped.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in check.notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    inside = folder.resolve()
    for rel in check.files:
        target = (folder / rel).resolve()
        if inside not in target.parents:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(received.files[rel])
