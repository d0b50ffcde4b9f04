"""Runs inside the student's kernel: answers the grader in plain data, nothing more.

The grader (:mod:`course_lib.grading.execute`) never sends test code to the student's
kernel. It evaluates one of these functions as a *user expression* of an otherwise empty
execute request, or of an answer cell's own request:

* :func:`reset_transforms` after each answer cell (and before the first): IPython's
  input and AST transformers go back to the kernel's own, so every cell runs as written
  (a cell that installs a transformer cannot blank or rewrite the cells after it);
* :func:`serve` for each test that reads names from the notebook: it connects to the
  grader's Unix socket (in the kernel's private runtime folder, see
  :mod:`course_lib.grading.sandbox`), sends :func:`describe` of the names the test reads
  (for each, whether it is a function, which the test will call, or a value, sent as
  plain data), then answers the grader's calls until the test is done: each is
  :func:`call`, a call of a student's function by name with arguments sent as plain
  data, answered with its result or with the exception it raised. An argument that is
  one of the test's own functions arrives as a :class:`RemoteCallback`: calling it asks
  the grader, over the same socket, to run that function in the trusted test process and
  send back its result.

Frames on the socket are one line of ASCII each: a kind letter, then JSON text
(:mod:`course_lib.grading.channel`). Kernel to grader: ``D`` the description, ``A`` a
call's answer, ``C`` a callback's arguments. Grader to kernel: ``X`` a call
(``{"name", "request"}``), ``R`` a callback's result, ``E`` the end of the test. One
connection per test; the JSON never holds a raw newline.

Everything here runs in the student's process and can be tampered with; that only ever
spoils the student's own answers, since every grade is decided in the test process from
the data that crosses.
"""

import json
import socket
import sys

import numpy as np

from course_lib.grading import channel

_startup_transforms = {}
_link = None  # the grader's connection while a test is served


def _shell():
    from IPython import get_ipython

    return get_ipython()


def _reply(**fields):
    return json.dumps(fields)


def reset_transforms():
    """Put IPython's input and AST transformers back to the kernel's start-up state."""
    from IPython.core.inputtransformer2 import TransformerManager

    shell = _shell()
    if not _startup_transforms:  # the first call comes before any student cell
        _startup_transforms.update(post=list(shell.input_transformers_post),
                                   ast=list(shell.ast_transformers))
        # the kernel started with its folder off the path (``-P``), so that a submitted
        # module could not run before the grader locked the kernel's runtime folder; the
        # student's cells may import their own modules, now
        if "" not in sys.path:
            sys.path.insert(0, "")
    shell.input_transformer_manager = TransformerManager()
    shell.input_transformers_post = list(_startup_transforms["post"])
    shell.ast_transformers = list(_startup_transforms["ast"])
    return "reset"


def _sendable(value, budget):
    """``(plain form, its JSON size)`` of ``value``; :class:`~.channel.Unsendable` if it
    is not plain data or its JSON is over ``budget`` characters."""
    plain = channel.to_plain(value)
    size = len(json.dumps(plain))
    if size > budget:
        raise channel.Unsendable(f"data of {size / 2**20:.1f} MiB (the grader reads at most "
                                 f"{channel.MAX_MESSAGE_CHARS / 2**20:.0f} MiB per answer)")
    return plain, size


def describe(names):
    """JSON ``{name: {"kind": "function" | "value" | "missing" | "unsendable", ...}}``."""
    namespace = _shell().user_ns
    found, budget = {}, channel.MAX_MESSAGE_CHARS
    for name in names:
        if name not in namespace:
            found[name] = {"kind": "missing"}
            continue
        value = namespace[name]
        try:
            plain, size = _sendable(value, budget)
            found[name] = {"kind": "value", "value": plain}
            budget -= size
        except channel.Unsendable as e:
            if callable(value):
                found[name] = {"kind": "function"}
            else:
                found[name] = {"kind": "unsendable", "what": str(e)}
        except Exception as e:  # a hostile object's own code raised while being read
            found[name] = {"kind": "unsendable", "what": f"{channel.describe(value)} ({e!r})"}
    return _reply(names=found)


class GraderCallbackError(RuntimeError):
    """The grader's function, called from the student's code, raised or could not answer."""


class RemoteCallback:
    """Stands in for a function of the test process; calling it runs that function there."""

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<grader function #{self.index}>"

    def __call__(self, *args, **kwargs):
        try:
            request = channel.encode({"id": self.index, "args": args, "kwargs": kwargs})
        except channel.Unsendable as e:
            raise GraderCallbackError(f"this function of the grader takes plain data, not "
                                      f"{e}") from None
        link = _link
        if link is None:
            raise GraderCallbackError("this function of the grader can be called only while "
                                      "its test runs")
        try:
            link.send("C", request)
            kind, answer = link.receive()
            if kind != "R":
                raise OSError("the grader's link is out of step")
            reply = channel.decode(answer)
        except (OSError, channel.ChannelError) as e:
            raise GraderCallbackError(f"the grader did not answer ({e})") from None
        if "error" in reply:
            raise GraderCallbackError(reply["error"])
        return reply["value"]


def call(name, request):
    """Call the notebook's ``name`` with ``request`` = encoded ``{"args", "kwargs"}``.

    The answer holds the result, and the arguments the call changed in place (by path).
    """
    try:
        message = channel.decode(request, make_callback=RemoteCallback)
        function = _shell().user_ns[name]
    except (channel.ChannelError, KeyError) as e:
        return _reply(error={"ename": type(e).__name__, "evalue": str(e)}, stage="grader")
    arguments = [list(message["args"]), message["kwargs"]]
    before = [(path, array, array.copy()) for path, array in channel.arrays_in(arguments)]
    try:
        result = function(*arguments[0], **arguments[1])
    except BaseException as e:  # the student's code raised: that is the answer
        return _reply(error={"ename": type(e).__name__, "evalue": str(e)[:2000]})
    after = dict(channel.arrays_in(arguments))
    changed = [[list(path), channel.to_plain(after[path])] for path, array, copy in before
               if path in after and not (after[path] is array and np.array_equal(
                   array, copy, equal_nan=True))]
    try:
        return _reply(value=_sendable(result, channel.MAX_MESSAGE_CHARS)[0], changed=changed)
    except channel.Unsendable as e:
        return _reply(unsendable=str(e))
    except Exception as e:
        return _reply(unsendable=f"{channel.describe(result)} ({e!r})")


class _Link:
    """The kernel's end of one test's connection to the grader (see the module's doc)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("rb")

    def send(self, kind, text):
        self.sock.sendall(f"{kind}{text}\n".encode("ascii"))

    def receive(self):
        line = self.reader.readline()
        if not line.endswith(b"\n"):
            raise OSError("the grader closed the link")
        line = line[:-1].decode("ascii")
        return line[:1], line[1:]

    def close(self):
        self.reader.close()
        self.sock.close()


def serve(path, names):
    """Serve one test: describe ``names``, then answer calls until the grader says ``E``.

    ``path`` is the grader's socket as this kernel sees it. Returns what
    :func:`reset_transforms` returns: a test's calls ran student code, so IPython's
    transformers are reset before the next cell.
    """
    global _link
    try:
        link = _Link(path)
    except OSError:
        return reset_transforms()
    _link = link
    try:
        link.send("D", describe(names))
        while True:
            kind, text = link.receive()
            if kind != "X":
                break
            try:
                message = json.loads(text)
                answer = call(str(message["name"]), str(message["request"]))
            except (ValueError, KeyError, TypeError) as e:
                answer = _reply(error={"ename": type(e).__name__, "evalue": str(e)},
                                stage="grader")
            link.send("A", answer)
    except (OSError, UnicodeError):
        pass
    finally:
        _link = None
        link.close()
    return reset_transforms()
