"""The instructor's cycle on a class of broken and hostile submissions (tests/grading_fixtures).

Every expected score is computed, never written down: an honest notebook graded alone in
its own course gives the reference, and part points come from the source notebook.
"""

import csv
import json
import os
import re
import shutil
import time

import grading_fixtures as fx
import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.cli import main
from course_lib.grading import autograde, cluster, student_view, worker
from course_lib.grading.autograde import failure_reason
from course_lib.grading.course import Course
from course_lib.grading.preflight import Received
from course_lib.grading.safe_feedback import is_test

TIMEOUT = "15"  # seconds per cell: stops the looping and sleeping cells, spares the rest
# the class is graded as courses grade it, in the sandbox (CI installs bubblewrap); the
# reference scores come from honest notebooks graded without it
SANDBOX = [] if worker.sandbox_status()[0] or os.environ.get("CI") else ["--unsafe"]
CLASS = [n for n in fx.SUBMISSIONS if n not in ("good", "wrong")] + ["good", "wrong"]
# collect takes notebooks only: these carry other files, so they are put in place by hand
BY_HAND = ("missing-notebook", "huge-file", "own-module", "shadowed-startup")


def run(root, *args):
    assert main(["--quiet", "--root", str(root), *args]) == 0


def points(release, *grade_ids):
    """Points of the named test cells, read from the notebook's nbgrader metadata."""
    cells = {c.metadata.nbgrader["grade_id"]: c for c in release.cells
             if "grade_id" in c.metadata.get("nbgrader", {})}
    return sum(cells[g].metadata.nbgrader["points"] for g in grade_ids)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = fx.make_course(tmp_path_factory.mktemp("released"))
    run(root, "release", fx.ASSIGNMENT)
    return root


@pytest.fixture(scope="module")
def release_nb(released):
    return nbformat.read(released / "assignments" / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb",
                         as_version=4)


def grade_alone(released, tmp_path_factory, release_nb, name):
    """Score of submission ``name`` graded on its own in a fresh copy of the course."""
    root = tmp_path_factory.mktemp(f"alone-{name}") / "course"
    shutil.copytree(released, root)
    fx.write_class(root.parent / "in", release_nb, [name])
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    run(root, "autograde", fx.ASSIGNMENT, "--unsafe", "--timeout", TIMEOUT)
    with Gradebook(Course(root).db_url) as gb:
        return gb.find_submission(fx.ASSIGNMENT, name).score


@pytest.fixture(scope="module")
def reference(released, tmp_path_factory, release_nb):
    return {name: grade_alone(released, tmp_path_factory, release_nb, name)
            for name in ("good", "wrong")}


@pytest.fixture(scope="module")
def graded_class(released, tmp_path_factory, release_nb):
    """The whole class collected and autograded with two workers; digests before/after."""
    root = tmp_path_factory.mktemp("class") / "course"
    shutil.copytree(released, root)
    fx.write_class(root.parent / "in", release_nb, CLASS)
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    # collect takes notebooks only; folders put under submitted/ by hand may hold anything
    for name in BY_HAND:
        shutil.rmtree(root / "submitted" / name, ignore_errors=True)
        shutil.copytree(root.parent / "in" / name, root / "submitted" / name / fx.ASSIGNMENT)
    before = fx.file_digests(root / "submitted")
    run(root, "autograde", fx.ASSIGNMENT, *SANDBOX, "--workers", "2", "--timeout", TIMEOUT)
    after = fx.file_digests(root / "submitted")
    course = Course(root)
    return course, course.load_status(fx.ASSIGNMENT), before, after


pytestmark = pytest.mark.slow


def test_good_alone_gets_every_point(reference, release_nb):
    total = points(release_nb, "test_square", "test_square_hidden", "test_mean")
    assert reference["good"] == total
    assert reference["wrong"] == total - points(release_nb, "test_square", "test_square_hidden")


def test_submitted_files_are_never_modified(graded_class):
    _, _, before, after = graded_class
    assert after == before
    assert "huge-file/tiny/weights.npy" in after


def test_every_student_has_a_gradebook_row(graded_class):
    course, status, _, _ = graded_class
    with Gradebook(course.db_url) as gb:
        graded = {s.student.id for s in gb.find_assignment(fx.ASSIGNMENT).submissions}
    assert graded == set(CLASS) == set(status)


def _expected(name, reference, release_nb):
    part1 = points(release_nb, "test_square", "test_square_hidden")
    good, wrong = reference["good"], reference["wrong"]
    return {
        "good": good, "wrong": wrong,
        "infinite-loop": good - part1, "slow-cell": good - part1,
        "ignores-interrupt": part1, "os-exit": part1, "segfault": part1, "memory-bomb": good,
        "deleted-test": wrong, "edited-test": wrong, "test-to-markdown": wrong,
        "duplicated-ids": good, "invalid-json": 0, "empty-file": 0, "missing-notebook": 0,
        "wrong-name": good, "extra-notebook": good, "huge-output": good, "huge-file": good,
        "patched-numpy": wrong, "patched-builtins": wrong, "blanked-cells": wrong,
        "hidden-traceback": wrong,
        "cached-answers": good - points(release_nb, "test_square_hidden"),
        "trace-hook": wrong, "code-swap": wrong, "forged-replies": 0,
        "lying-object": wrong, "hunts-hidden-tests": good, "noisy-correct": good,
        "forged-status": good, "big-return": wrong, "builtin-hijack": wrong,
        "giant-answer": wrong, "socket-flood": wrong, "agent-hijack": 0,
        "socket-stall": wrong, "shadowed-startup": wrong, "own-module": good,
        "runtime-dir-write": good,
        "leak-hidden-inputs": good - points(release_nb, "test_square_hidden"),
        "leak-across-tests": good - points(release_nb, "test_mean"),
        "leak-via-class-name": good - points(release_nb, "test_square_hidden"),
        "leak-via-exception-name": good - points(release_nb, "test_square_hidden"),
        "leak-via-check-message": good - points(release_nb, "test_mean"),
        "leak-via-quotes": good - points(release_nb, "test_mean"),
        "leak-via-length": good - points(release_nb, "test_mean"),
        "leak-via-execution-count": good, "leak-via-display-update": good,
        "leak-via-invalid-output": good, "display-update-flood": good,
        "leak-via-dead-cell": good - points(release_nb, "test_mean"),
        "empty-answers": 0,
    }[name]


@pytest.mark.parametrize("name", CLASS)
def test_score_is_what_it_would_be_alone(graded_class, reference, release_nb, name):
    course, status, _, _ = graded_class
    with Gradebook(course.db_url) as gb:
        score = gb.find_submission(fx.ASSIGNMENT, name).score
    assert score == _expected(name, reference, release_nb)
    assert status[name]["score"] == score


STATUS = {
    "good": "ok", "wrong": "ok", "infinite-loop": "timeout", "slow-cell": "timeout",
    "ignores-interrupt": "timeout",
    "os-exit": "kernel died", "segfault": "kernel died", "memory-bomb": "ok",
    "deleted-test": "repaired", "edited-test": "repaired", "test-to-markdown": "repaired",
    "duplicated-ids": "repaired", "invalid-json": "unreadable", "empty-file": "unreadable",
    "missing-notebook": "missing", "wrong-name": "repaired", "extra-notebook": "repaired",
    "huge-output": "ok", "huge-file": "repaired", "patched-numpy": "flagged",
    "patched-builtins": "flagged", "blanked-cells": "flagged", "hidden-traceback": "flagged",
    "cached-answers": "ok", "trace-hook": "flagged", "code-swap": "flagged",
    "forged-replies": "ok", "lying-object": "ok", "hunts-hidden-tests": "ok",
    "noisy-correct": "ok", "forged-status": "ok", "big-return": "ok", "builtin-hijack": "flagged",
    # importing the grader's own modules (course_lib.grading) is flagged for a person
    "giant-answer": "ok", "socket-flood": "flagged",
    "socket-stall": "test failed to run, flagged",
    "shadowed-startup": "ok", "own-module": "ok", "agent-hijack": "flagged",
    "runtime-dir-write": "ok", "leak-hidden-inputs": "ok", "leak-across-tests": "ok",
    "leak-via-class-name": "ok", "leak-via-exception-name": "ok",
    "leak-via-check-message": "ok", "leak-via-quotes": "ok", "leak-via-length": "ok",
    "leak-via-execution-count": "ok", "leak-via-display-update": "ok",
    "leak-via-invalid-output": "ok", "display-update-flood": "output cut",
    "leak-via-dead-cell": "kernel died", "empty-answers": "ok",
}
PROBLEM = {
    "ignores-interrupt": "ignored the interrupt, so the grader stopped the kernel",
    "deleted-test": "test cell 'test_square' deleted",
    "edited-test": "test cell 'test_square' edited",
    "test-to-markdown": "test cell 'test_square' turned into markdown",
    "duplicated-ids": "grade id 'square' used by 2 cells",
    "invalid-json": "not valid JSON", "empty-file": "empty file",
    "missing-notebook": "tiny.ipynb is missing",
    "wrong-name": "tiny (1).ipynb is wrongly named", "extra-notebook": "extra notebook",
    "huge-file": "weights.npy is 1024 MB", "patched-numpy": "assigns np.allclose",
    "patched-builtins": "assigns builtins.abs",
    "blanked-cells": "input_transformers_cleanup", "hidden-traceback": "showtraceback",
    "trace-hook": "assigns numpy.allclose", "code-swap": "__code__",
}


@pytest.mark.parametrize("name", CLASS)
def test_status_says_what_happened(graded_class, name):
    _, status, _, _ = graded_class
    assert status[name]["status"] == STATUS[name], status[name]["problems"]
    problems = "; ".join(status[name]["problems"])
    assert PROBLEM.get(name, "") in problems


def test_forged_error_names_give_no_status(graded_class):
    _, status, _, _ = graded_class
    assert "kernel died" not in "; ".join(status["forged-status"]["problems"])


def test_hidden_tests_never_reach_the_students_process(graded_class):
    course, _, _, _ = graded_class
    graded = nbformat.read(course.autograded(fx.ASSIGNMENT, "hunts-hidden-tests")
                           / f"{fx.ASSIGNMENT}.ipynb", as_version=4)
    printed = [o.get("text", "") for c in graded.cells if c.cell_type == "code"
               for o in c.outputs]
    assert not any("LEAKED" in text for text in printed), printed


def outputs_of(course, student):
    graded = nbformat.read(course.autograded(fx.ASSIGNMENT, student) / f"{fx.ASSIGNMENT}.ipynb",
                           as_version=4)
    return [o for c in graded.cells if c.cell_type == "code" for o in c.outputs]


def test_the_sandboxed_kernel_cannot_write_to_the_host_after_it_started(graded_class):
    course, _, _, _ = graded_class
    if SANDBOX:
        pytest.skip("graded without the sandbox here")
    errors = [o for o in outputs_of(course, "runtime-dir-write") if o.output_type == "error"]
    assert errors and errors[0].ename == "PermissionError"


@pytest.mark.parametrize("name", ["giant-answer", "socket-flood"])
def test_a_crafted_answer_cannot_take_the_graders_memory(graded_class, name):
    _, status, _, _ = graded_class
    assert status[name]["grader_peak_mb"] < 1000


def test_a_flood_on_the_agents_socket_fails_only_that_call(graded_class):
    course, _, _, _ = graded_class
    errors = {c.metadata.nbgrader["grade_id"]: o.evalue
              for c in nbformat.read(course.autograded(fx.ASSIGNMENT, "socket-flood")
                                     / f"{fx.ASSIGNMENT}.ipynb", as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id")
              for o in c.get("outputs", []) if o.output_type == "error"}
    assert "did not answer the grader" in errors["test_square"]
    assert "test_mean" not in errors


@pytest.mark.parametrize("name", ["leak-hidden-inputs", "leak-via-class-name",
                                  "leak-via-exception-name"])
def test_a_hidden_tests_inputs_do_not_leak_through_what_the_student_sends(graded_class,
                                                                          name):
    course, _, _, _ = graded_class
    texts = [o.get("evalue", "") + o.get("text", "") for o in outputs_of(course, name)]
    assert not any("LEAK" in t for t in texts), texts
    assert any("this is a hidden test" in t for t in texts)


def test_a_hidden_tests_inputs_kept_by_the_student_do_not_leak_through_a_later_test(
        graded_class):
    course, _, _, _ = graded_class
    texts = [o.get("evalue", "") + o.get("text", "")
             for o in outputs_of(course, "leak-across-tests")]
    assert not any("LEAK" in t or "-2.0" in t for t in texts), texts
    assert any("hidden tests ran before this one" in t for t in texts)


@pytest.mark.parametrize("name, leak", [("leak-via-check-message", "555"),
                                        ("leak-via-quotes", "v5p0"),
                                        ("leak-via-length", "1815")])
def test_a_kept_input_does_not_leak_through_a_later_tests_own_message(graded_class, name,
                                                                      leak):
    course, _, _, _ = graded_class
    texts = [o.get("evalue", "") + o.get("text", "") for o in outputs_of(course, name)]
    assert not any(leak in t for t in texts), texts
    assert any("hidden tests ran before this one" in t for t in texts), texts


@pytest.mark.parametrize("name", ["leak-via-display-update", "leak-via-invalid-output"])
def test_a_kept_input_does_not_leak_through_outputs_of_other_cells(graded_class, name):
    course, status, _, _ = graded_class
    outputs = json.dumps(outputs_of(course, name))  # the student's code holds "LEAK"
    assert "LEAK" not in outputs and "-2.0, 5.0" not in outputs
    run(course.root, "feedback", fx.ASSIGNMENT)
    page = (course.feedback(fx.ASSIGNMENT, name) / f"{fx.ASSIGNMENT}.html").read_text()
    assert "LEAK" not in page and "-2.0, 5.0" not in page
    assert not any("LEAK" in p for p in status[name]["problems"]), status[name]["problems"]


def test_an_invalid_output_is_dropped_with_a_note(graded_class):
    course, _, _, _ = graded_class
    texts = [o.get("text", "") for o in outputs_of(course, "leak-via-invalid-output")]
    said = [t for t in texts if "dropped an output of this cell that a notebook cannot hold" in t]
    assert len(said) == 1, texts  # once a cell, however many it drops


def test_rewriting_displays_counts_against_the_output_caps(graded_class):
    course, status, _, _ = graded_class
    graded = course.autograded(fx.ASSIGNMENT, "display-update-flood") / f"{fx.ASSIGNMENT}.ipynb"
    assert graded.stat().st_size < 2_000_000  # 1,000,000 characters a cell, plus markup
    assert any("output over the limit" in p for p in status["display-update-flood"]["problems"])


def test_a_kept_input_does_not_leak_through_the_prompt_numbers(graded_class):
    course, _, _, _ = graded_class
    graded = nbformat.read(course.autograded(fx.ASSIGNMENT, "leak-via-execution-count")
                           / f"{fx.ASSIGNMENT}.ipynb", as_version=4)
    answers = [c for c in graded.cells
               if c.cell_type == "code" and c.source.strip() and not is_test(c)]
    counts = [c.execution_count for c in answers]
    assert counts == list(range(1, len(answers) + 1)), counts  # the grader's own numbers
    results = [o for c in answers for o in c.outputs if o.output_type == "execute_result"]
    assert results and all(o.execution_count == c.execution_count for c in answers
                           for o in c.outputs if o.output_type == "execute_result")
    assert "555005" not in nbformat.writes(graded)


def test_a_kept_input_does_not_leak_through_which_cell_stopped_the_kernel(graded_class):
    course, status, _, _ = graded_class
    entry = status["leak-via-dead-cell"]
    assert "the kernel died in cell" in "; ".join(entry["problems"])  # the instructor's
    page = " ".join(student_view.notes(entry["status"], entry["problems"]))  # the student's
    assert "which one is not shown" in page
    assert not re.search(r"cell \d", page) and "re-ran" not in page
    texts = [o.get("evalue", "") + o.get("text", "")  # the notebook the feedback shows
             for o in outputs_of(course, "leak-via-dead-cell")]
    assert any("a cell after the hidden tests killed the kernel" in t for t in texts), texts
    assert not any(re.search(r"cell \d|\(mean\)", t) for t in texts), texts


def test_data_that_cannot_cross_fails_the_test_and_says_why(graded_class):
    course, _, _, _ = graded_class
    graded = nbformat.read(course.autograded(fx.ASSIGNMENT, "lying-object")
                           / f"{fx.ASSIGNMENT}.ipynb", as_version=4)
    errors = {c.metadata.nbgrader["grade_id"]: o.evalue for c in graded.cells
              if c.metadata.get("nbgrader", {}).get("grade_id") for o in c.get("outputs", [])
              if o.output_type == "error"}
    assert "square returned a Liar object" in errors["test_square"]
    big = nbformat.read(course.autograded(fx.ASSIGNMENT, "big-return")
                        / f"{fx.ASSIGNMENT}.ipynb", as_version=4)
    assert any("MiB" in o.get("evalue", "") for c in big.cells for o in c.get("outputs", []))


def test_feedback_shows_hidden_failures_not_hidden_code(graded_class, release_nb, tmp_path):
    course, _, _, _ = graded_class
    run(course.root, "feedback", fx.ASSIGNMENT)
    page = (course.feedback(fx.ASSIGNMENT, "wrong") / f"{fx.ASSIGNMENT}.html").read_text()
    source = course.source_notebook(fx.ASSIGNMENT, fx.ASSIGNMENT)
    hidden = next(c.source for c in source.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square_hidden")
    # the hidden test's failure message, without the numbers that are its inputs
    assert "square(…) should be …" in page and "square(-2)" not in page
    for line in hidden.splitlines()[2:-1]:  # its code, between the BEGIN/END markers
        assert line not in page
    assert "np.array([-2.0, 5.0])" not in page
    assert "Part 1: square (2 points): 0 / 2" in page
    for name in CLASS:
        assert (course.feedback(fx.ASSIGNMENT, name) / f"{fx.ASSIGNMENT}.html").is_file()


def test_grades_csv_has_every_student(graded_class, tmp_path):
    course, status, _, _ = graded_class
    out = tmp_path / "grades.csv"
    run(course.root, "grades", fx.ASSIGNMENT, "-o", str(out))
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == set(CLASS)
    with Gradebook(course.db_url) as gb:
        for name, row in rows.items():
            assert float(row["score"]) == gb.find_submission(fx.ASSIGNMENT, name).score
            assert row["status"] == status[name]["status"]


def test_a_lost_worker_costs_only_its_own_student(
        released, tmp_path_factory, release_nb, reference, monkeypatch):
    root = tmp_path_factory.mktemp("lost-worker") / "course"
    shutil.copytree(released, root)
    fx.good(root.parent / "in" / fx.VICTIM, release_nb)
    fx.good(root.parent / "in" / "survivor", release_nb)
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    monkeypatch.setattr(cluster, "grade_student", fx.grade_or_die)  # runs on the workers
    run(root, "autograde", fx.ASSIGNMENT, *SANDBOX, "--workers", "2", "--timeout", TIMEOUT)
    status = Course(root).load_status(fx.ASSIGNMENT)
    assert status[fx.VICTIM]["status"] == "grader error"
    assert "lost twice" in "; ".join(status[fx.VICTIM]["problems"])
    assert status[fx.VICTIM]["score"] == 0
    assert status["survivor"]["score"] == reference["good"]
    assert status["survivor"]["status"] == "ok"


def test_a_grading_process_that_dies_costs_only_its_own_student(
        released, tmp_path_factory, release_nb, reference):
    """On one worker: its grading process dies; that student only, then a new process."""
    course = Course(released)
    source = course.source_notebook(fx.ASSIGNMENT, fx.ASSIGNMENT)
    limits = worker.Limits(cell_timeout=int(TIMEOUT))
    bundle, _ = autograde._bundle(course, fx.ASSIGNMENT, {fx.ASSIGNMENT: source}, limits,
                                  True)
    plugin = cluster.GraderPlugin(bundle)
    plugin.setup()
    try:
        submission = nbformat.writes(fx.answer(release_nb, fx.GOOD)).encode()
        jobs = [cluster.Job(name, fx.ASSIGNMENT, Received({f"{fx.ASSIGNMENT}.ipynb": submission}))
                for name in ("first", "second")]
        plugin.grader.proc.kill()  # dies unseen, as a crash would
        plugin.grader.proc.wait()
        lost, graded = plugin.grade(jobs[0]), plugin.grade(jobs[1])
    finally:
        plugin.teardown()
    assert lost.returncode == 1 and lost.record is None
    assert "the grading process" in lost.log
    assert graded.returncode == 0 and set(graded.graded) == {fx.ASSIGNMENT}
    scores = [g["auto_score"] for nb in graded.record["notebooks"] for g in nb["grades"].values()]
    assert sum(scores) == reference["good"]


def test_a_failed_grading_is_explained_by_its_first_exception():
    log = "\n".join([
        "[Autograde | INFO] Converting notebook submitted/zed/tiny/tiny.ipynb",
        "Traceback (most recent call last):",
        '  File "client.py", line 791, in _async_poll_for_reply',
        "nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed",
        "[Autograde | ERROR] There was an error processing assignment 'tiny' for student 'zed'",
        "[Autograde | ERROR] autograde failed:",
        "Traceback (most recent call last):",
        "nbgrader.converters.base.NbGraderException: Please see the the above traceback for "
        "details on the specific errors on the above failures.",
    ])
    assert failure_reason(log) == log.splitlines()[3]
    assert failure_reason("[ERROR] the grading process died (exit -9)") == (
        "[ERROR] the grading process died (exit -9)")
    assert failure_reason("[Autograde | INFO] done") is None


# What a grading process may hold beyond its own baseline, whatever a submission emits:
# 32 queued kernel messages of at most 8 MiB (execute.ZMQ_QUEUE, MAX_ZMQ_MESSAGE) plus the
# outputs kept (16 M characters a notebook).
OUTPUT_MEMORY_BOUND_MB = 32 * 8 + 64


def test_a_gigabyte_of_output_is_cut_and_the_grader_memory_stays_bounded(
        released, tmp_path_factory, release_nb, reference):
    root = tmp_path_factory.mktemp("gigabyte") / "course"
    shutil.copytree(released, root)
    fx.good(root.parent / "in" / "a-quiet", release_nb)
    fx.emits_a_gigabyte(root.parent / "in" / "b-loud", release_nb)
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    run(root, "autograde", fx.ASSIGNMENT, *SANDBOX, "--workers", "1", "--timeout", "60")
    status = Course(root).load_status(fx.ASSIGNMENT)
    quiet, loud = status["a-quiet"], status["b-loud"]  # graded in this order, one process
    assert loud["score"] == reference["good"]
    assert loud["status"] == "output cut"
    assert loud["grader_peak_mb"] - quiet["grader_peak_mb"] < OUTPUT_MEMORY_BOUND_MB
    graded = Course(root).autograded(fx.ASSIGNMENT, "b-loud") / f"{fx.ASSIGNMENT}.ipynb"
    assert graded.stat().st_size < 20 * 2**20


MALFORMED_STATUS = {"deep-nesting": "unreadable", "not-a-notebook": "unreadable",
                    "lone-surrogates": "repaired", "odd-metadata": "repaired",
                    "test-as-solution": "repaired", "null-bytes": "ok"}


def test_malformed_files_cost_only_their_own_student(
        released, tmp_path_factory, release_nb, reference, tmp_path):
    root = tmp_path_factory.mktemp("malformed") / "course"
    shutil.copytree(released, root)
    names = [*fx.MALFORMED, "good"]
    fx.write_class(root.parent / "in", release_nb, names)
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    run(root, "autograde", fx.ASSIGNMENT, *SANDBOX, "--timeout", TIMEOUT)
    status = Course(root).load_status(fx.ASSIGNMENT)
    assert {n: status[n]["status"] for n in fx.MALFORMED} == MALFORMED_STATUS
    expected = {"deep-nesting": 0, "not-a-notebook": 0, "good": reference["good"],
                "lone-surrogates": reference["good"], "odd-metadata": reference["good"],
                "test-as-solution": reference["wrong"], "null-bytes": reference["good"]}
    assert {n: status[n]["score"] for n in names} == expected
    run(root, "feedback", fx.ASSIGNMENT)
    run(root, "grades", fx.ASSIGNMENT, "-o", str(tmp_path / "grades.csv"))
    rows = {r["student"] for r in csv.DictReader((tmp_path / "grades.csv").open())}
    assert rows == set(names)
    for name in names:
        assert (Course(root).feedback(fx.ASSIGNMENT, name) / f"{fx.ASSIGNMENT}.html").is_file()


def test_a_worker_without_the_sandbox_refuses_to_grade(released, monkeypatch):
    from course_lib.grading import sandbox

    course = Course(released)
    source = course.source_notebook(fx.ASSIGNMENT, fx.ASSIGNMENT)
    bundle, _ = autograde._bundle(course, fx.ASSIGNMENT, {fx.ASSIGNMENT: source},
                                  worker.Limits(), False)
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: (False, "bwrap not found"))
    plugin = cluster.GraderPlugin(bundle)
    with pytest.raises(RuntimeError, match="refusing to run student code without the "
                                           "sandbox: bwrap not found"):
        plugin.setup()


def test_student_timeout_stops_one_slow_student_and_the_class_goes_on(
        released, tmp_path_factory, release_nb, reference):
    """Every cell of ``sleepy`` ends within --timeout, but together they take longer than
    --student-timeout: sleepy is stopped there (0, ``timeout``), zoe is graded as usual."""
    root = tmp_path_factory.mktemp("student-timeout") / "course"
    shutil.copytree(released, root)
    fx.good(root.parent / "in" / "zoe", release_nb)
    fx.slow_parts(root.parent / "in" / "sleepy", release_nb)
    run(root, "collect", fx.ASSIGNMENT, str(root.parent / "in"))
    start = time.monotonic()
    run(root, "autograde", fx.ASSIGNMENT, *SANDBOX, "--workers", "1", "--timeout", "60",
        "--student-timeout", "12")
    elapsed = time.monotonic() - start
    status = Course(root).load_status(fx.ASSIGNMENT)
    assert status["sleepy"]["status"] == "timeout"
    assert status["sleepy"]["score"] == 0
    assert any(re.fullmatch(r"grading stopped after 1[2-4] s", problem)
               for problem in status["sleepy"]["problems"]), status["sleepy"]["problems"]
    assert status["zoe"]["status"] == "ok" and status["zoe"]["score"] == reference["good"]
    assert elapsed < 2 * fx.SLOW_PART_SECONDS  # sleepy's cells alone need longer than that


@pytest.mark.parametrize("option", ["--student-timeout", "--timeout", "--workers",
                                    "--memory-mb", "--grader-memory-mb"])
@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_limits_must_be_whole_numbers_above_zero(released, capsys, option, value):
    with pytest.raises(SystemExit) as stopped:
        main(["--quiet", "--root", str(released), "autograde", fx.ASSIGNMENT, option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: expected a whole number above 0, got {value!r}" in \
        capsys.readouterr().err


def test_a_grader_failure_is_not_quoted_on_the_students_page():
    """Found by a hostile review: an exception's text in a problem ("nbgrader failed: ...
    NotebookValidationError: {'replaced': ...}", written by the student's code) was shown
    as it was when it held a word the page passes on ("replaced", "kernel died")."""
    problems = ["nbgrader failed: nbformat.validator.NotebookValidationError: {'replaced': "
                "'LEAK [[-2.0, 5.0]]'} is not valid under any of the given schemas",
                "merging the grades failed: ValueError: the kernel died LEAK",
                "no gradebook row: KeyError: replaced LEAK",
                "tiny: test cell 'test_square' edited (restored)"]
    page = student_view.notes("grader error, repaired", problems)
    assert not any("LEAK" in note for note in page), page
    assert "tiny: test cell 'test_square' edited (restored)" in page
    assert student_view.STATUSES["grader error"] in page
