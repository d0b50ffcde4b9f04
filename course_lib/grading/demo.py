"""``course demo`` (``make grade-demo``): the instructor's whole cycle, in a temporary copy.

It copies the course's nbgrader_config.py and solutions/ into a temporary folder, then
runs release, collect (the sample class in ``examples/ps4_mlp/``),
autograde, feedback and grades there, printing each step's table. Nothing in the
repository changes. The paths it prints are inside that temporary course, which is
deleted at the end (it says so) unless ``keep``.
"""

import shutil
import tempfile
from pathlib import Path

from course_lib.grading import autograde, feedback, grades, report, worker
from course_lib.grading.collect import collect_submissions

ASSIGNMENT = "ps4_mlp"


def _step(title):
    print(f"\n== {title}")


def run_demo(course, workers=2, unsafe=False, assignment=ASSIGNMENT, keep=False):
    """Run the cycle on ``course.root / "examples" / assignment``; return the results."""
    import subprocess
    import sys

    samples = course.root / "examples" / assignment
    tmp = Path(tempfile.mkdtemp(prefix="course-demo-"))
    try:
        root = tmp / "course"
        root.mkdir()
        shutil.copyfile(course.root / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(course.source(assignment), root / "solutions" / assignment)
        demo_course = type(course)(root)
        print(f"working in a temporary course, {root}: "
              + ("kept at the end" if keep else "deleted at the end (--keep keeps it)"))

        _step(f"course release {assignment}")
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                        "--force", "--log-level=WARN"], cwd=root, check=True)
        print(f"released {assignment} into assignments/{assignment}/")

        _step(f"course collect {assignment} examples/{assignment}")
        done = collect_submissions(demo_course, assignment, samples)
        print(report.format_table(done.rows(demo_course, assignment),
                                  headers=("student", "files collected", "submission")))

        if not unsafe:
            ok, why = worker.sandbox_status()
            if not ok:
                print(f"(the sandbox is not available here: {why}; grading with --unsafe)")
                unsafe = True
        _step(f"course autograde {assignment} --workers {workers}" + (" --unsafe" * unsafe))
        results = autograde.autograde(demo_course, assignment, workers=workers, unsafe=unsafe)
        print(autograde.table(results))

        _step(f"course feedback {assignment}")
        pages = feedback.write_feedback(demo_course, assignment)
        print(f"wrote {len(pages)} pages, e.g. {pages[0].relative_to(root)}")

        _step(f"course grades {assignment} -o grades.csv")
        header, _, found = grades.write_csv(demo_course, assignment, root / "grades.csv")
        print(found.table())
        print(f"wrote grades.csv with columns: {', '.join(header)}")
        return results
    finally:
        if keep:
            print(f"\nkept the temporary course: {tmp / 'course'}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            print(f"\ndeleted the temporary course {tmp / 'course'}")
