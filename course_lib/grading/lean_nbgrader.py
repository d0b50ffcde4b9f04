"""Import this first in a grading process: nbgrader without its Jupyter server extensions.

nbgrader's package ``__init__`` imports its four server extensions, and with them
jupyter_server, tornado's handlers and every nbgrader app: about 0.5 s of CPU in each
grading process (:mod:`course_lib.grading.serve`, one per worker), which uses nbgrader's
converters, preprocessors and gradebook only. Here the package is registered with its
``__path__`` but without running that ``__init__``: its submodules import as usual,
while its top-level names (``__version__``, the extension hooks) are absent in this
process. So only a process that serves no Jupyter extension may import this, before
anything imports nbgrader. It also applies :mod:`.lean`.
"""

import importlib.util
import sys

import course_lib.grading.lean  # noqa: F401

if "nbgrader" not in sys.modules:
    sys.modules["nbgrader"] = importlib.util.module_from_spec(importlib.util.find_spec("nbgrader"))
