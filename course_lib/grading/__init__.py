"""The instructor's side of PS4: release, collect, autograde, feedback, grades.

Everything is built on nbgrader (its apps and converters do the work, its ``Gradebook``
API reads and writes scores); this package adds what a whole class needs around them:

* :mod:`.course`     where things live in a course directory;
* :mod:`.preflight`  checks each submission before it runs and stages a repaired copy;
* :mod:`.kernel`     the grading kernel: resource limits, then ipykernel;
* :mod:`.guard`      runs inside that kernel, restores the test machinery before tests;
* :mod:`.execute`    nbgrader's Execute preprocessor, guarded and with capped output;
* :mod:`.worker`     grades one student in a private course copy with its own gradebook;
* :mod:`.serve`      a long-lived grading process: nbgrader imported once, many students;
* :mod:`.lean`       skips a slow optional import of jsonschema (imported first);
* :mod:`.autograde`  grades a class with N workers and merges into ``gradebook.db``;
* :mod:`.feedback`, :mod:`.grades`, :mod:`.collect`, :mod:`.report`, :mod:`.demo`.
"""
