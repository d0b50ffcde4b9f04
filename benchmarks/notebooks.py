"""Lecture notebooks: how long each takes to execute, against the cost of a bare kernel.

Each ``lectures/*.ipynb`` is executed top to bottom with nbclient, as nbval and
``jupyter nbconvert --execute`` do: start a kernel, run every cell, shut it down. The
floor is the same round trip for an empty notebook, run as many times as there are
lectures; the difference is the time spent in the lectures' own cells.
"""

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


def run(quick=False):
    paths = sorted(LECTURES.glob("*.ipynb"))
    if quick:
        paths = paths[:2]
    if not paths:
        return Table("Executing the lecture notebooks", ["notebook"], [],
                     [f"no notebooks in {LECTURES}"])
    rows, total, failed = [], 0.0, []
    floors = [timed(execute, empty_notebook(), LECTURES)[0] for _ in paths]
    floor = min(floors)
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
        try:
            seconds, _ = timed(execute, notebook, path.parent)
        except CellExecutionError as error:
            failed.append(f"{path.name}: {type(error).__name__}: "
                          f"{str(error).strip().splitlines()[-1][:120]}")
            rows.append([path.name, code_cells, "failed", "", ""])
            continue
        total += seconds
        rows.append([path.name, code_cells, seconds, seconds - floor, seconds / floor])
    ran = len(paths) - len(failed)
    floor_total = ran * floor  # the fastest empty run: one slow run must not inflate it
    rows.append([f"sum of {ran}", "", total, total - floor_total,
                 total / floor_total if floor_total else ""])
    rows.append([f"floor: empty notebook x {ran}", "", floor_total, 0.0, 1.0])
    notes = [
        "Each notebook runs once in a fresh python3 kernel via nbclient (kernel start, all "
        "cells, shutdown); the floor is the fastest of "
        f"{len(floors)} runs of an empty notebook ({floor:.2f} s), and the floor row is "
        "that run times the number of notebooks.",
        "'cells' = seconds minus one empty-notebook run: the time spent in the lecture's code.",
    ] + [f"failed: {message}" for message in failed]
    return Table(
        "Executing the lecture notebooks",
        ["notebook", "code cells", "seconds", "cells (s)", "x empty notebook"],
        rows, notes,
    )


if __name__ == "__main__":
    print(run().to_markdown())
