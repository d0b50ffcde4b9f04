"""Preflight, collect and the tests-file helpers on the generated submissions: no kernel runs.

Each case is one writer in tests/grading_fixtures.py; the source and release notebooks
are the fixture's, and the release is made from the source the way nbgrader does.
"""

import os
import zipfile

import grading_fixtures as fx
import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from course_lib.cli import main
from course_lib.grading import collect, preflight
from course_lib.grading.course import Course
from course_lib.grading.execute import trusted_imports

MAX_BYTES = 50 * 2**20


@pytest.fixture(scope="module")
def notebooks():
    source = fx.source_notebook()
    release = nbformat.from_dict(source)
    resources = {}
    for pp in (ClearSolutions(), ClearHiddenTests()):
        release, resources = pp.preprocess(release, resources)
    return {fx.ASSIGNMENT: source}, {fx.ASSIGNMENT: release}


def check(tmp_path, notebooks, name):
    sources, releases = notebooks
    folder = tmp_path / name
    fx.SUBMISSIONS[name](folder, releases[fx.ASSIGNMENT])
    before = fx.file_digests(folder)
    result = preflight.inspect_submission(folder, sources, releases, MAX_BYTES)
    assert fx.file_digests(folder) == before  # preflight only reads
    return result


def test_good_submission_has_no_problem(tmp_path, notebooks):
    result = check(tmp_path, notebooks, "good")
    assert result.problems == [] and list(result.notebooks) == [fx.ASSIGNMENT]


@pytest.mark.parametrize("name, field, words", [
    ("invalid-json", "unreadable", "not valid JSON"),
    ("empty-file", "unreadable", "empty file"),
    ("missing-notebook", "missing", "tiny.ipynb is missing"),
])
def test_ungradable_notebooks_are_named(tmp_path, notebooks, name, field, words):
    result = check(tmp_path, notebooks, name)
    assert getattr(result, field) == [fx.ASSIGNMENT]
    assert result.notebooks == {}
    assert any(words in p for p in result.problems)


def test_wrongly_named_notebook_is_graded_under_the_expected_name(tmp_path, notebooks):
    result = check(tmp_path, notebooks, "wrong-name")
    assert list(result.notebooks) == [fx.ASSIGNMENT]
    assert result.problems == ["tiny (1).ipynb is wrongly named: graded as tiny.ipynb"]


def test_extra_notebook_is_ignored(tmp_path, notebooks):
    result = check(tmp_path, notebooks, "extra-notebook")
    assert list(result.notebooks) == [fx.ASSIGNMENT]
    assert result.problems == ["extra notebook scratch.ipynb (ignored)"]


def test_huge_file_is_not_copied(tmp_path, notebooks):
    result = check(tmp_path, notebooks, "huge-file")
    assert result.files == [] and "weights.npy is 1024 MB" in result.problems[0]


def test_reading_is_bytes_only_and_bounded(tmp_path, notebooks, monkeypatch):
    """The coordinator's step parses nothing; files past the limits are not read."""
    monkeypatch.setattr(preflight, "MAX_FILES", 4)
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / f"{fx.ASSIGNMENT}.ipynb").write_bytes(b"not json at all")  # 15 bytes
    for i in range(6):
        (folder / f"data{i}.txt").write_bytes(b"x" * 10)
    received = preflight.read_folder(folder, max_bytes=100, max_total_bytes=1000)
    assert received.files[f"{fx.ASSIGNMENT}.ipynb"] == b"not json at all"  # unparsed
    assert sorted(received.files) == ["data0.txt", "data1.txt", "data2.txt",
                                      f"{fx.ASSIGNMENT}.ipynb"]  # the notebook first
    assert received.problems == ["more files than are read (at most 4 files and 10000 "
                                 "entries in all): the rest not read"]
    over = preflight.read_folder(folder, max_bytes=100, max_total_bytes=25)
    assert sorted(over.files) == ["data0.txt", f"{fx.ASSIGNMENT}.ipynb"]  # 15 + 10 bytes
    assert "data1.txt would bring the submission over 0 MB (not read)" in over.problems
    checked = preflight.inspect_files(received, *notebooks)  # the grading process's step
    assert checked.unreadable == [fx.ASSIGNMENT]
    assert any("not valid JSON" in p for p in checked.problems)


def test_a_huge_folder_is_not_listed_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "MAX_ENTRIES", 5)
    folder = tmp_path / "deep"
    (folder / "a" / "b").mkdir(parents=True)
    for i in range(8):
        (folder / "a" / "b" / f"f{i}").write_bytes(b"1")
    received = preflight.read_folder(folder, max_bytes=100, max_total_bytes=1000)
    assert sorted(received.files) == ["a/b/f0", "a/b/f1", "a/b/f2"]  # a, a/b, 3 files
    assert received.problems[-1].startswith("more files than are read")


def test_pipes_links_and_undecodable_names_are_handled(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    os.mkfifo(folder / "notes.txt")  # reading it would wait for a writer forever
    (folder / "link.txt").symlink_to("/etc/passwd")
    (folder / "dir-link").symlink_to(tmp_path)
    odd = os.fsdecode(b"data\xff.txt")  # not UTF-8: held as a lone surrogate
    (folder / odd).write_bytes(b"kept")
    received = preflight.read_folder(folder, max_bytes=100, max_total_bytes=1000)
    assert received.files == {odd: b"kept"}
    assert sorted(received.problems) == ["dir-link is a symbolic link (not read)",
                                         "link.txt is a symbolic link (not read)",
                                         "notes.txt is not a regular file (not read)"]


def test_duplicated_grade_ids_keep_the_last_cell(tmp_path, notebooks):
    result = check(tmp_path, notebooks, "duplicated-ids")
    nb = result.notebooks[fx.ASSIGNMENT]
    holders = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square"]
    assert len(holders) == 1 and "x * x" in holders[0].source


@pytest.mark.parametrize("name, words", [
    ("deleted-test", "tiny: test cell 'test_square' deleted (restored)"),
    ("edited-test", "tiny: test cell 'test_square' edited (restored)"),
    ("test-to-markdown", "tiny: test cell 'test_square' turned into markdown (restored)"),
])
def test_changed_test_cells_are_reported(tmp_path, notebooks, name, words):
    assert words in check(tmp_path, notebooks, name).problems


@pytest.mark.parametrize("name, reason", [
    ("patched-numpy", "assigns np.allclose"),
    ("patched-numpy", "assigns np.testing.assert_allclose"),
    ("patched-builtins", "assigns builtins.abs"),
    ("patched-builtins", "rebinds np"),
    ("blanked-cells", "uses IPython's input_transformers_cleanup"),
    ("hidden-traceback", "uses IPython's _showtraceback"),
])
def test_tampering_is_flagged(tmp_path, notebooks, name, reason):
    assert reason in check(tmp_path, notebooks, name).suspicious


@pytest.mark.parametrize("name", ["good", "wrong", "cached-answers", "huge-output"])
def test_honest_code_is_not_flagged(tmp_path, notebooks, name):
    assert check(tmp_path, notebooks, name).suspicious == []


def test_trusted_imports_come_from_locked_cells_only(notebooks):
    _, releases = notebooks
    nb = fx.answer(releases[fx.ASSIGNMENT], {"square": "import os as np"})
    assert trusted_imports(nb) == [("np", "numpy", "")]


def course_and_class(tmp_path, notebooks, students):
    """A fresh course at ``tmp_path/course`` and ``students``' folders in ``tmp_path/in``."""
    _, releases = notebooks
    root = fx.make_course(tmp_path / "course")
    fx.write_class(tmp_path / "in", releases[fx.ASSIGNMENT], students)
    return root


def test_collect_folder_copies_each_student(tmp_path, notebooks):
    root = course_and_class(tmp_path, notebooks, ["good", "wrong-name"])
    assert main(["--root", str(root), "collect", fx.ASSIGNMENT, str(tmp_path / "in")]) == 0
    course = Course(root)
    assert course.students(fx.ASSIGNMENT) == ["good", "wrong-name"]
    assert fx.file_digests(course.submitted(fx.ASSIGNMENT, "good")) == \
        fx.file_digests(tmp_path / "in" / "good")


def test_collect_zip_of_student_folders(tmp_path, notebooks):
    root = course_and_class(tmp_path, notebooks, ["good", "wrong"])
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "in").rglob("*.ipynb")):
            zf.write(path, "submissions/" + str(path.relative_to(tmp_path / "in")))
    assert collect.collect(Course(root), fx.ASSIGNMENT, archive) == ["good", "wrong"]


def test_collect_rejects_other_files(tmp_path):
    root = fx.make_course(tmp_path / "course")
    (tmp_path / "grades.txt").write_text("not a zip")
    assert main(["--root", str(root), "collect", fx.ASSIGNMENT,
                 str(tmp_path / "grades.txt")]) == 2


@pytest.mark.slow
def test_collect_lms_zip_with_nbgrader_zip_collect(tmp_path, notebooks):
    root = course_and_class(tmp_path, notebooks, ["good", "wrong"])
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "in" / "good" / "tiny.ipynb", "alice_late_1234_5678_tiny.ipynb")
        zf.write(tmp_path / "in" / "wrong" / "tiny.ipynb", "bob_1234_5678_tiny.ipynb")
    course = Course(root)
    assert collect.collect(course, fx.ASSIGNMENT, archive) == ["alice", "bob"]
    assert fx.file_digests(course.submitted(fx.ASSIGNMENT, "bob")) == \
        {"tiny.ipynb": fx.file_digests(tmp_path / "in" / "wrong")["tiny.ipynb"]}


@pytest.mark.parametrize("source, reason", [
    ("import course_lib.layers as L", "uses course_lib.layers"),
    ("from course_lib.losses import softmax_cross_entropy", "uses course_lib.losses"),
    ("import course_lib", "uses course_lib "),
    ("f = __import__('course_lib.ps4_checks')", "uses course_lib.ps4_checks"),
    ("out = checks._reference_linear(x, W, b)", "uses checks "),  # bound by a locked cell
])
def test_answers_that_call_the_course_code_are_flagged(source, reason):
    """PS4 says course_lib is for gradient checks, data and plots: an answer that hands a
    task to its reference layers earns the points, so a person must see it."""
    release = nbformat.read(fx.REPO / "assignments" / "ps4_mlp" / "ps4_mlp.ipynb",
                            as_version=4)
    found = preflight.scan_for_tampering(source, preflight.reference_names(release))
    assert any(r.startswith(reason) for r in found), found


@pytest.mark.parametrize("source", [
    "from course_lib import datasets", "from course_lib.gradcheck import check_gradients",
    "import course_lib.plotting as plotting", "import numpy as np",
])
def test_the_course_tools_an_answer_may_use_are_not_flagged(source):
    assert preflight.scan_for_tampering(source, {"checks"}) == []
