"""Lecture notebooks: how long each takes to execute, against the cost of a bare kernel.

Each ``lectures/*.ipynb`` is executed top to bottom with nbclient, as nbval and
``jupyter nbconvert --execute`` do: start a kernel, run every cell, shut it down. The
floor is the same round trip for an empty notebook, run just before each lecture, so that
a lecture and its floor meet the same load; the difference is the time spent in the
lectures' own cells. The pairs are repeated over a few rounds and medians reported.
"""

import statistics
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from benchmarks.timing import Table, timed

LECTURES = Path(__file__).resolve().parent.parent / "lectures"
TIMEOUT = 120


def execute(notebook, cwd, allow_errors=False):
    """Execute ``notebook`` (a NotebookNode) in a fresh kernel, working in ``cwd``.

    With ``allow_errors`` every cell runs even after one raises, as a grader runs them.
    """
    client = NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3",
                            allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()


def empty_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


def run(quick=False, rounds=3):
    paths = sorted(LECTURES.glob("*.ipynb"))
    if quick:
        paths, rounds = paths[:2], 1
    if not paths:
        return Table("Executing the lecture notebooks", ["notebook"], [],
                     [f"no notebooks in {LECTURES}"])
    # each lecture runs right after an empty notebook, and the pair is repeated in
    # `rounds` rounds: a lecture and its floor meet the same load
    seconds = {path: [] for path in paths}
    empty = {path: [] for path in paths}
    failed = {}
    for _ in range(rounds):
        for path in paths:
            if path in failed:
                continue
            notebook = nbformat.read(path, as_version=4)
            floor_seconds, _ = timed(execute, empty_notebook(), LECTURES)
            try:
                run_seconds, _ = timed(execute, notebook, path.parent)
            except CellExecutionError as error:
                failed[path] = (f"{path.name}: {type(error).__name__}: "
                                f"{str(error).strip().splitlines()[-1][:120]}")
                continue
            seconds[path].append(run_seconds)
            empty[path].append(floor_seconds)
    ran = [path for path in paths if path not in failed]
    median = {path: statistics.median(seconds[path]) for path in ran}
    floor = {path: statistics.median(empty[path]) for path in ran}
    rows = []
    for path in paths:
        code_cells = sum(cell.cell_type == "code"
                         for cell in nbformat.read(path, as_version=4).cells)
        if path in failed:
            rows.append([path.name, code_cells, "failed", "", ""])
            continue
        rows.append([path.name, code_cells, median[path], median[path] - floor[path],
                     median[path] / floor[path]])
    notes = [
        f"{rounds} round{'s' if rounds != 1 else ''}; in each, every notebook runs in a fresh "
        "python3 kernel via nbclient (kernel start, all cells, shutdown) right after an "
        "empty notebook does. 'seconds' is a lecture's median over the rounds, its floor the "
        "median of the empty runs paired with it, so that neither one slow nor one quick "
        "kernel start moves a ratio; 'cells' is the difference, the time spent in the "
        "lecture's code.",
    ]
    if ran:
        total, floor_total = sum(median.values()), sum(floor.values())
        rows.append([f"sum of {len(ran)}", "", total, total - floor_total, total / floor_total])
        rows.append([f"floor: empty notebook x {len(ran)}", "", floor_total, 0.0, 1.0])
        fastest = sum(min(seconds[p]) for p in ran) / sum(min(empty[p]) for p in ran)
        notes.append(f"Best against best (each lecture's fastest run against the fastest "
                     f"of the empty runs paired with it, summed): {fastest:.2f}x.")
    notes += [f"failed: {message}" for message in failed.values()]
    return Table(
        "Executing the lecture notebooks",
        ["notebook", "code cells", "seconds", "cells (s)", "x empty notebook"],
        rows, notes,
    )


if __name__ == "__main__":
    print(run().to_markdown())
