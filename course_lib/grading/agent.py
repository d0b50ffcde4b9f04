"""Runs inside the student's kernel: answers the grader in plain data, nothing more.

The grader (:mod:`course_lib.grading.execute`) never sends test code to the student's
kernel. It evaluates one of these functions as a *user expression* of an otherwise empty
execute request, and reads the JSON text it returns (:mod:`course_lib.grading.channel`):

* :func:`reset_transforms` before each cell: IPython's input and AST transformers go back
  to the kernel's own, so every cell runs as written (a cell that installs a transformer
  cannot blank or rewrite the cells after it);
* :func:`describe` before each test: for each name the test reads from the notebook,
  whether it is a function (the test will call it) or a value (sent as plain data);
* :func:`call`: call a student's function by name with arguments sent as plain data and
  answer with its result, or with the exception it raised. An argument that is one of the
  test's own functions arrives as a :class:`RemoteCallback`: calling it asks the grader,
  over the kernel's stdin channel (an ``input()`` request), to run that function in the
  trusted test process and send back its result.

Everything here runs in the student's process and can be tampered with; that only ever
spoils the student's own answers, since every grade is decided in the test process from
the data that crosses.
"""

import json

import numpy as np

from course_lib.grading import channel

CALLBACK_PROMPT = "course-grader-callback:"
_startup_transforms = {}


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
        answer = _shell().kernel.raw_input(CALLBACK_PROMPT + request)
        reply = channel.decode(answer)
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
