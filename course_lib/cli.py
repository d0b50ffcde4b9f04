"""``course``: the instructor's command line for PS4, built on nbgrader.

    course release ps4_mlp [--exchange]     solutions/ -> assignments/ and the gradebook
                                            (--exchange: and to the hub's Assignments panel)
    course collect ps4_mlp ZIP_OR_DIR       -> submitted/<student>/ps4_mlp/
    course collect ps4_mlp --exchange       the same, from the hub's exchange
    course autograde ps4_mlp [--workers N] [--scheduler ADDRESS] [--force] [--unsafe]
    course feedback ps4_mlp [--exchange]    -> feedback/<student>/ps4_mlp/*.html
                                            (--exchange: and back to the students)
    course grades ps4_mlp [-o grades.csv] [--force]
    course remove-student NAME              -> submitted/.removed/<time>-NAME/
    course demo                             the whole cycle on examples/, in a temp copy

Run it from the course root (the folder with nbgrader_config.py) or pass --root.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import course_lib.grading.lean  # noqa: F401 (first: it makes the imports below faster)
from course_lib.grading import escape, report
from course_lib.grading.course import Course, CourseError

# Each command imports what it needs (nbgrader, Dask: about 1.5 s). Dask's local workers
# are spawned processes that import this module again, and need none of it.


def cmd_release(course, args):
    from course_lib.grading import exchange

    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment,
                    "--force"], cwd=course.root, check=True)
    folder = course.release(args.assignment)
    print(f"released {args.assignment}: {', '.join(sorted(p.name for p in folder.iterdir()))}"
          f" in {folder.relative_to(course.root)}/")
    if args.exchange:
        outbound = exchange.release(course, args.assignment)
        print(f"published to the exchange: {escape.for_terminal(outbound)} (students see it "
              "in JupyterLab's Assignments panel)")


def cmd_collect(course, args):
    from course_lib.grading import collect, exchange

    if (args.source is None) == (not args.exchange):
        raise CourseError("collect needs one source: a folder or zip, or --exchange")
    done = (exchange.collect(course, args.assignment) if args.exchange
            else collect.collect_submissions(course, args.assignment, args.source))
    print(report.format_table(done.rows(course, args.assignment),
                              headers=("student", "files collected", "submission")))
    for line in done.ignored:
        print(f"ignored {escape.for_terminal(line)}")
    print(f"collected {len(done.students)} students into "
          f"{course.submitted(args.assignment).relative_to(course.root)}/")


def cmd_autograde(course, args):
    from course_lib.grading import autograde, collect, worker

    limits = worker.Limits(cell_timeout=args.timeout, student_timeout=args.student_timeout,
                           memory_mb=args.memory_mb, grader_memory_mb=args.grader_memory_mb)
    results = autograde.autograde(course, args.assignment, students=args.student,
                                  workers=args.workers, limits=limits, unsafe=args.unsafe,
                                  progress=not args.quiet, force=args.force,
                                  scheduler=args.scheduler or os.environ.get(
                                      "DASK_SCHEDULER_ADDRESS"))
    print(autograde.table(results))
    for name, why in collect.needs_regrading(course, args.assignment).items():
        print(f"needs regrading: {escape.for_terminal(name)} ({escape.for_terminal(why)}): run "
              f"`course autograde {args.assignment} --student {escape.for_terminal(name)}`")
    for name, why in course.invalid_student_folders(args.assignment):
        print(f"not graded: the folder submitted/{escape.for_terminal(name)} ({why})")


def _print_results(assignment, found):
    """The instructor's table of ``found`` (a ClassResults), then who was left out."""
    print(found.table())
    if found.missing:
        print(found.missing_note(assignment))


def cmd_feedback(course, args):
    from course_lib.grading import exchange, feedback, results

    replaced = []
    paths = feedback.write_feedback(course, args.assignment, progress=not args.quiet,
                                    replaced=replaced)
    _print_results(args.assignment, results.class_results(course, args.assignment))
    print(f"wrote {len(paths)} feedback pages under {course.root / 'feedback'}/")
    if replaced:
        print(f"(replaced {len(replaced)} pages written by nbgrader's generate_feedback)")
    if args.exchange:
        graded = sorted({p.parent.parent.name for p in paths})
        released, skipped = exchange.release_feedback(course, args.assignment, graded)
        print(f"returned feedback through the exchange to {len(released)} students")
        if skipped:
            print("not through the exchange (collected another way): "
                  + ", ".join(map(escape.for_terminal, skipped)))


def cmd_grades(course, args):
    from course_lib.grading import grades

    _, _, found = grades.write_csv(course, args.assignment, args.output, force=args.force)
    _print_results(args.assignment, found)
    print(f"wrote {args.output}")


def cmd_remove_student(course, args):
    from course_lib.grading import remove

    done, kept = remove.remove_student(course, args.name)
    for line in done:
        print(line)
    print(f"kept everything in {kept.relative_to(course.root)}/ (to undo: move the "
          f"folders back, then `course autograde ASSIGNMENT --student NAME`)")


def cmd_demo(course, args):
    from course_lib.grading import demo

    demo.run_demo(course, workers=args.workers, unsafe=args.unsafe, keep=args.keep)


def positive_int(text):
    """argparse type: a whole number above 0 (a count, seconds or MB)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def build_parser():
    from course_lib.grading.worker import Limits

    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path,
                        help="course root (default: the nearest folder at or above the "
                             "current one holding nbgrader_config.py)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help, assignment=True):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if assignment:
            p.add_argument("assignment", help="e.g. ps4_mlp (a folder of solutions/)")
        return p

    p = add("release", cmd_release, "generate the student version into "
            "assignments/ASSIGNMENT/ and record its cells and points in gradebook.db")
    p.add_argument("--exchange", action="store_true",
                   help="also publish it to nbgrader's exchange (Exchange.root), where "
                        "students on the hub fetch it")
    p = add("collect", cmd_collect, "copy submissions into submitted/<student>/ASSIGNMENT/ "
            "(a resubmission keeps the previous one in submitted/<student>/.history/)")
    p.add_argument("source", type=Path, nargs="?",
                   help="a folder of student folders, a folder of LMS files, or a zip of "
                        "either")
    p.add_argument("--exchange", action="store_true",
                   help="collect from nbgrader's exchange instead: each student's latest "
                        "submission that they own")
    p = add("autograde", cmd_autograde, "grade every submission into autograded/ and "
            "gradebook.db; the class report goes to autograded/ASSIGNMENT.status.json")
    demo = add("demo", cmd_demo, "the whole cycle on examples/ in a temporary copy, deleted "
               "at the end unless --keep", assignment=False)
    for q in (p, demo):
        q.add_argument("--workers", type=positive_int, default=2,
                       help="students graded at once (default: 2)")
        q.add_argument("--unsafe", action="store_true",
                       help="run student code without the sandbox (resource limits only)")
    demo.add_argument("--keep", action="store_true",
                      help="keep the temporary course and print its path")
    p.add_argument("--student", action="append",
                   help="grade only this student (repeatable; default: everyone collected)")
    p.add_argument("--timeout", type=positive_int, default=60,
                   help="seconds per cell (default: 60)")
    p.add_argument("--student-timeout", type=positive_int, default=Limits.student_timeout,
                   help="seconds one student's grading may take in all, kernel restarts "
                        "included; past it the student scores 0 with status timeout and the "
                        f"class goes on (default: {Limits.student_timeout})")
    p.add_argument("--memory-mb", type=positive_int, default=2048,
                   help="kernel memory in MB (default: 2048)")
    p.add_argument("--grader-memory-mb", type=positive_int, default=Limits.grader_memory_mb,
                   help="memory in MB of the process that reads and grades each student's "
                        f"notebooks (default: {Limits.grader_memory_mb})")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on this Dask cluster, e.g. tcp://HOST:8786 (default: "
                        "$DASK_SCHEDULER_ADDRESS, else a local cluster of --workers "
                        "processes)")
    p.add_argument("--force", action="store_true",
                   help="regrade everyone (default: skip students already graded from the "
                        "same submission, tests and settings, so a stopped run resumes)")
    p = add("feedback", cmd_feedback, "write one HTML page per student and notebook to "
            "feedback/<student>/ASSIGNMENT/ (no hidden test code, no traceback)")
    p.add_argument("--exchange", action="store_true",
                   help="also return each page through nbgrader's exchange (students "
                        "fetch it in the Assignments panel)")
    p = add("grades", cmd_grades, "export grades as CSV, one row per student")
    p.add_argument("-o", "--output", type=Path, default=Path("grades.csv"),
                   help="the CSV file to write (default: grades.csv in the current folder)")
    p.add_argument("--force", action="store_true",
                   help="replace the output file if it exists (default: refuse)")
    p = add("remove-student", cmd_remove_student, "take a student out of the gradebook, the "
            "reports and submitted/, autograded/, feedback/; everything is kept in "
            "submitted/.removed/", assignment=False)
    p.add_argument("name", help="the student id, as in submitted/<student>/")
    return parser


def _put_venv_on_path():
    """nbgrader's Gradebook runs the ``alembic`` script: find it next to this Python."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def main(argv=None):
    args = build_parser().parse_args(argv)
    _put_venv_on_path()
    try:
        course = Course(args.root.resolve()) if args.root else Course.find()
        args.func(course, args)
    except CourseError as e:
        print(f"course: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"course: {' '.join(map(str, e.cmd[:4]))}... failed (exit {e.returncode})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
