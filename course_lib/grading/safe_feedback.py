"""nbgrader's own feedback made safe: no hidden test's code, no traceback.

nbgrader's ``generate_feedback`` (the command, and the formgrader's *Generate Feedback*
button, which runs the same converter) renders the autograded notebook as it is: its
test cells carry the source nbgrader restored from the gradebook, hidden tests
included, and their error outputs may carry tracebacks that quote that code.
``nbgrader_config.py`` puts :class:`HideTests` first in
``GenerateFeedback.preprocessors``, so that every page nbgrader writes shows, for each
test cell:

* the source the student was given: the cell of the same grade id in the *released*
  notebook (``assignments/<assignment>/<notebook>.ipynb``); a test cell the release does
  not have shows a placeholder, never the graded source;
* its error output only, reduced to ``ename: evalue`` (the test's message); what a
  test printed is dropped.

Answer cells are left as the student wrote and ran them, with one exception: once a test
cell with hidden tests has run (its graded source is not the released one), the outputs
of every later cell that is not a test are dropped. The student's functions saw the
hidden tests' inputs, and a later cell could print what they kept of them.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from course_lib.grading.course import Course

PLACEHOLDER = "# (this test's code is not shown)"


def is_test(cell):
    """A cell nbgrader grades automatically: graded, and not an answer."""
    return is_grade(cell) and not is_solution(cell)


def released_sources(release):
    """``{grade_id: source}`` of the test cells of a released notebook."""
    return {c.metadata.nbgrader["grade_id"]: c.source for c in release.cells if is_test(c)}


AFTER_HIDDEN = ("(the output of this cell is not shown: it ran after hidden tests, "
                "whose inputs your code could have kept)\n")


def hide_tests(nb, released):
    """Give each test cell of ``nb`` its released source and its bare error; drop the
    outputs of other cells after the first hidden test (see above); return ``nb``."""
    after_hidden = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not is_test(cell):
            if after_hidden and cell.get("outputs"):
                cell.outputs = [new_output("stream", name="stdout", text=AFTER_HIDDEN)]
            continue
        shown = released.get(cell.metadata.nbgrader.get("grade_id"), PLACEHOLDER)
        after_hidden = after_hidden or cell.source != shown
        cell.source = shown
        cell.outputs = [
            new_output("error", ename=out.get("ename", ""), evalue=out.get("evalue", ""),
                       traceback=[f"{out.get('ename', '')}: {out.get('evalue', '')}"])
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    return nb


class HideTests(NbGraderPreprocessor):
    """The preprocessor of ``GenerateFeedback`` that applies :func:`hide_tests`.

    nbgrader converts with the course root as the working directory; the released
    notebook is read from there.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = (Course.find(Path.cwd()).release(info["assignment"])
                / f"{info['notebook']}.ipynb")
        released = released_sources(nbformat.read(path, as_version=4)) if path.is_file() else {}
        return hide_tests(nb, released), resources
