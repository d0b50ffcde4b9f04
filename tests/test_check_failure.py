"""A check's failure message without what the student's code returned.

After hidden tests have passed their inputs to a student's code, the grader shows a check's
message as :meth:`CheckFailure.without_returned`: every value that depends on what the
student's code returned must be "…" there. Each of PS4's checks is run here against
functions that return a marker in every form a value can take (numbers, a factor, a shape,
text with both quotes, a dtype's length, dict keys, a tuple's length), and the marker must
be in the whole message (the check did report it) and nowhere in what the grader shows.
"""

import numpy as np
import pytest

from course_lib import datasets, losses
from course_lib import ps4_checks as checks
from course_lib.check_failure import HIDDEN_VALUE, CheckFailure, Returned
from course_lib.gradcheck import check_gradients

MARK = 8191.5
MARKS = ("8191", "QZX", "81, 91", "length 81", "(81,)")


def test_a_failure_is_its_template_filled_and_hides_only_returned_fields():
    error = CheckFailure("{what}: got {got:.3g} at {index}, {report!r}; expected {n:d}",
                         what="dx", got=Returned(2 / 3), index=Returned((0, 1)),
                         report=Returned("a'b"), n=12)
    assert isinstance(error, AssertionError)
    assert str(error) == "dx: got 0.667 at (0, 1), \"a'b\"; expected 12"
    assert error.without_returned() == f"dx: got {HIDDEN_VALUE} at {HIDDEN_VALUE}, " \
                                       f"{HIDDEN_VALUE}; expected 12"


def test_braces_in_a_field_are_text_not_a_template():
    error = CheckFailure("{what} fails", what="{0} {__class__}")
    assert str(error) == error.without_returned() == "{0} {__class__} fails"


def marked(value):
    """What a student's function could return instead of ``value``, each form carrying
    the marker: ``{form: returned}``."""
    array = np.asarray(value, dtype=np.float64)
    return {
        "filled": np.full_like(array, MARK) if array.ndim else MARK,
        "scaled": array * MARK,
        "shape": np.ones((81, 91)),
        "text": "QZX'\"8191",
        "dtype": np.array(["z" * 8191]),
        "list of text": ["QZX"] * 3,
        "dict": {"QZX8191": 1.0},
        "tuple": tuple(range(81)),
    }


def relu_pair(corrupt_forward=None, corrupt_backward=None):
    def forward(x):
        out = np.maximum(x, 0.0)
        return corrupt_forward(out) if corrupt_forward else out

    def backward(dout, x):
        dx = dout * (x > 0)
        return corrupt_backward(dx) if corrupt_backward else dx

    return forward, backward


def softmax_loss(corrupt=lambda loss, d: (loss, d)):
    def softmax_cross_entropy(scores, labels):
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        n = len(labels)
        d = np.exp(log_p)
        d[np.arange(n), labels] -= 1.0
        return corrupt(-log_p[np.arange(n), labels].mean(), d / n)
    return softmax_cross_entropy


def two_layer(corrupt=lambda loss, grads: (loss, grads)):
    def two_layer_loss(params, X, y):
        pre = X @ params["W1"] + params["b1"]
        hidden = np.maximum(pre, 0.0)
        loss, dscores = losses.softmax_cross_entropy(hidden @ params["W2"] + params["b2"], y)
        dhidden = (dscores @ params["W2"].T) * (pre > 0)
        grads = {"W1": X.T @ dhidden, "b1": dhidden.sum(axis=0),
                 "W2": hidden.T @ dscores, "b2": dscores.sum(axis=0)}
        return corrupt(loss, grads)
    return two_layer_loss


def gradcheck_returning(form):
    def gradcheck_function(forward, backward, inputs):
        return form
    return gradcheck_function


def student_cases():
    """``(check, form, call)``: ``call()`` runs one check on a student function that
    returns the marker in ``form``."""
    cases = []
    for form in marked(0.0):
        cases += [
            ("linear_forward", form, lambda f=form: checks.check_linear_forward(
                lambda x, W, b: marked(x @ W + b)[f], n=4, d_in=3, d_out=2, seed=0)),
            ("linear_backward dW", form, lambda f=form: checks.check_linear_backward(
                lambda dout, x, W, b: (dout @ W.T, marked(x.T @ dout)[f], dout.sum(axis=0)),
                n=4, d_in=3, d_out=2, seed=0)),
            ("linear_backward", form, lambda f=form: checks.check_linear_backward(
                lambda dout, x, W, b: marked(0.0)[f], n=4, d_in=3, d_out=2, seed=0)),
            ("relu forward", form, lambda f=form: checks.check_activation(
                "relu", *relu_pair(corrupt_forward=lambda v: marked(v)[f]), (4, 3), 0)),
            ("relu backward", form, lambda f=form: checks.check_activation(
                "relu", *relu_pair(corrupt_backward=lambda v: marked(v)[f]), (4, 3), 0)),
            ("softmax loss", form, lambda f=form: checks.check_softmax_loss(
                softmax_loss(lambda loss, d: (marked(loss)[f], d)), n=5, c=3, seed=0)),
            ("softmax gradient", form, lambda f=form: checks.check_softmax_gradient(
                softmax_loss(lambda loss, d: (loss, marked(d)[f])), n=5, c=3, seed=0)),
            ("softmax large logits", form, lambda f=form: checks.check_softmax_large_logits(
                softmax_loss(lambda loss, d: (marked(loss)[f], d)), n=4, c=3, seed=0)),
            ("two-layer loss", form, lambda f=form: checks.check_two_layer_loss(
                two_layer(lambda loss, g: (marked(loss)[f], g)), n=5, d=4, h=6, c=3, seed=0)),
            ("two-layer gradients", form, lambda f=form: checks.check_two_layer_gradients(
                two_layer(lambda loss, g: (loss, {**g, "b1": marked(g["b1"])[f]})),
                n=5, d=4, h=6, c=3, seed=0)),
            ("two-layer numerically", form, lambda f=form: checks.check_two_layer_numerically(
                two_layer(lambda loss, g: (loss, {**g, "W2": marked(g["W2"])[f]})),
                n=4, d=2, h=3, c=2, seed=0)),
            ("backward numerically", form, lambda f=form: checks.check_backward_numerically(
                "relu_backward", *relu_pair(corrupt_backward=lambda v: marked(v)[f]),
                shapes={"x": (3, 5)}, seed=0)),
            ("gradcheck function", form, lambda f=form: checks.check_gradcheck_function(
                gradcheck_returning(marked(0.0)[f]), n=3, d_in=4, d_out=2, seed=0)),
            ("gradient reports", form, lambda f=form: checks.check_gradient_reports(
                marked(0.0)[f])),
            ("xor weights W2", form, lambda f=form: checks.check_xor_weights(
                {"W1": np.eye(2), "b1": np.zeros(2), "W2": marked(np.ones((2, 1)))[f],
                 "b2": np.zeros(1)})),
            ("xor weights", form, lambda f=form: checks.check_xor_weights(marked(0.0)[f])),
        ]
    return cases


def wrong_answer_cases():
    """``(check, marks, call)``: wrong answers whose message says which points failed, how
    good the network is or what a report measured; ``marks`` are what the message writes
    of the student's values."""
    X, y = datasets.xor(n_per_corner=10, noise=0.03, rng=0)
    # scores of +-MARK: the points it gets wrong are listed with their scores
    xor = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.array([[MARK], [-MARK]]),
           "b2": np.zeros(1)}
    # always class 1: half the XOR points right
    constant = {"W1": np.zeros((2, 2)), "b1": np.zeros(2), "W2": np.zeros((2, 2)),
                "b2": np.array([0.0, 1.0])}
    reports = {name: check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"x": np.full(3, MARK)})
               for name in checks.GRADIENT_REPORTS}
    return [
        ("xor points", ("score",), lambda: checks.check_xor_weights(xor, 10, 0.03, 0)),
        ("accuracy", ("0.500",), lambda: checks.check_accuracy(constant, X, y, 0.95, "xor")),
        ("gradient reports", ("8191.5",), lambda: checks.check_gradient_reports(reports)),
    ]


CASES = [(check, MARKS, call) for check, _, call in student_cases()] + wrong_answer_cases()


@pytest.mark.parametrize("check, marks, call", CASES, ids=[
    f"{check}-{form}" for check, form, _ in student_cases()] + [
    check for check, _, _ in wrong_answer_cases()])
def test_what_the_students_code_returned_is_hidden_from_every_check_message(check, marks,
                                                                           call):
    with pytest.raises(Exception) as raised:  # a marked answer is never right
        call()
    error = raised.value
    if not isinstance(error, CheckFailure):
        # not a check's message (numpy could not read the answer): the grader withholds it
        return
    shown = error.without_returned()
    assert not any(mark in shown for mark in marks), shown


@pytest.mark.parametrize("check", sorted({check for check, _, _ in CASES}))
def test_each_check_writes_some_returned_value_into_its_message(check):
    """The test above is not vacuous: each check does write what the student's code
    returned, which the student who runs the cell reads and the grader then hides."""
    hid = []
    for name, _, call in CASES:
        if name == check:
            try:
                call()
            except Exception as error:  # noqa: BLE001 (only a check's own message counts)
                hid.append(isinstance(error, CheckFailure)
                           and str(error) != error.without_returned())
    assert any(hid), check
