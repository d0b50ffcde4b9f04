"""Runs inside the grading kernel: keeps a snapshot of the test machinery and restores it.

Test cells run in the student's kernel, after the student's code, so a submission can
try to make them pass without doing the work: ``np.allclose = lambda *a, **k: True``,
``numpy.testing.assert_allclose = ...``, ``builtins.abs = ...``, a global ``np`` that is
not numpy, or ``get_ipython().input_transformers_cleanup.append(lambda lines: [])``,
which blanks every later cell (test cells included) so that they "pass" by not running.

:func:`install` runs when the kernel starts, before any student code: it imports the
trusted modules (numpy, numpy.testing, math, course_lib and its checks) and copies their
namespaces, and the namespaces of course_lib's classes. :func:`restore` is called by the
grader (:mod:`course_lib.grading.execute`) right before every test cell, outside the
cell (as a user expression, so input transformers cannot blank it). It

* puts back every snapshotted module in ``sys.modules`` and every name it had at start-up;
* resets IPython's input/AST transformers, custom exception handlers, the traceback
  display and the pre/post-run hooks that the student added;
* removes user globals that shadow a builtin, and rebinds the names that the notebook's
  locked cells import (``np``, ``check_linear``...) to the pristine objects.

Limits, stated plainly: all of this runs in the student's process. It defeats tampering
done by student cells, but code that the test itself calls can patch things again
while the test runs, and code written against this module can disable it; the test
helpers in ``course_lib.ps4_checks`` therefore keep private references, the static scan
in :mod:`course_lib.grading.preflight` flags such code for a human, and the sandbox
keeps it away from the grader's files.
"""

import builtins
import importlib
import sys

# the modules that test cells lean on (course_lib's light ones: no sklearn, no matplotlib)
TRUSTED_MODULES = (
    "builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "course_lib",
    "course_lib.layers", "course_lib.losses", "course_lib.gradcheck", "course_lib.optim",
    "course_lib.validation", "course_lib.ps4_checks",
)
# classes whose methods run cells and report errors: a patched one could skip a test
MACHINERY_CLASSES = (
    ("IPython.core.interactiveshell", "InteractiveShell"),
    ("ipykernel.zmqshell", "ZMQInteractiveShell"),
    ("ipykernel.ipkernel", "IPythonKernel"),
    ("ipykernel.kernelbase", "Kernel"),
)
SHELL_METHODS = (
    "run_cell", "run_cell_async", "_run_cell", "run_ast_nodes", "run_code", "transform_cell",
    "showtraceback", "_showtraceback", "showsyntaxerror", "should_run_async", "ev", "ex",
    "user_expressions",
)
_KEEP_USER_NAMES = {"exit", "quit", "get_ipython", "In", "Out"}
_snapshot = {}
_machinery = {}


def _preload():
    loaded = []
    for name in TRUSTED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # a module that is not there is simply not protected
            continue
        loaded.append(name)
    return loaded


def install():
    """Import the trusted modules and snapshot them (call before any student code)."""
    for name in _preload():
        module = sys.modules[name]
        classes = {}
        if name.startswith("course_lib"):
            for value in vars(module).values():
                if isinstance(value, type) and value.__module__.startswith("course_lib"):
                    classes[value] = dict(vars(value))
        _snapshot[name] = (module, dict(vars(module)), classes)
    for module_name, class_name in MACHINERY_CLASSES:
        cls = getattr(importlib.import_module(module_name), class_name)
        # methods only: data such as InteractiveShell._instance changes once the kernel runs
        _machinery[cls] = {k: v for k, v in vars(cls).items()
                           if callable(v) or isinstance(v, property | staticmethod | classmethod)}


def _restore_namespace(target, saved, setter, deleter):
    for key in [k for k in vars(target) if k not in saved]:
        deleter(key)
    for key, value in saved.items():
        if vars(target).get(key, _MISSING) is not value:
            setter(key, value)


_MISSING = object()


def _restore_modules():
    for name, (module, saved, classes) in _snapshot.items():
        sys.modules[name] = module
        # put back what was there; keep what was added since (numpy binds submodules such
        # as numpy.random lazily, and removing them breaks later imports)
        for key, value in saved.items():
            if vars(module).get(key, _MISSING) is not value:
                vars(module)[key] = value
        for cls, cls_saved in classes.items():
            _restore_class(cls, cls_saved)
    for cls, methods in _machinery.items():
        for key, value in methods.items():
            if vars(cls).get(key, _MISSING) is not value:
                setattr(cls, key, value)


def _restore_class(cls, saved):
    skip = {"__dict__", "__weakref__", "__doc__"}
    _restore_namespace(
        cls, {k: v for k, v in saved.items() if k not in skip},
        lambda k, v: setattr(cls, k, v),
        lambda k: k not in skip and delattr(cls, k),
    )


def _restore_shell(shell):
    from IPython.core.inputtransformer2 import TransformerManager

    shell.input_transformer_manager = TransformerManager()
    shell.input_transformers_post = []
    shell.ast_transformers = []
    shell.set_custom_exc((), None)
    for name in SHELL_METHODS:
        vars(shell).pop(name, None)  # an instance attribute hiding a method of the shell
    for callbacks in shell.events.callbacks.values():
        callbacks[:] = [
            cb for cb in callbacks
            if getattr(cb, "__module__", "").startswith(("IPython", "ipykernel", "matplotlib"))
        ]
    sys.excepthook = sys.__excepthook__


def restore(imports=()):
    """Restore the snapshot; rebind ``imports`` = [(alias, module, attr or "")] in user_ns.

    Returns ``"restored"`` (the grader checks for it).
    """
    _restore_modules()
    from IPython import get_ipython

    shell = get_ipython()
    _restore_shell(shell)
    user_ns = shell.user_ns
    user_ns["__builtins__"] = builtins
    pristine_builtins = _snapshot["builtins"][1]
    for name in list(user_ns):
        if name in pristine_builtins and name not in _KEEP_USER_NAMES and not name.startswith("_"):
            del user_ns[name]
    for alias, module_name, attr in imports:
        entry = _snapshot.get(module_name)
        if entry is None:
            continue
        module, saved, _ = entry
        if not attr:
            user_ns[alias] = module
        elif attr in saved:
            user_ns[alias] = saved[attr]
        elif f"{module_name}.{attr}" in _snapshot:
            user_ns[alias] = _snapshot[f"{module_name}.{attr}"][0]
    return "restored"
