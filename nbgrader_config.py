"""nbgrader's steps mapped onto this repo (run nbgrader from the repo root).

solutions/<assignment>/   the source: PS4 with solutions and hidden tests
assignments/<assignment>/ the release that students get (generated, committed)
submitted/, autograded/, feedback/, gradebook.db   working state, git-ignored
"""

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from course_lib.grading.safe_feedback import HideTests

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Each cell of a submission gets this many seconds; the whole PS4 solution runs in
# well under 20 s, so a slow or looping cell is stopped without holding up the class.
c.Execute.timeout = 60
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader's own feedback (`nbgrader generate_feedback`, the formgrader's Generate Feedback
# button) shows each test cell as released and its error message only: never a hidden
# test's code or a traceback (course_lib/grading/safe_feedback.py). `course feedback`
# writes its own page to the same file: both are safe to hand to students.
c.GenerateFeedback.preprocessors = [HideTests, GetGrades, CSSHTMLHeaderPreprocessor]
