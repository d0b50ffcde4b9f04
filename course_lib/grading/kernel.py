"""The grading kernel: ``python -P -m course_lib.grading.kernel -f {connection_file}``.

It is ipykernel with three things done first, before any student code can run:

1. resource limits from the environment (``COURSE_KERNEL_MEMORY_MB`` caps the address
   space, so a memory bomb raises ``MemoryError`` instead of taking the machine;
   ``COURSE_KERNEL_FILE_MB`` caps the size of any file it writes; no core dumps);
2. one BLAS thread, so the address-space cap is not eaten by thread stacks and two
   grading workers do not fight over the cores (the variables are in the kernel spec's
   environment, and in the sandbox's, since ``course_lib`` loads numpy before ``main``);
3. :mod:`course_lib.grading.agent` imported, the grader's correspondent in this process
   (no test code ever runs here: tests run in :mod:`course_lib.grading.harness`).

:func:`write_kernel_spec` writes the kernel spec that points nbgrader at this module.
"""

import json
import os
import resource
import signal
import sys
from pathlib import Path

KERNEL_NAME = "course-grader"
MEMORY_ENV = "COURSE_KERNEL_MEMORY_MB"
FILE_ENV = "COURSE_KERNEL_FILE_MB"
# numpy's BLAS reads these when it is loaded, before main() runs (course_lib imports it)
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def kernel_argv(python=sys.executable):
    """The kernel spec's argv (the sandbox wraps it in bubblewrap). ``-P``: the working
    folder, which holds the submission's files, is not on ``sys.path`` while the kernel
    starts, so a submitted ``course_lib/`` or ``numpy.py`` cannot run code before it."""
    return [python, "-P", "-m", "course_lib.grading.kernel", "-f", "{connection_file}"]


def write_kernel_spec(jupyter_dir, memory_mb, file_mb, argv=None):
    """Write ``<jupyter_dir>/kernels/course-grader/kernel.json``; return the kernel name.

    Put ``jupyter_dir`` first on ``JUPYTER_PATH`` for the process that starts kernels.
    """
    folder = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": argv or kernel_argv(),
        "display_name": "Python 3 (course grader)",
        "language": "python",
        "env": {MEMORY_ENV: str(memory_mb), FILE_ENV: str(file_mb), **ONE_THREAD},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return KERNEL_NAME


def apply_limits(environ=os.environ):
    """Set RLIMIT_AS, RLIMIT_FSIZE and RLIMIT_CORE for this process from ``environ``."""
    mb = 1024 * 1024
    if environ.get(MEMORY_ENV):
        limit = int(environ[MEMORY_ENV]) * mb
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if environ.get(FILE_ENV):
        limit = int(environ[FILE_ENV]) * mb
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        # a write past the limit then raises OSError(EFBIG) instead of killing the kernel
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main():
    os.environ.update(ONE_THREAD)  # for what the kernel starts (numpy is loaded by now)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    apply_limits()
    from ipykernel import kernelapp

    import course_lib.grading.agent  # noqa: F401 (ready before the grader's first call)

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
