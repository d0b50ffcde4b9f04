"""PS4 as an nbgrader assignment: its structure, its release and the whole grading cycle.

The fast tests read the committed notebooks and exercise course_lib.ps4_checks (the helpers
behind the test cells) on typical student mistakes. The slow ones run nbgrader itself in a
temporary copy of the course, never in the work tree, so no gradebook is left behind.
"""

import re

import numpy as np
import pytest
from nbgrader.api import Gradebook
from ps4_helpers import (
    ASSIGNMENT,
    HIDDEN_MARKERS,
    NOTEBOOK,
    RELEASE,
    ROOT,
    SOLUTION_MARKERS,
    SOURCE,
    autograded_points,
    comparable,
    copy_course,
    exported_scores,
    marked_regions,
    nbgrader,
    nbgrader_meta,
    parts,
    read,
    submission,
    submit,
)
from traitlets.config.loader import PyFileConfigLoader

from course_lib import ps4_checks as checks

PART_NUMBERS = list(range(1, 9))
FIRST_THREE_PARTS = {1, 2, 3}


@pytest.fixture(scope="module")
def source_nb():
    return read(SOURCE)


@pytest.fixture(scope="module")
def release_nb():
    return read(RELEASE)


# --- the notebook's structure ------------------------------------------------------------


def test_each_part_heading_states_the_points_of_its_cells(source_nb):
    found = parts(source_nb)
    assert [p.number for p in found] == PART_NUMBERS
    for part in found:
        assert part.points == part.stated_points, (
            f"Part {part.number}'s heading says {part.stated_points} points, its graded "
            f"cells carry {part.points}"
        )
    assert sum(p.points for p in found) == 100


def test_grade_ids_are_unique_and_name_their_cells(source_nb):
    ids = [nbgrader_meta(c)["grade_id"] for c in source_nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"repeated grade ids: {sorted(ids)}"
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["grade_id"].startswith("test_") and meta["locked"], meta
            first_line = cell.source.splitlines()[0]
            assert first_line.startswith(('"""', "#")), (
                f"{meta['grade_id']} should open with a line saying what it checks"
            )


def test_every_autograded_cell_has_hidden_tests(source_nb):
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            hidden = marked_regions(cell.source, HIDDEN_MARKERS)
            assert hidden and any(line.strip() for line in hidden[0]), meta["grade_id"]


def test_hidden_tests_draw_their_inputs_from_large_seeds(source_nb):
    """After a hidden test, a student's code can still choose each later test's outcome (a
    few bits a test): a seed such as 10 would fit in two tests' outcomes; 2**31 and more
    take far more than PS4 has (README, "Hidden inputs stay hidden")."""
    seeds = []
    for cell in source_nb.cells:
        for region in marked_regions(cell.source, HIDDEN_MARKERS):
            text = "\n".join(region)
            seeds += [int(s) for s in re.findall(r"\bseed=(\d+)", text)]
            for group in re.findall(r"\bseeds=\(([\d, ]+)\)", text):
                seeds += [int(s) for s in group.split(",")]
            assert not re.search(r"\b(?:seed|seeds|rng)=(?!\d|\()", text), text
    assert len(seeds) >= 30
    assert min(seeds) >= 2**31, sorted(seeds)[:3]
    assert len(set(seeds)) == len(seeds)


def test_written_answers_are_graded_by_hand(source_nb):
    answers = [c for c in parts(source_nb)[-1].cells if nbgrader_meta(c).get("grade")]
    assert len(answers) == 3
    for cell in answers:
        meta = nbgrader_meta(cell)
        assert cell.cell_type == "markdown" and meta["solution"] and not meta["task"], meta


def test_solution_is_committed_executed_without_errors(source_nb):
    code = [c for c in source_nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert any(o.output_type == "display_data" for c in code for o in c.outputs)


def _secret_and_public_lines(nb):
    """Stripped lines inside solution or hidden-test regions, and lines outside them."""
    secret, public = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
                inside = True
            elif line.strip() in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
                inside = False
            elif line.strip():
                (secret if inside else public).add(line.strip())
    return secret, public


def test_release_holds_no_solution_and_no_hidden_test(source_nb, release_nb):
    text = RELEASE.read_text()
    for marker in (*SOLUTION_MARKERS, *HIDDEN_MARKERS):
        assert marker not in text
    secret, public = _secret_and_public_lines(source_nb)
    only_secret = secret - public
    assert only_secret, "the source should hold solutions and hidden tests"
    released = {line.strip() for cell in release_nb.cells for line in cell.source.splitlines()}
    assert not only_secret & released
    assert not any(c.get("outputs") for c in release_nb.cells if c.cell_type == "code")


# --- course_lib.ps4_checks: what a student is told ---------------------------------------


def linear_forward(x, W, b):
    return x @ W + b


def linear_backward(dout, x, W, b):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0.0)


def relu_backward(dout, x):
    return dout * (x > 0)


def relu_in_place(x):
    x[x < 0] = 0.0
    return x


def leaky_forward(x, a=0.01):
    return np.where(x >= 0, x, a * x)


def leaky_backward(dout, x, a=0.01):
    return dout * np.where(x >= 0, 1.0, a)


def softmax_ce(scores, labels):
    n = len(labels)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    d = np.exp(log_p)
    d[np.arange(n), labels] -= 1
    return -np.mean(log_p[np.arange(n), labels]), d / n


def softmax_ce_naive(scores, labels):
    n = len(labels)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.mean(np.log(p[np.arange(n), labels])), d / n


def two_layer(params, X, y, mask=True, relu=True, mean=True, keep_pre=False):
    """Linear-ReLU-linear softmax cross-entropy, with switches for the usual slips."""
    z = X @ params["W1"] + params["b1"]
    h = np.maximum(z, 0) if relu else z
    loss, d = softmax_ce(h @ params["W2"] + params["b2"], y)
    if not mean:
        loss, d = loss * len(y), d * len(y)
    dh = d @ params["W2"].T
    dz = dh * (z > 0) if mask else dh
    return loss, {"W1": X.T @ dz, "b1": dz.sum(0), "W2": (z if keep_pre else h).T @ d,
                  "b2": d.sum(0)}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu_backward_aliasing(dout, x):
    dx = dout
    dx[x <= 0] = 0
    return dx


def softmax_ce_in_place(scores, labels):
    scores -= scores.max(axis=1, keepdims=True)
    return softmax_ce(scores, labels)


def softmax_ce_log_of_probs(scores, labels):
    n = len(labels)
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.mean(np.log(p[np.arange(n), labels])), d / n


def order_cheat():
    """A gradient checker that reports what the cases were in the order it saw first."""
    calls = []

    def gradcheck_function(forward, backward, inputs, rng=0):
        calls.append(1)
        grads = {k: np.zeros_like(v) for k, v in inputs.items()}
        report = checks.check_gradients(lambda: 0.0, inputs, grads)
        if len(calls) in (2, 4):  # the broken cases' places in the original order
            f = {"W": 1.0} if len(calls) == 2 else {"x": 1.0}
            report = checks.check_gradients(lambda: 0.0, inputs, {
                k: v + f.get(k, 0.0) for k, v in grads.items()})
        return report

    return gradcheck_function


def first_answer_forever(function):
    """``function``, except that every call after the first returns the first answer:
    right where a check compares values, flat where it perturbs the inputs (so that a
    zero gradient matches its own numerical gradient)."""
    answers = []

    def cached(*args, **kwargs):
        if not answers:
            answers.append(function(*args, **kwargs))
        return answers[0]

    return cached


MISTAKES = {
    "sigmoid as exp(x) / (1 + exp(x)) overflows for large positive x": (
        lambda: checks.check_activation_extremes(
            "sigmoid", lambda x: np.exp(x) / (1 + np.exp(x)),
            lambda d, x: d * sigmoid(x) * (1 - sigmoid(x)), [1000.0]),
        "where x = 1000 (1 of 4 entries); exp(x) overflows to inf for large positive x"),
    "sigmoid as 1 - exp(-x) / (1 + exp(-x)) overflows for large negative x": (
        lambda: checks.check_activation_extremes(
            "sigmoid", lambda x: 1 - np.exp(-x) / (1 + np.exp(-x)),
            lambda d, x: d * sigmoid(x) * (1 - sigmoid(x)), [1000.0]),
        "where x = -1000 (1 of 4 entries); exp(-x) overflows to inf for large negative x"),
    "sigmoid slope from exp(-x) overflows": (
        lambda: checks.check_activation_extremes(
            "sigmoid", sigmoid, lambda d, x: d * np.exp(-x) / (1 + np.exp(-x)) ** 2, [1000.0]),
        "compute it from s = sigmoid_forward(x) as s * (1 - s)"),
    "relu backward with dx = dout changes dout": (
        lambda: checks.check_activation("relu", relu_forward, relu_backward_aliasing, (4, 3), 0),
        "changed its argument dout in place"),
    "softmax shifts its scores in place": (
        lambda: checks.check_softmax_loss(softmax_ce_in_place, 5, 3, 0),
        "shifted = scores - scores.max(axis=1, keepdims=True)"),
    "log of probabilities that rounded to 0": (
        lambda: checks.check_softmax_large_logits(softmax_ce_log_of_probs, 4, 3, 0),
        "a probability rounded to 0 before its log"),
    "two-layer loss without the ReLU": (
        lambda: checks.check_two_layer_loss(lambda p, X, y: two_layer(p, X, y, relu=False),
                                            5, 4, 6, 3, 0), "without the ReLU"),
    "two-layer loss summed over the batch": (
        lambda: checks.check_two_layer_loss(lambda p, X, y: two_layer(p, X, y, mean=False),
                                            5, 4, 6, 3, 0), "the loss is the mean"),
    "two-layer gradients without the ReLU's mask": (
        lambda: checks.check_two_layer_gradients(
            lambda p, X, y: two_layer(p, X, y, mask=False), 5, 4, 6, 3, 0),
        "missing the ReLU's mask"),
    "dW2 from the pre-activations": (
        lambda: checks.check_two_layer_gradients(
            lambda p, X, y: two_layer(p, X, y, keep_pre=True), 5, 4, 6, 3, 0),
        "must use the hidden activations"),
    "two-layer grads as a tuple": (
        lambda: checks.check_two_layer_gradients(
            lambda p, X, y: (two_layer(p, X, y)[0], tuple(two_layer(p, X, y)[1].values())),
            5, 4, 6, 3, 0), "expected a dict with the keys"),
    "two-layer loss that changes params": (
        lambda: checks.check_two_layer_loss(
            lambda p, X, y: (p["W1"].fill(0), two_layer(p, X, y))[1], 5, 4, 6, 3, 0),
        "changed its argument W1 in place"),
    "two-layer gradients that disagree with the loss": (
        lambda: checks.check_two_layer_numerically(
            lambda p, X, y: (two_layer(p, X, y)[0], {**two_layer(p, X, y)[1], "b2": np.zeros(2)}),
            4, 2, 3, 2, 0), "a numerical gradient check of your two_layer_loss"),
    "a report of a directional check": (
        lambda: checks.check_two_layer_report(checks.check_gradients(
            lambda: 0.0, {"W1": np.zeros(2)}, {"W1": np.zeros(2)}, method="directional")),
        "must be a full check of ['W1', 'W2', 'b1', 'b2']"),
    "xor weights without a margin": (
        lambda: checks.check_xor_weights({"W1": np.ones((2, 2)), "b1": np.array([0.0, -1.0]),
                                          "W2": np.array([[1.0], [-2.0]]), "b2": np.zeros(1)},
                                         n_per_corner=10, noise=0.03, seed=0),
        "points within noise 0.03 of the corners"),
    "forward without bias": (
        lambda: checks.check_linear_forward(lambda x, W, b: x @ W, 4, 3, 2, 0), "bias b"),
    "forward squeezes a batch of one": (
        lambda: checks.check_linear_forward(lambda x, W, b: np.squeeze(x @ W + b), 1, 3, 2, 0),
        "shape mismatch, expected (1, 2), got (2,)"),
    "dW transposed": (
        lambda: checks.check_linear_backward(
            lambda d, x, W, b: (d @ W.T, d.T @ x, d.sum(0)), 4, 3, 2, 0), "transposed?"),
    "dx with the wrong sign": (
        lambda: checks.check_linear_backward(
            lambda d, x, W, b: (-d @ W.T, x.T @ d, d.sum(0)), 4, 3, 2, 0), "wrong sign"),
    "db not summed over the batch": (
        lambda: checks.check_linear_backward(
            lambda d, x, W, b: (d @ W.T, x.T @ d, d), 4, 3, 2, 0), "shape mismatch"),
    "db averaged": (
        lambda: checks.check_linear_backward(
            lambda d, x, W, b: (d @ W.T, x.T @ d, d.mean(0)), 4, 3, 2, 0), "not average"),
    "db summed over everything, seen for a batch of one": (
        lambda: checks.check_linear_backward(
            lambda d, x, W, b: (d @ W.T, x.T @ d, np.sum(d)), 1, 3, 2, 0), "a batch of one"),
    "backward returns a list of two": (
        lambda: checks.check_linear_backward(lambda d, x, W, b: (d, d), 4, 3, 2, 0),
        "must return a tuple (dx, dW, db)"),
    "relu changes x in place": (
        lambda: checks.check_activation("relu", relu_in_place, relu_backward, (4, 3), 0),
        "in place"),
    "relu backward without dout": (
        lambda: checks.check_activation("relu", relu_forward, lambda d, x: 1.0 * (x > 0),
                                        (4, 3), 0), "chain rule"),
    "leaky slope -a": (
        lambda: checks.check_activation(
            "leaky_relu", leaky_forward, lambda d, x, a: d * np.where(x >= 0, 1.0, -a),
            (4, 3), 0, a=0.1), "+a, not -a"),
    "leaky ignores a": (
        lambda: checks.check_activation(
            "leaky_relu", lambda x, a: leaky_forward(x), leaky_backward, (4, 3), 0, a=0.2),
        "argument a=0.2"),
    "loss summed": (
        lambda: checks.check_softmax_loss(
            lambda s, y: (softmax_ce(s, y)[0] * len(y), softmax_ce(s, y)[1]), 5, 3, 0),
        "mean"),
    "gradient without 1/N": (
        lambda: checks.check_softmax_gradient(
            lambda s, y: (softmax_ce(s, y)[0], softmax_ce(s, y)[1] * len(y)), 5, 3, 0),
        "1/N"),
    "softmax overflows": (
        lambda: checks.check_softmax_large_logits(softmax_ce_naive, 4, 3, 0),
        "subtract each row's maximum"),
    "gradcheck that passes everything": (
        lambda: checks.check_gradcheck_function(
            lambda f, b, inputs, rng=0: checks.check_gradients(
                lambda: 0.0, inputs, {k: np.zeros_like(v) for k, v in inputs.items()}),
            3, 4, 2, 0), "should fail exactly ["),
    "gradcheck that recognises the cases by their order": (
        lambda: checks.check_gradcheck_function(order_cheat(), 3, 4, 2, 0), "should fail"),
    "zero forward with a zero backward, consistent but wrong": (
        lambda: checks.check_backward_numerically(
            "linear_backward", lambda x, W, b: 0 * (x @ W), lambda d, x, W, b: (
                0 * x, 0 * W, 0 * b), {"x": (3, 4), "W": (4, 2), "b": (2,)}, seed=0),
        "the forward pass checked with your linear_backward"),
    "backward that disagrees with its forward": (
        lambda: checks.check_backward_numerically(
            "linear_backward", linear_forward, lambda d, x, W, b: (d @ W.T, x.T @ d, 2 * d.sum(0)),
            {"x": (3, 4), "W": (4, 2), "b": (2,)}, seed=0),
        "a numerical gradient check of your linear_backward"),
    "forward that repeats its first answer, with a zero backward": (
        lambda: checks.check_backward_numerically(
            "linear_backward", first_answer_forever(linear_forward), lambda d, x, W, b: (
                0 * x, 0 * W, 0 * b), {"x": (3, 4), "W": (4, 2), "b": (2,)}, seed=0),
        "a numerical gradient check of your linear_backward"),
    "two-layer loss that repeats its first answer, with zero gradients": (
        lambda: checks.check_two_layer_numerically(first_answer_forever(
            lambda p, X, y: (two_layer(p, X, y)[0], {k: np.zeros_like(v) for k, v in p.items()})),
            4, 2, 3, 2, 0), "a numerical gradient check of your two_layer_loss"),
    "xor by a linear network": (
        lambda: checks.check_xor_weights({"W1": np.eye(2), "b1": np.zeros(2),
                                          "W2": np.ones((2, 1)), "b2": np.array([-0.5])}),
        "x = (+1.000, +1.000)"),
    "untrained digits network": (
        lambda: checks.check_digits_training(
            lambda X, y: {"W1": np.zeros((64, 4)), "b1": np.zeros(4),
                          "W2": np.zeros((4, 10)), "b2": np.zeros(10)}, (3, 7), 0.88),
        "at least 0.88 is required"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_typical_mistake_gets_a_message_that_names_it(mistake):
    check, expected = MISTAKES[mistake]
    with pytest.raises(AssertionError) as failure:
        check()
    assert expected in str(failure.value), str(failure.value)


def test_correct_implementations_pass_the_checks():
    for n in (1, 5):
        checks.check_linear_forward(linear_forward, n, 3, 2, seed=n)
        checks.check_linear_backward(linear_backward, n, 3, 2, seed=n)
        checks.check_activation("relu", relu_forward, relu_backward, (n, 4), seed=n)
        checks.check_activation("leaky_relu", leaky_forward, leaky_backward, (n, 4), n, a=0.3)
        checks.check_softmax_loss(softmax_ce, n, 4, seed=n)
        checks.check_softmax_gradient(softmax_ce, n, 4, seed=n)
        checks.check_softmax_large_logits(softmax_ce, n, 4, seed=n)
        checks.check_backward_numerically("relu_backward", relu_forward, relu_backward,
                                          {"x": (n, 3)}, seed=n)
        checks.check_activation_extremes("sigmoid", sigmoid, lambda d, x: d * sigmoid(x) * (
            1 - sigmoid(x)), [1000.0, 1e300], seed=n)
        checks.check_activation_extremes("leaky_relu", leaky_forward, leaky_backward,
                                         [1000.0], seed=n, a=0.2)
        checks.check_two_layer_loss(two_layer, n, 3, 4, 2, seed=n)
        checks.check_two_layer_gradients(two_layer, n, 3, 4, 2, seed=n)
        checks.check_two_layer_numerically(two_layer, n, 3, 4, 2, seed=n)


# --- nbgrader in a temporary copy of the course ------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course whose release and gradebook nbgrader has just generated."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


@pytest.mark.slow
def test_committed_release_is_what_nbgrader_generates(course, release_nb):
    generated = read(course / "assignments" / ASSIGNMENT / NOTEBOOK)
    assert comparable(generated) == comparable(release_nb), (
        "assignments/ps4_mlp is stale: run `make release`"
    )


@pytest.mark.slow
def test_validate_passes_the_solution(course):
    output = nbgrader(course, "validate", f"solutions/{ASSIGNMENT}/{NOTEBOOK}")
    assert "Success! Your notebook passes all the tests." in output, output
    assert "VALIDATION FAILED" not in output, output


@pytest.mark.slow
def test_validate_invert_finds_every_test_failing_on_the_release(course):
    output = nbgrader(course, "validate", "--invert", f"assignments/{ASSIGNMENT}/{NOTEBOOK}")
    assert "Success! The notebook does not pass any tests." in output, output
    assert "PASSED" not in output, output


@pytest.mark.slow
def test_autograde_gives_each_submission_exactly_its_points(course, source_nb, release_nb):
    submissions = {
        "full": submission(release_nb, source_nb, set(PART_NUMBERS)),
        "untouched": release_nb,
        "parts_1_to_3": submission(release_nb, source_nb, FIRST_THREE_PARTS),
    }
    for student, nb in submissions.items():
        submit(course, student, nb)
    nbgrader(course, "autograde", ASSIGNMENT)

    expected = {
        "full": autograded_points(source_nb),
        "untouched": 0.0,
        "parts_1_to_3": autograded_points(source_nb, FIRST_THREE_PARTS),
    }
    assert 0 < expected["parts_1_to_3"] < expected["full"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission(ASSIGNMENT, student).score
                  for student in submissions}
    assert scores == expected
    assert exported_scores(course) == expected


def test_nbgrader_config_maps_the_repo_and_sets_the_cell_timeout():
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT))
    config = loader.load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "assignments"
    assert isinstance(config.Execute.timeout, int) and config.Execute.timeout > 0


def forged_report(*names):
    """A GradcheckReport written by hand: every array 'passes', nothing was checked."""
    from course_lib.gradcheck import GradcheckReport, ParamCheck

    return GradcheckReport(checks=tuple(ParamCheck(n, (1,), 0.0, (0,), 0.0, 0.0, True)
                                        for n in names), method="full", tol=1e-6)


@pytest.mark.parametrize("broken", ["relu_backward", "leaky_relu_backward",
                                    "softmax_cross_entropy"])
def test_hand_written_gradient_reports_do_not_cover_a_wrong_backward(source_nb, broken):
    """The reports cell's test (hidden part included) checks the functions themselves: a
    forged passing report earns nothing when one of them is wrong."""
    [cell] = [c for c in source_nb.cells
              if c.metadata.get("nbgrader", {}).get("grade_id") == "test_own_gradient_checks_pass"]
    forged = {name: forged_report(*expected)
              for name, expected in checks.GRADIENT_REPORTS.items()}
    honest = {
        "linear_forward": linear_forward, "linear_backward": linear_backward,
        "sigmoid_forward": sigmoid, "relu_forward": relu_forward,
        "sigmoid_backward": lambda dout, x: dout * sigmoid(x) * (1 - sigmoid(x)),
        "relu_backward": relu_backward, "leaky_relu_forward": leaky_forward,
        "leaky_relu_backward": leaky_backward, "softmax_cross_entropy": softmax_ce,
    }
    honest["np"] = np  # the notebook's locked imports
    exec(cell.source, {**honest, "gradient_reports": forged})  # right functions: passes
    wrong = {"relu_backward": lambda dout, x: dout,
             "leaky_relu_backward": lambda dout, x, a=0.01: dout,
             "softmax_cross_entropy": lambda s, y: (softmax_ce(s, y)[0],
                                                    -softmax_ce(s, y)[1])}[broken]
    with pytest.raises(AssertionError):
        exec(cell.source, {**honest, broken: wrong, "gradient_reports": forged})
