"""What a student reads about their submission: what they can act on, nothing else.

``course autograde`` writes, per student, a status ("ok", "timeout, flagged"...) and the
problems found, for the instructor: they name grader internals ("nbgrader failed: ...",
"grading stopped after 300 s") and things meant for the instructor only ("suspicious
code, please review"). :func:`notes` turns them into sentences for the student's
feedback page: why the file could not be graded and what to do (resubmit), which cell
overran its time or crashed, what was repaired. Anything else is left out; a failure on
the grader's side says only that the instructor will look at it.
"""

import re

# what the grader adds to what it saw once hidden tests had passed their inputs to the
# student's code (:mod:`.execute`): this page then does not say which cell, since code
# that kept the inputs could pick the cell that stops or overruns to spell them out
AFTER_HIDDEN_MARK = "(after hidden tests had run)"

# (pattern of an instructor's problem, what the student reads instead; None: as it is)
PROBLEMS = [
    (re.compile(r"suspicious code"), ""),
    (re.compile(r"is not valid JSON|is an empty file"),
     "Your file was cut off (it is not a complete notebook), so it could not be graded: "
     "please resubmit it."),
    (re.compile(r"is not a notebook"),
     "Your file could not be opened as a Jupyter notebook: please resubmit the .ipynb "
     "file saved from JupyterLab."),
    (re.compile(r"is \d+ MB \(limit"),
     "Your file is too large to grade: clear all outputs (Edit > Clear Outputs of All "
     "Cells), save, and resubmit."),
    (re.compile(r"output over the limit"),
     "Your notebook printed more output than allowed; the rest of it was cut."),
    (re.compile(r"(ran over \d+ s|kernel died|stopped the kernel).*"
                + re.escape(AFTER_HIDDEN_MARK)),
     "A cell that ran after the hidden tests ran out of time or stopped your notebook's "
     "Python process; which one is not shown here, since it could reveal the hidden "
     "tests' inputs: run your notebook from the top to find it."),
    (re.compile(r"ran over \d+ s|kernel died|stopped the kernel"), None),
    (re.compile(r"restored|removed\)|ignored\)|wrongly named|replaced|is missing"), None),
]

STATUSES = {
    "missing": "No notebook of this assignment was found in what you handed in: "
               "please resubmit it.",
    "timeout": "A cell ran longer than the time limit and was stopped; the tests that "
               "needed it failed. Look for an endless loop or a very slow cell.",
    "kernel died": "Your notebook's Python process crashed while it ran (for example it "
                   "used too much memory); the tests that needed the cells after it failed.",
    "grader error": "Part of the grading failed on our side, not because of your work: "
                    "your instructor will look at it.",
    "test failed to run": "A test could not run, not because of your work: your instructor "
                          "will look at it.",
    "needs regrading": "You handed in a new version after this was graded: these results "
                       "are for your earlier version.",
}


# a step of the grader that raised ("nbgrader failed: ...", "merging the grades failed:
# ..."): its text is an exception's, which the student's code can write (an output that
# is not valid in a notebook is quoted whole), so the page says only "grader error"
GRADER_FAILURE = re.compile(r"[\w ]+ failed\b|no gradebook row")


def _problem_note(problem):
    if GRADER_FAILURE.match(problem):
        return ""
    for pattern, note in PROBLEMS:
        if pattern.search(problem):
            return problem if note is None else note
    return ""


def notes(status, problems):
    """The sentences of a student's page for an instructor's ``status`` and ``problems``."""
    found = []
    for part in (s.strip() for s in status.split(",")):
        if STATUSES.get(part) and STATUSES[part] not in found:
            found.append(STATUSES[part])
    for problem in problems:
        note = _problem_note(problem)
        if note and note not in found:
            found.append(note)
    return found
