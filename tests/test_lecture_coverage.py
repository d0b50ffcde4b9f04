"""The lecture index's "Slides -> sections" table points at real, runnable sections.

``lectures/README.md`` maps every slide topic to a notebook and a section heading. For each
row this checks, from the files themselves, that the notebook has that markdown heading
(exactly once) and that the section it opens (up to the next heading of the same or a
higher level) holds at least one code cell that was executed: the topic is taught with
code that runs, and ``pytest --nbval`` re-runs that code.

It also checks the exercises: every lecture has some, stored unanswered ("not attempted
yet"), spread over two or more of its ``##`` sections under headings numbered in order, with
one collapsed answers cell whose answers pass their own checks while computed wrong versions
of them (sign, value or shape changed) are rejected.
"""

import contextlib
import io
import re
from pathlib import Path

import mistune
import nbformat
import numpy as np
import pytest

LECTURES = Path(__file__).resolve().parents[1] / "lectures"
INDEX = LECTURES / "README.md"
TABLE_HEADING = "Slides -> sections"

parse_markdown = mistune.create_markdown(renderer=None, plugins=["table"])


def plain_text(node):
    """The text of a mistune AST node (or list of nodes), markup dropped: ``*a* b`` -> ``a b``."""
    if isinstance(node, list):
        return "".join(plain_text(child) for child in node)
    if "children" in node:
        return plain_text(node["children"])
    return node.get("raw", "")


def slide_table(index_text):
    """Rows ``(slide, notebook file name, section heading)`` of the table under TABLE_HEADING."""
    blocks = [block for block in parse_markdown(index_text) if block["type"] != "blank_line"]
    for here, block in enumerate(blocks):
        if block["type"] == "heading" and plain_text(block).strip() == TABLE_HEADING:
            tables = [b for b in blocks[here + 1:] if b["type"] in ("table", "heading")]
            if not tables or tables[0]["type"] != "table":
                raise ValueError(f"no table after the heading {TABLE_HEADING!r} in {INDEX}")
            body = [part for part in tables[0]["children"] if part["type"] == "table_body"]
            return [row_fields(row) for part in body for row in part["children"]]
    raise ValueError(f"{INDEX} has no heading {TABLE_HEADING!r}")


def row_fields(row):
    slide, notebook, section = row["children"]
    links = [node for node in notebook["children"] if node["type"] == "link"]
    if len(links) != 1:
        raise ValueError(f"row {plain_text(slide)!r}: the notebook cell must be one link")
    return plain_text(slide).strip(), links[0]["attrs"]["url"], plain_text(section).strip()


def sections(notebook):
    """Each markdown heading of a notebook as ``(level, text, code cells in its section)``.

    A section runs from its heading to the next heading of the same or a higher level
    (a smaller or equal number of ``#``), so it includes its subsections.
    """
    events = []                                   # ("heading", level, text) or ("code", cell)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            events += [("heading", block["attrs"]["level"], plain_text(block).strip())
                       for block in parse_markdown(cell.source) if block["type"] == "heading"]
        elif cell.cell_type == "code" and cell.source.strip():
            events.append(("code", cell))
    found = []
    for start, event in enumerate(events):
        if event[0] != "heading":
            continue
        _, level, text = event
        code = []
        for later in events[start + 1:]:
            if later[0] == "heading" and later[1] <= level:
                break
            if later[0] == "code":
                code.append(later[1])
        found.append((level, text, code))
    return found


ROWS = slide_table(INDEX.read_text(encoding="utf-8"))


def test_the_table_covers_every_lecture():
    named = {notebook for _, notebook, _ in ROWS}
    on_disk = {path.name for path in LECTURES.glob("*.ipynb")}
    assert ROWS, f"the table under {TABLE_HEADING!r} in {INDEX} is empty"
    assert named <= on_disk, f"the table names notebooks that do not exist: {named - on_disk}"
    assert on_disk <= named, f"lectures the table never points to: {on_disk - named}"


@pytest.mark.parametrize(("slide", "notebook", "section"), ROWS,
                         ids=[f"{notebook}: {section}" for _, notebook, section in ROWS])
def test_each_slide_topic_has_a_section_with_running_code(slide, notebook, section):
    found = sections(nbformat.read(LECTURES / notebook, as_version=4))
    matches = [code for _, text, code in found if text == section]
    headings = "\n  ".join(f"{'#' * level} {text}" for level, text, _ in found)
    assert len(matches) == 1, (
        f"slide {slide!r}: expected exactly one heading {section!r} in {notebook}, "
        f"found {len(matches)}; its headings are:\n  {headings}"
    )
    (code,) = matches
    assert code, f"slide {slide!r}: section {section!r} of {notebook} has no code cell"
    executed = [cell for cell in code if cell.execution_count is not None]
    assert executed, (
        f"slide {slide!r}: the {len(code)} code cell(s) of section {section!r} in {notebook} "
        "were never executed (lectures are committed executed)"
    )


# ---------------------------------------------------------------- exercises
#
# An exercise cell calls ``check("<id>", answer)`` from ``course_lib.exercises`` with
# ``answer = ...``; the answers sit in one collapsed code cell at the end (tagged
# "answers", ``source_hidden``) that defines ``ANSWERS = {id: answer}`` from imports alone.

EXERCISE_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.\w+)["']""")
NOTEBOOKS = sorted(LECTURES.glob("*.ipynb"))


def exercise_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and "answers" not in cell.metadata.get("tags", [])
            and EXERCISE_CALL.search(cell.source)]


def answers_cell(notebook):
    cells = [cell for cell in notebook.cells if "answers" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, "expected exactly one code cell tagged 'answers'"
    return cells[0]


def stored_answers(notebook):
    """Run the answers cell on its own (it may import, nothing else) and return ANSWERS."""
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(answers_cell(notebook).source, "<answers cell>", "exec"), namespace)
    return namespace["ANSWERS"]


def wrong_versions(answer):
    """Answers that differ from ``answer`` in a sign, a value or a shape; computed, not stored."""
    if isinstance(answer, (bool, np.bool_)):
        return [not answer]
    if isinstance(answer, (int, np.integer)):
        return [answer + 1, -answer - 1]
    if isinstance(answer, (float, np.floating)):
        return [answer * 1.5 + 0.1, -answer]
    if isinstance(answer, np.ndarray):
        return [-answer - 1, answer + 0.5, answer.ravel()[:-1]]
    if isinstance(answer, (tuple, list)):
        return [type(answer)(answer[:k] + type(answer)([variant]) + answer[k + 1:])
                for k, item in enumerate(answer) for variant in wrong_versions(item)]
    if isinstance(answer, dict):
        return [{**answer, key: variant} for key, item in answer.items()
                for variant in wrong_versions(item)]
    if callable(answer):
        return [lambda *args, f=answer: -np.asarray(f(*args)),
                lambda *args, f=answer: np.asarray(f(*args)) + 0.5]
    return []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_every_lecture_has_checked_exercises_left_blank(path):
    notebook = nbformat.read(path, as_version=4)
    cells = exercise_cells(notebook)
    assert cells, f"{path.name} has no exercise (a cell calling check(\"NN.name\", answer))"
    for cell in cells:
        shown = "".join(output.get("text", "") + output.get("data", {}).get("text/plain", "")
                        for output in cell.outputs)
        assert "not attempted yet" in shown, (
            f"{path.name}: exercise cell {cell.source[:60]!r} was not executed blank")
    hidden = answers_cell(notebook).metadata.get("jupyter", {}).get("source_hidden")
    assert hidden, f"{path.name}: the answers cell is not collapsed (jupyter.source_hidden)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_each_checker_accepts_the_stored_answer_and_rejects_a_wrong_one(path):
    from course_lib.exercises import check

    notebook = nbformat.read(path, as_version=4)
    asked = {m for cell in exercise_cells(notebook) for m in EXERCISE_CALL.findall(cell.source)}
    answers = stored_answers(notebook)
    assert set(answers) == asked, (
        f"{path.name}: exercises without answers {asked - set(answers)}, "
        f"answers without exercises {set(answers) - asked}")
    for exercise_id, answer in answers.items():
        verdict = check(exercise_id, answer)
        assert verdict.ok is True, f"the stored answer fails its own check: {verdict}"
        assert check(exercise_id, ...).ok is None
        wrong = [check(exercise_id, variant) for variant in wrong_versions(answer)]
        rejected = [v for v in wrong if v.ok is False]
        assert rejected, f"{exercise_id}: no wrong version of the answer was rejected"
        for verdict in rejected:
            assert verdict.message, f"{exercise_id}: a rejection must say what is wrong"


def exercise_sections(notebook):
    """The level-2 section (its ``##`` heading) of each exercise cell, in order."""
    current, found = None, []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for block in parse_markdown(cell.source):
                if block["type"] == "heading" and block["attrs"]["level"] <= 2:
                    current = plain_text(block).strip()
        elif cell in exercise_cells(notebook):
            found.append(current)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_exercises_sit_in_the_sections_they_practise(path):
    """Exercises follow the sections they practise: in two or more ``##`` sections, none
    in the answers section, and each under its own "Exercise" heading."""
    notebook = nbformat.read(path, as_version=4)
    where = exercise_sections(notebook)
    assert None not in where, f"{path.name}: an exercise comes before the first section"
    assert "Answers to the exercises" not in where, f"{path.name}: an exercise among the answers"
    assert len(set(where)) >= 2, (
        f"{path.name}: every exercise is in one section ({where[0]!r}); put one at each "
        "major section")
    headings = [plain_text(block).strip() for cell in notebook.cells
                if cell.cell_type == "markdown" for block in parse_markdown(cell.source)
                if block["type"] == "heading"]
    numbered = [text for text in headings if re.match(r"Exercise \d+\.\d+:", text)]
    assert numbered, f"{path.name}: no 'Exercise N.M:' heading"
    numbers = [tuple(map(int, re.match(r"Exercise (\d+)\.(\d+)", t).groups())) for t in numbered]
    lecture = int(path.name[:2])
    assert numbers == [(lecture, k) for k in range(1, len(numbers) + 1)], (
        f"{path.name}: exercise headings should be numbered {lecture}.1, {lecture}.2, ... in "
        f"order, got {numbered}")


def string_literals(source):
    """The string constants of a code cell (IPython magics dropped), f-strings included."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))
    texts = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.JoinedStr):       # f"$k = {k}$" -> "$k = {}$"
            texts.append("".join(part.value if isinstance(part, ast.Constant) else "{}"
                                 for part in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_lectures_draw_with_the_course_style_and_no_mathtext(path):
    # a $...$ label makes matplotlib build its TeX parser in the lecture's kernel and parse
    # every such label: plain Unicode (x₁, σ′, 10⁻²) draws the same symbols for less
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "code"]
    assert 'plt.style.use("course_lib.course")' in cells[0] + cells[1]
    mathtext = [text for source in cells for text in string_literals(source)
                if re.search(r"\$[^$\s][^$]*\$", text)]
    assert not mathtext, f"{path.name}: labels in mathtext: {mathtext}"
