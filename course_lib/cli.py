"""``course``: the instructor's command line for PS4, built on nbgrader.

    course release ps4_mlp                  solutions/ -> assignments/ and the gradebook
    course collect ps4_mlp ZIP_OR_DIR       -> submitted/<student>/ps4_mlp/
    course autograde ps4_mlp [--workers N] [--unsafe]
    course feedback ps4_mlp                 -> feedback/<student>/ps4_mlp/*.html
    course grades ps4_mlp -o grades.csv
    course demo                             the whole cycle on examples/, in a temp copy

Run it from the course root (the folder with nbgrader_config.py) or pass --root.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import course_lib.grading.lean  # noqa: F401 (first: it makes the imports below faster)
from course_lib.grading import autograde, collect, escape, feedback, grades, report, worker
from course_lib.grading.course import Course, CourseError


def cmd_release(course, args):
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment,
                    "--force"], cwd=course.root, check=True)
    folder = course.release(args.assignment)
    print(f"released {args.assignment}: {', '.join(sorted(p.name for p in folder.iterdir()))}"
          f" in {folder.relative_to(course.root)}/")


def cmd_collect(course, args):
    students = collect.collect(course, args.assignment, args.source)
    rows = []
    for s in students:
        files = sorted(p.name for p in course.submitted(args.assignment, s).iterdir())
        rows.append((s, ", ".join(files)))
    print(report.format_table(rows, headers=("student", "files collected")))


def cmd_autograde(course, args):
    limits = worker.Limits(cell_timeout=args.timeout, memory_mb=args.memory_mb)
    results = autograde.autograde(course, args.assignment, students=args.student,
                                  workers=args.workers, limits=limits, unsafe=args.unsafe,
                                  progress=not args.quiet)
    print(autograde.table(results))
    for name, why in course.invalid_student_folders(args.assignment):
        print(f"not graded: the folder submitted/{escape.for_terminal(name)} ({why})")


def _status_rows(course, assignment):
    header, rows = grades.grade_rows(course, assignment)
    return [(r[0], report.score_text(r[1], r[2]), r[-2], r[-1]) for r in rows]


def cmd_feedback(course, args):
    paths = feedback.write_feedback(course, args.assignment, progress=not args.quiet)
    print(report.format_table(_status_rows(course, args.assignment)))
    print(f"wrote {len(paths)} feedback pages under {course.root / 'feedback'}/")


def cmd_grades(course, args):
    grades.write_csv(course, args.assignment, args.output)
    print(report.format_table(_status_rows(course, args.assignment)))
    print(f"wrote {args.output}")


def cmd_demo(course, args):
    from course_lib.grading import demo

    demo.run_demo(course, workers=args.workers, unsafe=args.unsafe, keep=args.keep)


def build_parser():
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="course root (default: found from cwd)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help):
        p = sub.add_parser(name, help=help)
        p.set_defaults(func=func)
        if name != "demo":
            p.add_argument("assignment", help="e.g. ps4_mlp")
        return p

    add("release", cmd_release, "generate the student version and fill the gradebook")
    p = add("collect", cmd_collect, "copy submissions into submitted/")
    p.add_argument("source", type=Path, help="a folder of student folders, or an LMS zip")
    p = add("autograde", cmd_autograde, "grade every submission")
    for q in (p, add("demo", cmd_demo, "the whole cycle on examples/ in a temporary copy")):
        q.add_argument("--workers", type=int, default=2, help="students graded at once")
        q.add_argument("--unsafe", action="store_true",
                       help="run student code without the sandbox (resource limits only)")
    sub.choices["demo"].add_argument("--keep", action="store_true",
                                     help="keep the temporary course and print its path")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    p.add_argument("--memory-mb", type=int, default=2048, help="kernel memory (default 2048)")
    add("feedback", cmd_feedback, "HTML feedback per student (no hidden test code)")
    p = add("grades", cmd_grades, "export grades as CSV")
    p.add_argument("-o", "--output", type=Path, default=Path("grades.csv"))
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
