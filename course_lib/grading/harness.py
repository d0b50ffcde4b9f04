"""The trusted test process: ``python -I -m course_lib.grading.harness``.

Test cells (visible and hidden) run here, never in the student's kernel. The grader
(:mod:`course_lib.grading.execute`) starts one such process per graded notebook, inside
the sandbox (no network, no submission on its path: ``-I`` keeps the working directory
off ``sys.path``, and the working directory is an empty scratch folder), and talks to it
over stdin/stdout, one JSON object a line:

grader -> test process
    ``{"op": "run", "label", "source", "imports", "names", "why_missing"}``: run one test
    cell. ``imports`` are the ``(alias, module, attr)`` of the notebook's locked import
    cells (``np`` is numpy here, whatever the student's ``np`` is); ``names`` is the
    student kernel's JSON answer to :func:`course_lib.grading.agent.describe` for the
    names the test reads; ``why_missing`` explains names an answer cell failed to define.
    ``{"op": "reply", "answer"}``: the student kernel's JSON answer to a ``call`` (below,
    :func:`course_lib.grading.agent.call`), or ``{"op": "reply", "gone": why}`` when the
    kernel no longer runs.
    ``{"op": "callback", "request"}``: the student's code called one of this test's
    functions (``request`` is the JSON of its arguments).
test process -> grader
    ``{"op": "call", "name", "request"}``: call the student's function ``name``.
    ``{"op": "callback_reply", "reply"}``: the result of a callback, as JSON.
    ``{"op": "done", "passed", "ename", "evalue", "stdout"}``: the test's outcome.

The grade is that outcome: the test ran to its end (passed) or raised. Student values
arrive as plain data (:mod:`course_lib.grading.channel`); a student function is a
:class:`StudentFunction` that asks the grader to call it by name. Only the names the
test reads from the notebook are bound (never a builtin).

What the student's side wrote (an exception's message, what a returned object was) is
shown unless it could carry a hidden test's inputs: when the student's code raised while
a hidden test ran (a line between nbgrader's hidden-test markers called it), and once a
hidden test has passed inputs to the student's code (``done`` says ``hidden_called``; the
grader then sends ``after_hidden`` with every later test): that code could have kept them
and write them into any later message. A withheld message still says which of the
student's functions it came from and why it is withheld; an exception's type is withheld
with it (a class of the student's could be named after an input, and the choice among
even the builtin types is six bits a test).

In the same cases a failure message the test itself raises is shown only as far as it is
the test's own (:func:`shown_test_message`):

* a :class:`~course_lib.check_failure.CheckFailure` (every check of
  :mod:`course_lib.ps4_checks`) keeps its words and the test's values and writes what the
  student's code returned as "…"; on a hidden line the test's numbers go too ("got …,
  expected …": the expected values are computed from the hidden inputs);
* a message that is a string written in the test's source (``assert ok, "square(-2)
  should be 4"``), or the grader's own reason why a name is not defined
  (:class:`NotDefined`), is shown, on a hidden line without its numbers and quoted text;
* any other message (numpy's "ACTUAL: ...", an f-string of the test) could spell out a
  returned value in any form, a quote or a length included, and is withheld.
"""

import ast
import builtins
import contextlib
import importlib
import io
import json
import os
import re
import sys

import numpy as np

from course_lib.check_failure import CheckFailure
from course_lib.grading import channel

MAX_TEST_OUTPUT = 20_000  # characters a test may print into its cell
MAX_MESSAGE = 4_000  # characters of an error message kept
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")
# in a hidden test's own words: numbers and quoted text, which may spell its inputs
VALUES = re.compile(r"""'[^']*'|"[^"]*"|(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?""")


def shown_type(ename):
    """The name of the type the student's code raised, when it is a plain name (it is the
    student's text); else ``Exception``."""
    return ename if IDENTIFIER.fullmatch(ename) else "Exception"


def without_values(text):
    """``text`` with its numbers and quoted text replaced by "…"."""
    return VALUES.sub("…", text)


def student_names(source, imports):
    """The names ``source`` reads that it neither binds nor imports, nor are builtins.

    ``imports``: the ``(alias, module, attr)`` bound before each test. These are the
    names the test takes from the student's notebook.
    """
    tree = ast.parse(source)
    loaded, bound = set(), {alias for alias, _, _ in imports}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
    return sorted(loaded - bound - set(dir(builtins)))


class StudentCodeError(Exception):
    """The student's function raised; ``ename``/``evalue`` are what it raised."""

    def __init__(self, function, ename, evalue):
        self.function, self.ename, self.evalue = function, ename, evalue
        super().__init__(f"{ename} raised by your {function}" + (f": {evalue}" if evalue else ""))


class StudentKernelStopped(Exception):
    """The student's kernel no longer runs (it died, or the grader stopped it)."""


class StudentDataError(AssertionError):
    """What the student's function returned cannot be read (its text comes from them).

    ``function``: the student's function; ``plain``: the message without anything the
    student's side wrote (shown when the full message is withheld).
    """

    def __init__(self, message, function="", plain=""):
        super().__init__(message)
        self.function, self.plain = function, plain or message


class NotDefined(NameError):
    """A name the test reads that the notebook did not define, with the grader's reason
    (which cell failed and how, in words :mod:`.execute` made safe to show)."""


class NotReceived(Exception):
    """A notebook value that the grader cannot read (not plain data); ``plain`` as above."""

    def __init__(self, message, plain=""):
        super().__init__(message)
        self.plain = plain or message


PLAIN_DATA = ("numpy arrays, numbers, strings, booleans, None and tuples, lists and dicts "
              "of these")


class Link:
    """The test process's end of the line to the grader."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.callbacks = []
        self.test = None  # (code filename, hidden line numbers) of the running test
        self.hidden_called = False  # a hidden line of it passed data to the student's code

    def send(self, **message):
        self.writer.write(json.dumps(message) + "\n")
        self.writer.flush()

    def receive(self):
        line = self.reader.readline()
        if not line:
            raise SystemExit(0)  # the grader went away
        return json.loads(line)

    def call(self, name, args, kwargs):
        """Call the student's ``name``; serve callbacks until its answer comes."""
        first = len(self.callbacks)
        if not self.hidden_called and self._in_hidden_line():
            self.hidden_called = True
        try:
            request = channel.encode({"args": args, "kwargs": kwargs}, self.callbacks)
            self.send(op="call", name=name, request=request)
            while True:
                message = self.receive()
                if message["op"] == "callback":
                    self.send(op="callback_reply", reply=self._run_callback(message["request"]))
                elif message["op"] == "reply":
                    return self._answer(name, message, [list(args), kwargs])
        finally:
            del self.callbacks[first:]

    def _in_hidden_line(self):
        """Whether the running test's code is at a hidden line (in this call's callers)."""
        if self.test is None:
            return False
        filename, hidden = self.test
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == filename and frame.f_lineno in hidden:
                return True
            frame = frame.f_back
        return False

    def _run_callback(self, request):
        try:
            message = channel.decode(request)
            if not isinstance(message, dict) or not isinstance(message.get("id"), int) \
                    or not 0 <= message["id"] < len(self.callbacks):
                raise channel.ChannelError("a call of an unknown grader function")
            result = self.callbacks[message["id"]](*message["args"], **message["kwargs"])
            return channel.encode({"value": result})
        except Exception as e:  # reported to the student's code as GraderCallbackError
            return channel.encode({"error": f"{type(e).__name__}: {e}"[:MAX_MESSAGE]})

    @staticmethod
    def _answer(name, message, arguments):
        if "gone" in message:
            raise StudentKernelStopped(str(message["gone"])[:MAX_MESSAGE])
        try:
            answer = json.loads(message["answer"])
            if not isinstance(answer, dict):
                raise channel.ChannelError("an answer that is not an object")
        except (ValueError, TypeError, KeyError, RecursionError) as e:
            raise StudentDataError(f"calling {name} gave an answer the grader cannot read "
                                   f"({type(e).__name__})", name) from None
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            ename = str(error.get("ename", ""))
            raise StudentCodeError(name, ename if IDENTIFIER.fullmatch(ename) else "Exception",
                                   str(error.get("evalue", ""))[:MAX_MESSAGE])
        if "unsendable" in answer:
            raise StudentDataError(
                f"{name} returned {str(answer['unsendable'])[:200]}; the grader receives "
                f"only {PLAIN_DATA}", name,
                f"{name} returned something the grader cannot receive; it receives only "
                f"{PLAIN_DATA}")
        try:
            value = channel.from_plain(answer.get("value"))
            _write_back(arguments, answer.get("changed") or [])
        except (channel.ChannelError, RecursionError, TypeError, ValueError) as e:
            raise StudentDataError(f"{name} returned data the grader cannot read: {e}", name,
                                   f"{name} returned data the grader cannot read") from None
        return value


def _write_back(arguments, changed):
    """Copy the arguments the student's function changed in place into the test's arrays."""
    targets = dict(channel.arrays_in(arguments))
    for path, plain in changed:
        target = targets.get(tuple(path))
        new = channel.from_plain(plain)
        if target is None or not isinstance(new, np.ndarray) or new.shape != target.shape:
            continue
        np.copyto(target, new, casting="unsafe")


class StudentFunction:
    """A function of the student's notebook; calling it calls it there, by name."""

    def __init__(self, name, link):
        self.name, self._link = name, link
        self.__name__ = name

    def __repr__(self):
        return f"<your function {self.name}>"

    def __call__(self, *args, **kwargs):
        return self._link.call(self.name, args, kwargs)


class TestNamespace(dict):
    """A test cell's globals: a name the notebook lacks raises with the reason why."""

    def __init__(self, unavailable):
        super().__init__()
        self.unavailable = unavailable

    def __missing__(self, name):
        if name in self.unavailable:
            raise self.unavailable[name]
        raise KeyError(name)


def _namespace(message, link):
    unavailable = {}
    namespace = TestNamespace(unavailable)
    namespace["__builtins__"] = builtins
    try:
        described = json.loads(message["names"])["names"]
    except (ValueError, KeyError, TypeError, RecursionError):
        described = {}
    described = described if isinstance(described, dict) else {}
    # only the names the test reads and takes from the notebook: the kernel's answer
    # cannot add a builtin (a student's abs) or any other name to the test's namespace
    for name in student_names(message["source"], message["imports"]):
        info = described.get(name)
        kind = info.get("kind") if isinstance(info, dict) else None
        if kind == "function":
            namespace[name] = StudentFunction(name, link)
        elif kind == "value":
            try:
                namespace[name] = channel.from_plain(info.get("value"))
            except (channel.ChannelError, RecursionError) as e:
                unavailable[name] = NotReceived(f"{name} holds data the grader cannot read: "
                                                f"{e}", f"{name} holds data the grader "
                                                "cannot read")
        elif kind == "unsendable":
            unavailable[name] = NotReceived(
                f"{name} holds {str(info.get('what'))[:200]}; the grader can read only "
                f"{PLAIN_DATA}", f"{name} holds something the grader cannot read; it can "
                f"read only {PLAIN_DATA}")
    for name, why in message.get("why_missing", {}).items():
        if name not in namespace and name not in unavailable:
            unavailable[name] = NotDefined(f"name {name!r} is not defined: {why}")
    used = {node.id for node in ast.walk(ast.parse(message["source"]))
            if isinstance(node, ast.Name)}
    for alias, module, attr in message["imports"]:
        if alias in used:  # matplotlib and friends are imported only when a test needs them
            namespace[alias] = _trusted_import(module, attr)
    return namespace


def _trusted_import(module, attr):
    """What ``import module`` (attr "") or ``from module import attr`` binds."""
    if not attr:
        importlib.import_module(module)
        return importlib.import_module(module.split(".")[0])
    imported = importlib.import_module(module)
    if hasattr(imported, attr):
        return getattr(imported, attr)
    return importlib.import_module(f"{module}.{attr}")


HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# why a message could carry hidden inputs, as the student reads it
HIDDEN_REASON = "this is a hidden test, and the message could reveal its inputs"
AFTER_HIDDEN_REASON = ("hidden tests ran before this one and passed their inputs to your "
                       "code, so a message written after them could carry those inputs. "
                       "This test is visible: run its cell in your notebook to see the "
                       "message")


def _hidden_lines(source):
    """Line numbers (from 1) between nbgrader's hidden-test markers."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif inside:
            hidden.add(number)
    return hidden


def _line_of(error, message):
    """The line of the test cell that was running when ``error`` was raised."""
    line, tb = None, error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == f"<test {message['label']}>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _student_error(e, reason):
    """The ``done`` fields for what the student's side raised or sent; ``reason``: why its
    own text is withheld (None: shown). The function's name is the grader's own knowledge
    and is kept; the exception's type is withheld with its message, and a withheld
    exception always reads the same, whatever it was."""
    if isinstance(e, StudentCodeError):
        if reason is not None:
            return {"ename": "Exception", "evalue": f"raised by your {e.function}: (its "
                    f"type and message are not shown: {reason})"}
        ename = shown_type(e.ename)
        return {"ename": ename,
                "evalue": f"raised by your {e.function}" + (f": {e.evalue}" if e.evalue else "")}
    text = str(e)[:MAX_MESSAGE] if reason is None else \
        f"{e.plain} (its message is not shown: {reason})"
    return {"ename": type(e).__name__, "evalue": text}


def _string_constants(source):
    """Every string written in ``source`` (a test cell), f-strings' fixed parts included."""
    return {node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def shown_test_message(error, source, reason, on_hidden_line):
    """What a student is shown of the failure message of a test's own ``error`` when
    ``reason`` says why it could carry hidden inputs (see the module's docstring)."""
    text = str(error)[:MAX_MESSAGE]
    if isinstance(error, CheckFailure):
        kept = error.without_returned()[:MAX_MESSAGE]
        if on_hidden_line:
            return (f"{without_values(kept)} (numbers, and what your code returned, are "
                    f"shown as …: {reason})")
        if kept == text:  # the check's words and the test's values only
            return text
        return f"{kept} (what your code returned is shown as …: {reason})"
    if isinstance(error, NotDefined) or text and text in _string_constants(source):
        return f"{without_values(text)} (numbers and quoted text are not shown: {reason})" \
            if on_hidden_line else text
    return f"(its message is not shown: {reason})" if text else ""


def _why_withheld(error, message, hidden, link):
    """Why text that ``error`` carries could hold a hidden test's inputs (None: it cannot):
    raised on one of the ``hidden`` lines, or once a hidden test passed its inputs to the
    student's code, which could have kept them."""
    if _line_of(error, message) in hidden:
        return HIDDEN_REASON
    if message.get("after_hidden") or link.hidden_called:
        return AFTER_HIDDEN_REASON
    return None


def run_test(message, link):
    """Run one test cell; return the ``done`` message's fields.

    ``hidden_called``: whether a hidden line passed data to the student's code.
    """
    printed = io.StringIO()
    hidden = _hidden_lines(message["source"])
    filename = f"<test {message['label']}>"
    link.test, link.hidden_called = (filename, frozenset(hidden)), False
    try:
        code = compile(message["source"], filename, "exec")
        namespace = _namespace(message, link)
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
    except (StudentCodeError, StudentDataError, NotReceived) as e:
        # text the student's side wrote (an error message, a class name) is withheld when
        # it could carry a hidden test's inputs
        outcome = {"passed": False, **_student_error(e, _why_withheld(e, message, hidden, link))}
    except Exception as e:  # the test failed: that is its grade
        reason = _why_withheld(e, message, hidden, link)
        text = str(e)[:MAX_MESSAGE] if reason is None else \
            shown_test_message(e, message["source"], reason, _line_of(e, message) in hidden)
        outcome = {"passed": False, "ename": type(e).__name__, "evalue": text}
    else:
        outcome = {"passed": True}
    finally:
        link.test = None
    return {**outcome, "stdout": printed.getvalue()[:MAX_TEST_OUTPUT],
            "hidden_called": link.hidden_called}


def main():
    # the protocol owns the original stdout; anything else printed goes to stderr
    writer = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    link = Link(sys.stdin, writer)
    link.send(op="ready")
    while True:
        message = link.receive()
        if message["op"] == "run":
            link.send(op="done", **run_test(message, link))


if __name__ == "__main__":
    main()
