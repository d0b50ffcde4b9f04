"""nbgrader's Execute preprocessor, split in two: answers in the kernel, tests outside it.

:class:`SplitExecute` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
(see :mod:`course_lib.grading.worker`). For each cell of a submission:

* a **test cell** (its grade id names a test of the assignment's *source* notebook) is not
  sent to the student's kernel. Its trusted source (hidden tests included, read from the
  run's tests file, never from the submission) runs in the trusted test process
  (:mod:`course_lib.grading.harness`), which reaches the student's names only as plain
  data and calls by name, relayed here to :mod:`course_lib.grading.agent` in the kernel:
  one execute request per test starts :func:`.agent.serve`, which connects to this
  process's Unix socket for the kernel (:class:`AgentListener`, in the kernel's private
  runtime folder); calls and callbacks then cross that socket as one line each, instead of
  an execute request each (about 4 ms here). Every line is read with a deadline and
  a size cap, and the kernel is watched meanwhile. The cell's outputs are written here
  from the outcome: nothing when the test passed, one error output (the test's message)
  when it raised. nbgrader then scores the cell as usual, and nothing the student
  prints, warns or displays can change that score;
* every **other code cell** (answers, the notebook's own locked cells) runs in the
  student's (sandboxed) kernel, after IPython's transformers are reset so it runs as
  written (the reset is a user expression of the previous cell's own request, and a
  request of its own when that cell raised or the kernel is new). Its outputs are capped
  per cell and per notebook, whatever their kind.

What the grader observes (a cell that overran its time, a kernel that died or had to be
stopped, output that was cut, a test process that failed; a ``note`` of what it did about
it; at the end, status ``stats``: the time spent in tests and the calls and callbacks that
crossed) is written to ``observations_file`` (JSON lines): ``course autograde`` takes
statuses from there, never from the notebook, whose error names the student controls.

A dead or stopped kernel does not stop the grading: the grader starts a new kernel and
re-runs the cells that ran before, without the one that stopped it, so later parts that
do not need that cell are graded as usual, and the tests that do need it fail saying
which cell stopped the kernel (at most ``MAX_RESTARTS`` times; after that, later answer
cells are marked "not run" and later tests fail with the reason).
"""

import ast
import json
import os
import re
import select
import shutil
import socket
import tempfile
import time
from queue import Empty

import jsonschema
import zmq
import zmq.asyncio
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_hook, run_sync
from nbformat.v4 import new_output
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, Execute
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Integer, List, Unicode

from course_lib.grading import harness, kernel
from course_lib.grading.student_view import AFTER_HIDDEN_MARK
from course_lib.grading.testproc import TestProcess, TestProcessError, harness_argv

AGENT = "__import__('course_lib.grading.agent', fromlist=['call'])"
MAX_RESTARTS = 3  # new kernels a notebook may get after its kernel died or was stopped
MAX_ZMQ_MESSAGE = 8 * 2**20  # a larger message from the kernel drops its connection
ZMQ_QUEUE = 32  # messages queued per socket: the client holds at most 256 MiB of them
MAX_ANSWER_CHARS = MAX_ZMQ_MESSAGE  # the longest answer of the agent read
AGENT_SOCKET = "agent"  # in the kernel's private runtime folder (short: sun_path is 108 bytes)
TEND_EVERY = 0.2  # seconds between looks at the kernel while waiting for its agent
STRING_LITERAL = re.compile(r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'|\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\"")


def error_output(ename, evalue):
    """An nbformat error output (what a failing cell shows), without a code traceback."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_imports(nb):
    """``[(alias, module, attr)]`` bound by import statements of the locked cells of ``nb``.

    ``nb`` is the assignment's source notebook. E.g. ``import numpy as np`` gives
    ``("np", "numpy", "")``; ``from course_lib import datasets`` gives
    ``("datasets", "course_lib", "datasets")``. Test cells see these names, not the
    student's.
    """
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_locked(cell) or is_solution(cell) \
                or is_grade(cell):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                for a in node.names:
                    found.append((a.asname or a.name.split(".")[0], a.name, ""))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(a.asname or a.name, node.module, a.name) for a in node.names
                          if a.name != "*"]
    return found


def tests_of(nb):
    """``{"imports": trusted_imports(nb), "tests": {grade_id: source}}`` of a source notebook."""
    tests = {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
             if c.cell_type == "code" and is_grade(c) and not is_solution(c)}
    return {"imports": trusted_imports(nb), "tests": tests}


_DEFINES = re.compile(r"^(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=", re.MULTILINE)


def bound_names(source):
    """Names a cell binds at top level (by a regex when the cell does not even parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {a or b for a, b in _DEFINES.findall(source)}
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        else:
            names |= {n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _where(index, grade_id):
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


_SCHEMA_VALIDATORS = {}  # schema version -> a jsonschema validator, its schema checked


class _CheckedSchemaOnce(BaseMetadataValidator):
    """nbgrader's cell check, with its JSON schema checked once per process.

    ``jsonschema.validate`` checks the schema against the metaschema at every call, that
    is once a cell, twice a notebook: about 0.3 s of each student's grading. This does
    what it does (the best-matching error is raised) with the schema checked once.
    """

    def validate_cell(self, cell):
        meta = cell.metadata.get("nbgrader")
        if not isinstance(meta, dict) or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)  # no metadata, or nbgrader's version error
        validator = _SCHEMA_VALIDATORS.get(self.schema_version)
        if validator is None:
            kind = jsonschema.validators.validator_for(self.schema)
            kind.check_schema(self.schema)
            validator = _SCHEMA_VALIDATORS[self.schema_version] = kind(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        if error is not None:
            raise error


class _FastMetadataValidator(MetadataValidator, _CheckedSchemaOnce):
    """nbgrader's metadata validator (its own checks), the schema checked once."""


class FastCheckCellMetadata(CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` with :class:`_FastMetadataValidator`: same
    checks, same errors, without checking nbgrader's schema again for every cell."""

    def preprocess(self, nb, resources):
        from nbgrader.nbgraderformat import ValidationError

        try:
            _FastMetadataValidator().validate_nb(nb)
        except ValidationError:
            import traceback

            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


class _KernelGone(Exception):
    """The student's kernel died or was stopped: ``args[0]`` says how."""


class _LinkBroken(Exception):
    """The kernel's agent stopped answering over its socket (it closed it, sent something
    out of step or too long, or its serve request ended)."""


class _Overran(Exception):
    """A test's deadline passed while the grader waited for the kernel's agent."""


class AgentListener:
    """The grader's Unix socket for one kernel's agent (:func:`.agent.serve`).

    ``host_dir`` is a folder only that kernel sees (its private runtime folder in the
    sandbox), where it appears as ``kernel_dir``. The socket is the kernel's own
    (``owner``: its uid when the grader runs as root), mode 0600.
    """

    def __init__(self, host_dir, kernel_dir, owner=None):
        self.host_path = os.path.join(host_dir, AGENT_SOCKET)
        self.kernel_path = os.path.join(kernel_dir, AGENT_SOCKET)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.bind(self.host_path)
            os.chmod(self.host_path, 0o600)
            if owner is not None and owner != os.geteuid():
                os.chown(self.host_path, owner, owner, follow_symlinks=False)
            self.sock.listen(1)
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)

    def close(self):
        self.sock.close()


class _Serving:
    """One test's serve request in the kernel and its connection."""

    def __init__(self, msg_id, deadline):
        self.msg_id, self.conn, self.buffer, self.reply = msg_id, None, b"", None
        self.deadline = deadline

    def send(self, kind, text):
        """Send one frame, by the test's deadline: an agent that stops reading (its
        buffer full) breaks the link instead of blocking the grader."""
        if self.conn is None:
            raise _LinkBroken("no connection")
        try:
            self.conn.settimeout(max(0.001, self.deadline - time.monotonic()))
            self.conn.sendall(f"{kind}{text}\n".encode("ascii", "replace"))
        except OSError as e:  # socket.timeout included
            raise _LinkBroken(str(e) or "the agent stopped reading") from None
        finally:
            self.conn.settimeout(None)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def link_error(why="did the notebook change IPython or course_lib.grading?"):
    """The answer the test process gets when the kernel's agent did not answer."""
    return json.dumps({"error": {"ename": "GraderLinkError", "evalue": (
        f"the notebook's kernel did not answer the grader ({why})")}})


class SplitExecute(Execute):
    """Execute answers in the student's kernel and tests in the trusted test process."""

    tests_file = Unicode(help="JSON {notebook: tests_of(source)} for this assignment").tag(
        config=True)
    harness_policy = Unicode(
        "", help="the sandbox's policy.json: run the test process inside the sandbox").tag(
        config=True)
    observations_file = Unicode(help="JSON lines: what the grader observed").tag(
        config=True)
    max_cell_output = Integer(
        1_000_000, help="characters of output kept per cell (all kinds)").tag(config=True)
    max_notebook_output = Integer(
        16_000_000, help="characters of output kept per notebook").tag(config=True)
    extra_arguments = List(["--HistoryManager.hist_file=:memory:"]).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        notebook = resources["nbgrader"]["notebook"]
        with open(self.tests_file) as f:
            spec = json.load(f)[notebook]
        self._tests, self._imports = spec["tests"], [tuple(i) for i in spec["imports"]]
        # sandboxed, its environment is the policy's (one BLAS thread); else this one's
        env = None if self.harness_policy else {**os.environ, **kernel.ONE_THREAD}
        self._tester = TestProcess(self._harness_argv, env)
        self._kernel_gone = None  # why, once the kernel died or was stopped
        self._ran, self._skipped, self._restarts = [], set(), 0  # for replays after a crash
        self._count = 0  # answer cells run: their prompt numbers
        self._failed_cells = []  # (where, "ename: evalue", names the cell binds)
        self._notebook, self._current = notebook, (None, None)
        self._used = {"notebook": 0}
        self._stats = {"test_seconds": 0.0, "calls": 0, "callbacks": 0}
        self._cell_notes = set()
        self._agent = None  # the AgentListener of the current kernel
        self._needs_reset = True  # IPython's transformers before the next answer cell
        # a hidden test passed its inputs to the student's code: from then on, what the
        # student's code writes (messages, a failed cell's error) is withheld
        self._hidden_ran = False
        self._last_reply = None
        self.store_widget_state = False
        self.shutdown_kernel = "immediate"  # nothing in the sandboxed kernel needs saving
        try:
            self._tester.start()  # starts while the kernel starts below
            return super().preprocess(nb, resources, km=km)
        finally:
            self._tester.close()
            self._observe("stats", None, None, self._stats)

    def _harness_argv(self):
        if not self.harness_policy:
            return harness_argv()
        from course_lib.grading import sandbox

        return sandbox.harness_command(self.harness_policy)

    def _observe(self, status, index, grade_id, detail):
        """Record what the grader saw (one JSON line in ``observations_file``)."""
        if index is None:
            index, grade_id = self._current
        if self._hidden_ran and status != "stats":  # which cell (and when) could now be
            detail = f"{detail} {AFTER_HIDDEN_MARK}"  # the choice of code that kept inputs
        with open(self.observations_file, "a") as f:
            f.write(json.dumps({"notebook": self._notebook, "status": status, "cell": index,
                                "grade_id": grade_id, "detail": detail}) + "\n")

    async def async_start_new_kernel_client(self):
        # bound what the kernel can make this process hold: per message and per queue
        context = self.km.context
        context.setsockopt(zmq.MAXMSGSIZE, MAX_ZMQ_MESSAGE)
        context.setsockopt(zmq.RCVHWM, ZMQ_QUEUE)
        try:  # nbclient's own, with the wait for the kernel below
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            await self._wait_for_ready(self.kc, self.startup_timeout)
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        client = self.kc
        self._needs_reset = True
        if self.harness_policy:  # sandboxed: the kernel has bound its sockets by now
            from course_lib.grading import sandbox

            private = sandbox.private_folder(self.km.ip, self._ports())
            owner = private and os.stat(private).st_uid
            as_root = os.geteuid() == 0
            # as root, locked first: once root owns the folder, the kernel can no longer
            # swap the socket the grader binds there for a link to a host file that root
            # would then chown. An ordinary user cannot bind in a folder it made read-only,
            # and its kernel has nothing more to gain from such a swap than it has.
            if as_root:
                self._private = sandbox.lock_runtime_folder(self.km.ip, self._ports())
            if private is not None:
                self._agent = AgentListener(private, os.path.dirname(self.km.ip), owner)
            if not as_root:
                self._private = sandbox.lock_runtime_folder(self.km.ip, self._ports())
        if self._agent is None:  # --unsafe: a folder of its own
            folder = tempfile.mkdtemp(prefix="course-agent-")
            self._agent = AgentListener(folder, folder)
            self._agent_folder = folder
        return client

    async def _wait_for_ready(self, kc, timeout):
        """jupyter_client's ``wait_for_ready``, without its last 0.2 s of waiting for IOPub
        to fall silent (every kernel start paid it): the kernel answers ``kernel_info``
        and IOPub delivers, then what IOPub already holds is dropped. Later IOPub messages
        of these requests are ignored anyway: nothing here reads another request's output.
        """
        deadline = time.monotonic() + (timeout or 60)
        while True:
            kc.kernel_info()
            try:
                msg = await kc.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await kc.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected
                except Empty:
                    pass
                else:
                    kc._handle_kernel_info_reply(msg)
                    break
            if not await ensure_async(self.km.is_alive()):
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        await _ready(kc.iopub_channel)

    # nbclient's sync wrappers are bound to its own coroutines: bind them to these
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _ports(self):
        km = self.km
        return [km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port]

    async def _async_cleanup_kernel(self):
        ip, ports = self.km.ip, self._ports()
        try:
            await super()._async_cleanup_kernel()
        finally:
            if self._agent is not None:
                self._agent.close()
                self._agent = None
            if getattr(self, "_agent_folder", None):
                shutil.rmtree(self._agent_folder, ignore_errors=True)
                self._agent_folder = None
            if self.harness_policy:
                from course_lib.grading import sandbox

                sandbox.remove_runtime_folder(getattr(self, "_private", None), ip, ports)

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def on_comm_open_jupyter_widget(self, msg):
        return None  # a student's widgets cannot capture or redirect outputs

    # --- answer cells --------------------------------------------------------------------

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        if cell.cell_type != "code":
            return cell
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in self._tests:
            return await self._run_test(cell, cell_index, grade_id)
        if not cell.source.strip():
            return cell
        return self._numbered(await self._run_answer(cell, cell_index, grade_id,
                                                     execution_count, store_history))

    def _numbered(self, cell):
        """``cell`` with the grader's own prompt number, ``In [n]`` for the n-th answer cell
        run, on it and on its result. The kernel's count is the student's to set
        (``get_ipython().execution_count = N``), and after a hidden test it could be a
        number spelling out the inputs the student's code kept."""
        self._count += 1
        cell.execution_count = self._count
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = self._count
        return cell

    async def _run_answer(self, cell, cell_index, grade_id, execution_count, store_history):
        await self._recover()
        if self._kernel_gone:
            cell.outputs = [error_output("NotRun", f"not run: {self._kernel_gone}")]
            return cell
        self._current = (cell_index, grade_id)
        try:
            if self._needs_reset:
                await self._kernel_eval(f"{AGENT}.reset_transforms()", time.monotonic() + 30)
            cell = await self._execute_resetting(cell, cell_index, execution_count,
                                                 store_history)
        except (DeadKernelError, _KernelGone):
            self._lose(cell, "kernel died", "the kernel died in {where}", "killed the kernel")
            cell.outputs = list(cell.get("outputs", [])) + [error_output(
                "DeadKernelError",
                "the kernel died while running this cell (os._exit, a crash, or a limit)")]
            return cell
        except CellTimeoutError:
            # it kept the kernel busy after nbclient's interrupt (a cell that stops when
            # interrupted gets nbclient's own timeout error, seen in _async_handle_timeout)
            await ensure_async(self.km.shutdown_kernel(now=True))
            self._lose(cell, "timeout", f"{{where}} ran over {self.timeout} s and ignored the "
                       "interrupt, so the grader stopped the kernel", "ran out of time")
            cell.outputs = list(cell.get("outputs", [])) + [error_output(
                "CellTimeoutError",
                f"this cell did not finish within the {self.timeout} s limit, even after "
                "an interrupt, so the grader stopped the kernel")]
            return cell
        self._ran.append(cell_index)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            if self._hidden_ran:  # a later test repeats this; the cell's own output is
                # withheld from the feedback (safe_feedback), and so is its error here
                message = ("an exception (its type and message are not shown: the cell ran "
                           "after hidden tests passed their inputs to your code, which could "
                           "have kept them; run the cell in your notebook to see them)")
            else:
                ename = harness.shown_type(str(errors[-1].get("ename", "")))
                message = f"{ename}: {errors[-1].get('evalue', '')}"
            self._failed_cells.append((self._shown_where(cell_index, grade_id),
                                       f"raised {message[:500]}", bound_names(cell.source)))
        return cell

    execute_cell = run_sync(async_execute_cell)

    async def _execute_resetting(self, cell, cell_index, execution_count, store_history):
        """nbclient's execution of ``cell``, whose request also resets the transformers.

        The reset is a user expression of the cell's own request, so it runs after the
        cell (and its post-run hooks) and before anything else: one request a cell instead
        of two. A cell that raised gets no user expressions evaluated, so the next cell is
        then preceded by a reset request of its own.
        """
        kc = self.kc
        execute = kc.execute
        kc.execute = lambda *args, **kwargs: execute(
            *args, **kwargs, user_expressions={"r": f"{AGENT}.reset_transforms()"})
        self._last_reply, self._needs_reset = None, True
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        finally:
            del kc.execute
        if self._last_reply is not None:
            self._needs_reset = _agent_answer(self._last_reply) != "reset"
        return cell

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        self._last_reply = exec_reply
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def _lose(self, cell, status, why, what_it_did):
        """The kernel is gone because of ``cell``: later cells are replayed without it.

        ``why``: what happened, with ``{where}`` for the cell (named in full for you, as
        :meth:`_shown_where` says it in what the student sees).
        """
        index, grade_id = self._current
        self._observe(status, index, grade_id, why.format(where=_where(index, grade_id)))
        shown = self._shown_where(index, grade_id)
        self._kernel_gone = why.format(where=shown)
        self._skipped.add(index)
        self._failed_cells.append((shown, what_it_did, bound_names(cell.source)))

    def _shown_where(self, index, grade_id):
        """The cell that failed, as later messages to the student name it: after hidden
        tests passed their inputs to the student's code, not which one (the code could
        choose the cell that fails to spell out an input)."""
        return "a cell after the hidden tests" if self._hidden_ran else _where(index, grade_id)

    async def _recover(self):
        """After the kernel died or was stopped, start a new one and replay the cells that
        ran before (not the one that stopped it), so later parts are still graded.

        At most ``MAX_RESTARTS`` times a notebook; a replay that fails leaves the kernel
        gone, and later cells are then marked not run.
        """
        if not self._kernel_gone or self._restarts >= MAX_RESTARTS:
            return
        self._restarts += 1
        why = self._kernel_gone
        try:
            await self._async_cleanup_kernel()
            self.create_kernel_manager()
            await self.async_start_new_kernel()
            await self.async_start_new_kernel_client()
            for index in self._ran:
                deadline = time.monotonic() + self.timeout
                await self._kernel_eval(f"{AGENT}.reset_transforms()", deadline)
                await self._request(self.nb.cells[index].source, {}, deadline)
        except Exception as e:  # _KernelGone, or a kernel that would not start
            self._kernel_gone = f"{why}; restarting it failed ({type(e).__name__})"
            return
        self._kernel_gone = None
        skipped = ", ".join(str(i) for i in sorted(self._skipped))
        self._observe("note", *self._current,
                      f"the grader then started a new kernel and re-ran the {len(self._ran)} "
                      "cells that had run" + (f", without cell {skipped}" if skipped else ""))

    async def _async_handle_timeout(self, timeout, cell=None):
        index = next((i for i, c in enumerate(self.nb.cells) if c is cell), None)
        grade_id = (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id")
        self._observe("timeout", index, grade_id,
                      f"{_where(index, grade_id)} ran over {timeout} s and was interrupted")
        return await super()._async_handle_timeout(timeout, cell)

    def _update_display_id(self, display_id, msg):
        """An ``update_display`` rewrites the running cell's own displays of
        ``display_id``, never another cell's: a later cell would rewrite an earlier one's
        outputs, which the feedback shows even when the later cell ran after a hidden
        test. Each output it rewrites counts against the caps, as a new output would. A
        new display under an id already shown is a new output only (a frontend would
        also redraw the others: thousands of them, each time)."""
        if msg["msg_type"] != "update_display_data":
            return
        cell_index = self._current[0]
        mine = self._display_id_map.get(display_id, {}).get(cell_index, [])
        self._display_id_map[display_id] = {cell_index: mine} if mine else {}
        if mine and self._charge(msg["content"], cell_index, len(mine)):
            super()._update_display_id(display_id, msg)
        elif mine:
            self._note_cut(self.nb.cells[cell_index].outputs, cell_index)

    def _charge(self, content, cell_index, copies=1):
        """Count ``copies`` outputs of ``content`` against the cell's and the notebook's
        output caps; False (nothing counted) if they would pass either."""
        size = copies * _size(content)
        if size > min(self.max_cell_output - self._used.get(cell_index, 0),
                      self.max_notebook_output - self._used["notebook"]):
            return False
        self._used[cell_index] = self._used.get(cell_index, 0) + size
        self._used["notebook"] += size
        return True

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        budget = min(self.max_cell_output - self._used.get(cell_index, 0),
                     self.max_notebook_output - self._used["notebook"])
        if msg["msg_type"] == "stream" and 0 < budget < _size(content):
            content["text"] = content.get("text", "")[:budget]
        if not self._charge(content, cell_index):
            self._note_cut(outs, cell_index)
            return None
        try:
            return super().output(outs, msg, display_id, cell_index)
        except jsonschema.ValidationError:  # not an output a notebook can hold
            if ("invalid", cell_index) not in self._cell_notes:  # said once a cell
                self._cell_notes.add(("invalid", cell_index))
                outs.append(new_output("stream", name="stdout", text=(
                    "\n[the grader dropped an output of this cell that a notebook cannot "
                    "hold (not valid under the notebook format)]\n")))
            return None

    def _note_cut(self, outs, cell_index):
        if cell_index in self._cell_notes:
            return
        self._cell_notes.add(cell_index)
        limit = (f"{self.max_cell_output:,} characters a cell, "
                 f"{self.max_notebook_output:,} a notebook")
        outs.append(new_output("stream", name="stdout",
                               text=f"\n[the grader cut this cell's output: at most {limit}]\n"))
        self._observe("output cut", cell_index, None, f"output over the limit ({limit})")

    # --- test cells ----------------------------------------------------------------------

    async def _run_test(self, cell, cell_index, grade_id):
        source = self._tests[grade_id]
        self._current = (cell_index, grade_id)
        began = time.monotonic()
        deadline = began + self.timeout
        names = harness.student_names(source, self._imports)
        await self._recover()
        serving = None
        try:
            self._tester.ensure()
            described = '{"names": {}}'
            if names and not self._kernel_gone:
                serving = self._begin_serving(names, deadline)
                described = await self._described(serving, deadline)
            self._tester.send(op="run", label=grade_id, source=source, imports=self._imports,
                              names=described, why_missing=self._why_missing(names),
                              after_hidden=self._hidden_ran)
            before, self._hidden_ran = (self._hidden_ran,
                                        self._hidden_ran or harness.HIDDEN_BEGIN in source)
            outcome = await self._serve_test(serving, deadline)
            # the test process says whether its hidden lines passed data to the kernel;
            # until it says so (it may never: an overrun), assume they did
            self._hidden_ran = before or outcome.get("hidden_called") is not False
        except (TestProcessError, _Overran) as e:
            if isinstance(e, _Overran):
                self._tester.kill()
                e = TestProcessError("the test did not finish in time")
            self._observe("test failed to run", cell_index, grade_id, str(e))
            outcome = {"passed": False, "ename": "TestError",
                       "evalue": f"{e}: this test could not finish (limit {self.timeout} s)"}
        finally:
            if serving is not None:
                await self._stop_serving(serving, deadline)
        cell.outputs = []
        if outcome.get("stdout"):
            cell.outputs.append(new_output("stream", name="stdout", text=outcome["stdout"]))
        if not outcome.get("passed"):
            cell.outputs.append(error_output(str(outcome.get("ename")),
                                             str(outcome.get("evalue"))))
        cell.execution_count = None
        self._stats["test_seconds"] += time.monotonic() - began
        return cell

    def _why_missing(self, names):
        why = {}
        for name in names:
            for where, error, bound in reversed(self._failed_cells):
                if name in bound:
                    why[name] = f"{where} {error}"
                    break
            else:
                if self._kernel_gone:
                    why[name] = self._kernel_gone
        return why

    async def _serve_test(self, serving, deadline):
        """Relay the test process's calls to the kernel's agent until the test is done."""
        while True:
            message = self._tester.receive(deadline)
            if message.get("op") == "done":
                return message
            if message.get("op") != "call":
                raise TestProcessError("the test process sent an unknown message")
            if self._kernel_gone:
                self._tester.send(op="reply", gone=self._kernel_gone)
                continue
            self._stats["calls"] += 1
            try:
                answer = await self._call(serving, message, deadline)
            except _KernelGone as e:
                self._tester.send(op="reply", gone=str(e))
            else:
                self._tester.send(op="reply", answer=answer)

    async def _call(self, serving, message, deadline):
        """One call of the student's function by the agent; its answer (JSON text)."""
        if serving is None or serving.conn is None:
            return link_error()
        try:
            serving.send("X", json.dumps({"name": str(message.get("name")),
                                          "request": str(message.get("request"))}))
            while True:
                kind, text = await self._read_frame(serving, deadline)
                if kind == "A":
                    return text
                if kind != "C":
                    raise _LinkBroken("a frame out of step")
                serving.send("R", self._callback(text, deadline))
        except _LinkBroken:
            serving.close()
            return link_error()

    def _callback(self, request, deadline):
        self._stats["callbacks"] += 1
        self._tester.send(op="callback", request=request)
        message = self._tester.receive(deadline)
        if message.get("op") == "call":  # the test's function calls the student's code
            self._tester.send(op="reply", answer=json.dumps({"error": {
                "ename": "RuntimeError",
                "evalue": "a grader function cannot call the notebook back"}}))
            message = self._tester.receive(deadline)
        if message.get("op") != "callback_reply":
            raise TestProcessError("the test process sent an unknown message")
        return str(message["reply"])

    # --- the agent's socket ------------------------------------------------------------

    def _begin_serving(self, names, deadline):
        """Send the request that runs :func:`.agent.serve` for one test."""
        expression = f"{AGENT}.serve({self._agent.kernel_path!r}, {names!r})"
        return _Serving(self.kc.execute("", silent=True, store_history=False,
                                        allow_stdin=True, user_expressions={"r": expression}),
                        deadline)

    async def _described(self, serving, deadline):
        """Accept the agent's connection; return its description of the test's names."""
        try:
            while serving.conn is None:
                await self._wait_for(self._agent.sock, serving, deadline)
                try:
                    serving.conn, _ = self._agent.sock.accept()
                except BlockingIOError:
                    continue
                serving.conn.setblocking(True)
            kind, text = await self._read_frame(serving, deadline)
            if kind != "D":
                raise _LinkBroken("a frame out of step")
            return text
        except _LinkBroken:
            serving.close()
            return link_error()
        except _KernelGone:
            return '{"names": {}}'

    async def _read_frame(self, serving, deadline):
        """The next ``(kind, text)`` from the agent; at most ``MAX_ANSWER_CHARS``."""
        while b"\n" not in serving.buffer:
            await self._wait_for(serving.conn, serving, deadline)
            try:
                chunk = serving.conn.recv(2**20)
            except OSError:
                chunk = b""
            if not chunk:
                raise _LinkBroken("the agent closed its socket")
            serving.buffer += chunk
            if len(serving.buffer) > MAX_ANSWER_CHARS + 2:
                raise _LinkBroken("a frame over the size limit")
        line, serving.buffer = serving.buffer.split(b"\n", 1)
        if len(line) > MAX_ANSWER_CHARS + 1:
            raise _LinkBroken("a frame over the size limit")
        text = line.decode("ascii", "replace")
        return text[:1], text[1:]

    async def _wait_for(self, fileobj, serving, deadline):
        """Wait until ``fileobj`` (the agent's socket) is readable.

        Meanwhile, every ``TEND_EVERY`` seconds: drop the kernel's output, answer its
        input requests with nothing, notice its serve request ending (:class:`_LinkBroken`)
        or the kernel dying (:class:`_KernelGone`). :class:`_Overran` at ``deadline``.
        """
        if fileobj is None:
            raise _LinkBroken("no connection")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Overran()
            if select.select([fileobj], [], [], min(remaining, TEND_EVERY))[0]:
                return
            kc = self.kc
            await _ready(kc.iopub_channel)  # output of the student's code: dropped
            for _ in await _ready(kc.stdin_channel):
                kc.input("")
            for message in await _ready(kc.shell_channel):
                if message["parent_header"].get("msg_id") == serving.msg_id:
                    serving.reply = message
            if serving.reply is not None:
                raise _LinkBroken("the serve request ended")
            if not await ensure_async(self.km.is_alive()):
                self._kernel_gone = "the kernel died while the grader was using it"
                self._observe("kernel died", None, None, self._kernel_gone)
                raise _KernelGone(self._kernel_gone)

    async def _stop_serving(self, serving, deadline):
        """End the test's serve request and wait for its reply (see :meth:`_request`)."""
        try:
            serving.send("E", "")
        except _LinkBroken:
            pass
        serving.close()
        if serving.reply is None and not self._kernel_gone:
            try:  # an overrun test's call is interrupted a second after its deadline
                serving.reply = await self._await_reply(
                    serving.msg_id, max(deadline, time.monotonic() + 1))
            except _KernelGone:
                return
        self._needs_reset = _agent_answer(serving.reply) != "reset"

    # --- talking to the agent in the kernel ------------------------------------------------

    async def _kernel_eval(self, expression, deadline):
        """Evaluate ``expression`` (a call of the agent) in the kernel; return its str.

        Raises :class:`_KernelGone` when the kernel dies, or overruns ``deadline`` (it is
        then interrupted, and stopped if that does not help).
        """
        reply = await self._request("", {"r": expression}, deadline)
        return _agent_answer(reply)

    async def _request(self, code, user_expressions, deadline):
        """Run ``code`` silently in the kernel; return its execute reply (see above)."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=True,
                                 user_expressions=user_expressions)
        return await self._await_reply(msg_id, deadline)

    async def _await_reply(self, msg_id, deadline):
        """The execute reply to ``msg_id``; input requests meanwhile get an empty answer
        and output is dropped. Interrupts the kernel at ``deadline``, and stops it if it
        has not answered 10 s later (:class:`_KernelGone`)."""
        kc = self.kc
        poller = zmq.asyncio.Poller()
        for channel in (kc.shell_channel, kc.stdin_channel, kc.iopub_channel):
            poller.register(channel.socket, zmq.POLLIN)
        interrupted_at = None
        while True:
            now = time.monotonic()
            if now > deadline and interrupted_at is None:
                interrupted_at = now
                self._observe("timeout", None, None, "a call of the notebook ran over "
                              f"{self.timeout} s and was interrupted")
                await ensure_async(self.km.interrupt_kernel())
            if interrupted_at is not None and now > interrupted_at + 10:
                await ensure_async(self.km.shutdown_kernel(now=True))
                self._kernel_gone = "the grader stopped the kernel: a call ran over " \
                                    f"{self.timeout} s and ignored the interrupt"
                raise _KernelGone(self._kernel_gone)
            ready = dict(await poller.poll(1000))
            if not ready:
                if not await ensure_async(self.km.is_alive()):
                    self._kernel_gone = "the kernel died while the grader was using it"
                    self._observe("kernel died", None, None, self._kernel_gone)
                    raise _KernelGone(self._kernel_gone)
                continue
            if kc.iopub_channel.socket in ready:
                await kc.iopub_channel.get_msg(timeout=0)
            if kc.stdin_channel.socket in ready:
                await kc.stdin_channel.get_msg(timeout=0)
                kc.input("")
            if kc.shell_channel.socket in ready:
                reply = await kc.shell_channel.get_msg(timeout=0)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply


async def _ready(channel):
    """The messages waiting on a kernel client's ``channel``, without waiting."""
    found = []
    while True:
        try:
            found.append(await channel.get_msg(timeout=0))
        except Empty:
            return found


def _agent_answer(reply):
    """The str the agent returned, from an execute reply's user expression."""
    result = (reply.get("content", {}).get("user_expressions") or {}).get("r") or {}
    text = (result.get("data") or {}).get("text/plain") if result.get("status") == "ok" else None
    # one string literal and nothing else: a crafted text could make literal_eval build a
    # huge syntax tree (gigabytes) in this process
    if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS or \
            not STRING_LITERAL.fullmatch(text):
        return link_error()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    return value if isinstance(value, str) else link_error("it answered with something "
                                                           "other than text")


def _size(content):
    """Characters in an output message's content, whatever its kind."""
    total = len(content.get("text", "") or "") + len(str(content.get("evalue", "")))
    total += sum(len(str(line)) for line in content.get("traceback", []) or [])
    for value in (content.get("data") or {}).values():
        total += len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
    return total
