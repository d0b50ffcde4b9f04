"""nbgrader's Execute preprocessor, hardened for grading a class.

:class:`GuardedExecute` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
(see :mod:`course_lib.grading.worker`). Compared with nbgrader's own it

* restores the test machinery before every grade cell, by evaluating
  :func:`course_lib.grading.guard.restore` as a *user expression* (which input
  transformers cannot blank); if that fails, the test cell is marked failed
  (``GradingGuardError``): a kernel the grader cannot trust earns no test points;
* survives a dead kernel (``os._exit``, a segfault): the cell that killed it and every
  later cell get a ``DeadKernelError`` output, the cells before keep their results, and
  nbgrader then saves the grades as usual instead of failing the whole notebook;
* stops a kernel that goes on running a cell after the time limit and nbgrader's
  interrupt (a cell that ignores SIGINT): nbclient would raise, and nbgrader then fail
  the whole notebook; instead that cell and every later one get a ``CellTimeoutError``
  output and the cells before keep their results;
* keeps at most ``max_stream_chars`` characters of printed output per cell while the
  cell runs (a cell printing millions of lines cannot fill the grader's memory).
"""

import ast

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Integer

GUARD_OK = "'restored'"


def error_output(ename, evalue):
    """An nbformat error output (what a failing cell shows), without a code traceback."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_imports(nb):
    """``[(alias, module, attr)]`` bound by import statements of the locked cells of ``nb``.

    E.g. ``import numpy as np`` gives ``("np", "numpy", "")`` and
    ``from course_lib.ps4_checks import check_linear`` gives
    ``("check_linear", "course_lib.ps4_checks", "check_linear")``.
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not (is_locked(cell) or is_grade(cell)) or is_solution(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    found.append((a.asname or a.name.split(".")[0],
                                  a.name if a.asname else a.name.split(".")[0], ""))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(a.asname or a.name, node.module, a.name) for a in node.names]
    return found


class GuardedExecute(Execute):
    """Execute with a guard before test cells, recovery from a dead or stuck kernel, and
    an output cap."""

    max_stream_chars = Integer(
        200_000, help="Printed characters kept per cell; the rest is dropped while it runs."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._imports = trusted_imports(nb)
        self._kernel_gone = None  # (error name, why) once the kernel died or was stopped
        self._stream_chars = {}
        return super().preprocess(nb, resources, km=km)

    async def _restore_guard(self):
        expression = (
            "__import__('course_lib.grading.guard', fromlist=['restore'])"
            f".restore({self._imports!r})"
        )
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"guard": expression}
        )
        try:
            reply = await self.async_wait_for_reply(msg_id)
        except TimeoutError:  # still stuck in a cell that ignored the interrupt
            return False
        result = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("guard", {})
        return result.get("status") == "ok" and result["data"].get("text/plain") == GUARD_OK

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        if self._kernel_gone:
            ename, why = self._kernel_gone
            cell.outputs = [error_output(ename, f"not run: {why} in an earlier cell")]
            return cell
        try:
            guarded = not is_grade(cell) or await self._restore_guard()
            cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        except DeadKernelError:
            self._kernel_gone = ("DeadKernelError", "the kernel died")
            cell.outputs = list(cell.get("outputs", [])) + [error_output(
                "DeadKernelError",
                "the kernel died while running this cell (os._exit, a crash, or a limit)")]
            return cell
        except CellTimeoutError:
            # an overrunning cell that stops when interrupted gets nbgrader's error reply
            # and no exception; this one kept the kernel busy after the interrupt (or
            # its output was still streaming iopub_timeout seconds after its reply)
            await ensure_async(self.km.shutdown_kernel(now=True))
            self._kernel_gone = ("CellTimeoutError", "the grader stopped the kernel")
            cell.outputs = list(cell.get("outputs", [])) + [error_output(
                "CellTimeoutError",
                f"this cell did not finish within the {self.timeout} s limit, even after "
                "an interrupt, so the grader stopped the kernel")]
            return cell
        if not guarded:
            cell.outputs.append(error_output(
                "GradingGuardError",
                "the grader could not restore numpy/builtins/IPython before this test"))
        return cell

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            used = self._stream_chars.get(cell_index, 0)
            text = msg["content"].get("text", "")
            self._stream_chars[cell_index] = used + len(text)
            if used > self.max_stream_chars:
                return None
            if used + len(text) > self.max_stream_chars:
                msg["content"]["text"] = text[: self.max_stream_chars - used] + (
                    f"\n... output truncated by the grader after {self.max_stream_chars} "
                    "characters\n")
        return super().output(outs, msg, display_id, cell_index)
