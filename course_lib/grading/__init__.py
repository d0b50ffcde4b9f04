"""The instructor's side of PS4: release, collect, autograde, feedback, grades.

Everything is built on nbgrader (its apps and converters do the work, its ``Gradebook``
API reads and writes scores); this package adds what a whole class needs around them.
The student's process is hostile: everything that decides or shows a grade lives outside
it.

* :mod:`.course`     where things live in a course directory; what a valid student id is;
* :mod:`.collect`    brings submissions into ``submitted/``, refusing hostile names,
  keeping what it replaces;
* :mod:`.preflight`  checks each submission before it runs and stages a repaired copy;
* :mod:`.kernel`     the student's kernel: resource limits, then ipykernel;
* :mod:`.sandbox`    bubblewrap around that kernel and around the test process;
* :mod:`.execute`    nbgrader's Execute split in two: answers in the kernel, tests outside;
* :mod:`.agent`      inside the student's kernel: answers the grader in plain data;
* :mod:`.channel`    the plain data that crosses between the two processes;
* :mod:`.harness`    the trusted test process: runs test cells against the student's names;
* :mod:`.testproc`   the grader's end of the test process;
* :mod:`.sanitize`   strips scripts and active content from graded notebooks (in
  the grading process, under the student's time limit);
* :mod:`.worker`     grades one student in a private course copy with its own gradebook;
* :mod:`.serve`      a long-lived grading process: nbgrader imported once, many students;
* :mod:`.lean`       skips a slow optional import of jsonschema (imported first);
* :mod:`.cluster`    one student's grading as a Dask task: bytes in, bytes out;
* :mod:`.autograde`  grades a class with N workers and merges into ``gradebook.db``;
* :mod:`.escape`     submission text made safe for the terminal, CSV and HTML;
* :mod:`.results`    the autograde report joined with the gradebook's marks;
* :mod:`.student_view` what a student's feedback says about their submission;
* :mod:`.safe_feedback` nbgrader's own feedback without hidden tests or tracebacks;
* :mod:`.remove`     ``course remove-student``: out of the course, a copy kept;
* :mod:`.feedback`, :mod:`.grades`, :mod:`.gradebook`, :mod:`.report`, :mod:`.demo`.
"""
