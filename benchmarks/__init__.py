"""Performance comparisons for the course, each against baselines measured in the same run.

Run them all with ``python -m benchmarks`` (``make bench``), or a fast smoke run with
``python -m benchmarks --quick``. Every benchmark prints a table of times and, more
usefully, ratios: these machines are shared and noisy, so absolute times are not
comparable between runs, while ratios measured side by side are. Nothing here asserts
on a time; targets are reported as met or missed.

Modules, one per benchmark:

* :mod:`benchmarks.training`: course_lib's MLP on the digits against a hand-fused numpy
  loop, PyTorch and scikit-learn;
* :mod:`benchmarks.gradcheck`: course_lib's gradient checks against full finite
  differences, in time and in which planted bugs each one catches;
* :mod:`benchmarks.notebooks`: each lecture's execution time against an empty notebook;
* :mod:`benchmarks.autograde`: ``course autograde`` against serial ``nbgrader autograde``.
"""
