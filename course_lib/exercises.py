"""Checks for the lecture exercises: each says *what* is wrong, never what is right.

A notebook exercise is a cell like::

    answer = ...                     # replace ... with your answer
    check("02.product_feature", answer)

:func:`check` returns a :class:`Verdict` whose one-line ``repr`` is what the cell shows:

* ``not attempted yet`` while the answer is still ``...`` (so a lecture executed blank
  shows the same output every time, and nbval stays strict);
* ``correct`` with a short confirmation;
* ``not yet`` with what is wrong: a shape, a sign, which corners are misclassified, a value
  too large or too small. The message never contains the expected answer.

Answers are taken in every form a student may reasonably write: a few numbers as a tuple, a
list or a 1-D numpy array (:func:`_numbers`), a whole number also as a whole-valued float
such as ``np.ceil``'s result (:func:`_whole`). Any other form is rejected with a message
that names what was given (``got a list of 2 items``) and what is expected.

Every checker computes the truth itself (by running the model, a gradient check or a
search) instead of comparing with a stored answer. Student code that raises is reported,
not propagated. ``EXERCISES`` maps each id to its prompt; the answers live in a collapsed
cell at the end of each notebook, and ``tests/test_lecture_coverage.py`` feeds those
answers, and wrong versions of them, back through :func:`check`.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from course_lib.gradcheck import check_layer, numerical_gradient
from course_lib.layers import Elementwise, Linear, ReLU, Sequential
from course_lib.losses import softmax
from course_lib.perceptron import train_perceptron

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
"""The four inputs of a Boolean function of two bits, shape ``(4, 2)``."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``ok`` is ``None`` (not attempted), ``True`` or ``False``."""

    exercise: str
    ok: bool | None
    message: str

    def __repr__(self):
        status = {None: "not attempted yet", True: "correct", False: "not yet"}[self.ok]
        return f"[{self.exercise}] {status}" + (f": {self.message}" if self.message else "")


class Wrong(Exception):
    """Raised inside a checker with the message the student should read."""


EXERCISES = {}
"""Exercise id -> ``(prompt, checker)``; a checker raises :class:`Wrong` or returns a note."""


def exercise(exercise_id, prompt):
    def register(checker):
        EXERCISES[exercise_id] = (prompt, checker)
        return checker
    return register


def check(exercise_id, answer):
    """Check ``answer`` for exercise ``exercise_id``; ``...`` means not attempted yet."""
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; known: {sorted(EXERCISES)}")
    if answer is Ellipsis:
        return Verdict(exercise_id, None, "replace ... with your answer and run the cell again")
    _, checker = EXERCISES[exercise_id]
    try:
        note = checker(answer)
    except Wrong as wrong:
        return Verdict(exercise_id, False, str(wrong))
    except Exception as error:                        # the student's code raised
        return Verdict(exercise_id, False,
                       f"checking raised {type(error).__name__}: {error}")
    return Verdict(exercise_id, True, note or "")


# ---------------------------------------------------------------- small helpers

def _array(value, shape, name):
    """``value`` as a float64 array of ``shape``, or :class:`Wrong` naming the shape."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{name} should be numbers, got {type(value).__name__}") from None
    if array.shape != shape:
        raise Wrong(f"{name} should have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise Wrong(f"{name} contains NaN or inf")
    return array


def _number(value, name):
    """``value`` as a float: an int, a float, a numpy scalar or a 0-d array (not a bool)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise Wrong(f"{name} should be a number, got {type(value).__name__}")
    return float(value)


def _whole(value, name):
    """``value`` as an int: also ``14.0`` or ``np.float64(133.0)`` (what ``np.ceil`` returns),
    never ``2410.4``; :class:`Wrong` naming ``name`` otherwise."""
    number = _number(value, name)
    if not np.isfinite(number) or not number.is_integer():
        raise Wrong(f"{name} should be a whole number, got {number:.10g}")
    return int(number)


def _describe(value):
    """What the student gave, briefly: ``a list of 3 items``, ``an array of shape (2, 2)``."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _numbers(value, names):
    """One float per name from a tuple, list or 1-D numpy array of ``len(names)`` numbers;
    :class:`Wrong` saying how many numbers, in which order, otherwise."""
    order = f"({', '.join(names)})"
    given = list(value) if isinstance(value, np.ndarray) and value.ndim == 1 else value
    if not isinstance(given, (tuple, list)) or len(given) != len(names):
        raise Wrong(f"give {len(names)} numbers, in the order {order}; got {_describe(value)}")
    value = given
    return [_number(v, name) for v, name in zip(value, names, strict=True)]


def _compare(value, truth, name, rtol=1e-2, atol=1e-9):
    """:class:`Wrong` saying "too large"/"too small" when ``value`` is not ``truth``."""
    value = _number(value, name)
    if not np.isclose(value, truth, rtol=rtol, atol=atol):
        raise Wrong(f"{name} is too {'large' if value > truth else 'small'}")


def _true_or_false_for_each(answer, keys):
    """:class:`Wrong` unless ``answer`` is a dict of exactly ``keys`` to True or False."""
    if not isinstance(answer, dict) or set(answer) != set(keys):
        raise Wrong(f"answer with a dict whose keys are exactly {list(keys)}")
    if not all(isinstance(v, (bool, np.bool_)) for v in answer.values()):
        raise Wrong("each value should be True or False")


def _corners_wrong(outputs, targets, what="the unit"):
    """:class:`Wrong` listing the corners where 0/1 ``outputs`` differ from ``targets``."""
    wrong = [tuple(int(v) for v in corner) for corner, out, t in zip(CORNERS, outputs, targets,
                                                                        strict=True) if out != t]
    if wrong:
        listed = ", ".join(str(c) for c in wrong)
        raise Wrong(f"{what} is wrong on {len(wrong)} of 4 corners: {listed}")


# ---------------------------------------------------------------- 01 history

@exercise("01.nand", "weights (w1, w2, b) of a perceptron g(x1 w1 + x2 w2 + b) that computes NAND")
def _nand(answer):
    w1, w2, b = _numbers(answer, ("w1", "w2", "b"))
    outputs = (CORNERS @ np.array([w1, w2]) + b > 0).astype(int)
    _corners_wrong(outputs, 1 - CORNERS[:, 0].astype(int) * CORNERS[:, 1].astype(int))
    return "NAND, and NAND alone can build every Boolean circuit"


@exercise("01.majority_converges",
          "True or False: the perceptron rule converges on 3-input majority")
def _majority(answer):
    if not isinstance(answer, (bool, np.bool_)):
        raise Wrong(f"answer True or False, got {type(answer).__name__}")
    bits = np.array(list(itertools.product([0, 1], repeat=3)), dtype=np.float64)
    majority = (bits.sum(axis=1) >= 2).astype(np.int64)
    converged = train_perceptron(bits, majority, max_epochs=200).converged
    if bool(answer) != converged:
        raise Wrong("run train_perceptron on it and look: is majority linearly separable?")
    return "majority is separable (x1 + x2 + x3 > 1.5), so Novikoff's bound applies"


def _mark_one_converges(units):
    """Whether 01's Mark I, with ``units`` association units wired as there (plugboard
    seed 0), learns 3 vs 8 with the perceptron rule within 50 epochs."""
    from course_lib import datasets

    X, y = datasets.digits()
    three_or_eight = (y == 3) | (y == 8)
    images = X[three_or_eight].reshape(-1, 8, 8)
    retina = np.pad(np.kron(images, np.ones((1, 2, 2))), ((0, 0), (2, 2), (2, 2)))
    R_train, _, t_train, _ = datasets.train_test_split(
        retina.reshape(-1, 400), (y[three_or_eight] == 8).astype(np.int64), rng=0)
    rng = np.random.default_rng(0)
    plugboard = np.zeros((400, units))
    for unit in range(units):
        cells = rng.choice(400, size=10, replace=False)
        plugboard[cells, unit] = rng.choice([-1.0, 1.0], size=10)
    features = (R_train @ plugboard > 0.5).astype(np.float64)
    return train_perceptron(features, t_train, max_epochs=50, rng=0).converged


MARK_ONE_UNITS = (16, 128, 2048)


@exercise("01.mark_one_units",
          "a dict {16: ..., 128: ..., 2048: ...}: does the Mark I with that many random "
          "association units learn 3 vs 8 (True or False)?")
def _mark_one_units(answer):
    _true_or_false_for_each(answer, MARK_ONE_UNITS)
    wrong = sum(bool(answer[n]) != _mark_one_converges(n) for n in MARK_ONE_UNITS)
    if wrong:
        raise Wrong(f"{wrong} of the 3 answers {'is' if wrong == 1 else 'are'} wrong: "
                    "rebuild the plugboard with that many units and train it")
    return ("with too few fixed random features the rule finds no separating line in 50 "
            "epochs: the features, not the learning rule, limited the Mark I")


BOOLEAN_FUNCTIONS = {
    "AND": lambda x: x[:, 0] * x[:, 1],
    "NAND": lambda x: 1 - x[:, 0] * x[:, 1],
    "XNOR": lambda x: 1 - (x[:, 0] + x[:, 1]) % 2,
    "x1 AND NOT x2": lambda x: x[:, 0] * (1 - x[:, 1]),
    "majority of 3": lambda x: (x.sum(axis=1) >= 2).astype(np.float64),
    "parity of 3": lambda x: x.sum(axis=1) % 2,
}
"""Name -> the function on a ``(2**n, n)`` array of 0/1 corners (n = 2 or 3), as 0/1."""


def _separable(function, n):
    """Whether one threshold unit on ``n`` raw bits computes ``function``: True if some
    integer weights ``w`` in [-3, 3]^n put every 1-corner above every 0-corner (then a
    bias fits between). Exhaustive for n <= 3: every threshold function of up to 4
    variables has integer weights of magnitude 3 or less (Muroga, *Threshold Logic*, 1971).
    """
    corners = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)
    ones = function(corners) == 1
    weights = np.array(list(itertools.product(range(-3, 4), repeat=n)), dtype=np.float64)
    scores = corners @ weights.T                                   # (2**n, 7**n)
    return bool(np.any(scores[ones].min(axis=0) > scores[~ones].max(axis=0)))


@exercise("01.separable",
          "a dict {name: True or False}: can one perceptron on the raw bits compute it?")
def _separable_functions(answer):
    _true_or_false_for_each(answer, BOOLEAN_FUNCTIONS)
    truth = {name: _separable(f, 3 if name.endswith("of 3") else 2)
             for name, f in BOOLEAN_FUNCTIONS.items()}
    too_hopeful = sum(answer[n] and not truth[n] for n in truth)
    missed = sum(truth[n] and not answer[n] for n in truth)
    wrong = [f"{too_hopeful} you marked True cannot be computed by one perceptron"] * bool(
        too_hopeful) + [f"{missed} you marked False can be"] * bool(missed)
    if wrong:
        raise Wrong("; ".join(wrong) + " (try train_perceptron on their truth tables)")
    return ("a single unit draws one line (or plane): AND, NAND, majority and x1 AND NOT x2 "
            "fit, XNOR and parity never do")


@exercise("01.top5_chance",
          "top-5 error of five uniform random guesses: (on 10 digit classes, on 1,000 classes)")
def _top5(answer):
    errors = _numbers(answer, ("error on 10 classes", "error on 1,000 classes"))
    for value, classes in zip(errors, (10, 1000), strict=True):
        _compare(value, 1 - 5 / classes, f"the error for {classes:,} classes", rtol=1e-3)
    return "top-5 on 10 classes is a much easier test than top-5 on 1,000"



def _tiny_network_loss(x, y, w1, w2):
    """L = -[y ln p + (1 - y) ln(1 - p)] with p = sigma(w2 tanh(w1 x)): scalars in, scalar out."""
    p = _sigmoid(w2 * np.tanh(w1 * x))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _tiny_network_gradients(x, y, w1, w2, step=1e-6):
    """Central differences of :func:`_tiny_network_loss` in ``w1`` and in ``w2``."""
    return ((_tiny_network_loss(x, y, w1 + step, w2) - _tiny_network_loss(x, y, w1 - step, w2))
            / (2 * step),
            (_tiny_network_loss(x, y, w1, w2 + step) - _tiny_network_loss(x, y, w1, w2 - step))
            / (2 * step))


@exercise("01.tiny_backprop",
          "tiny_gradients(x, y, w1, w2) -> (dL/dw1, dL/dw2) for p = sigma(w2 tanh(w1 x)) "
          "and the binary cross-entropy L")
def _tiny_backprop(answer):
    rng = np.random.default_rng(1986)
    for x, w1, w2 in rng.normal(0, 1.5, size=(6, 3)):
        for y in (0.0, 1.0):
            returned = _numbers(answer(float(x), y, float(w1), float(w2)),
                                ("dL/dw1", "dL/dw2"))
            truths = _tiny_network_gradients(x, y, w1, w2)
            for name, truth, got in zip(("dL/dw1", "dL/dw2"), truths, returned, strict=True):
                if abs(truth) > 1e-6 and np.isclose(got, -truth, rtol=1e-4):
                    raise Wrong(f"{name} has the wrong sign (at x={x:.2f}, y={y:.0f})")
                if not np.isclose(got, truth, rtol=1e-4, atol=1e-7):
                    raise Wrong(f"{name} is too {'large' if got > truth else 'small'} at "
                                f"x={x:.2f}, y={y:.0f}, w1={w1:.2f}, w2={w2:.2f}: follow the "
                                f"chain from {name[4:]} to L, one derivative per link of "
                                "z1 = w1 x, h = tanh(z1), z2 = w2 h, p = sigma(z2), L")
    return ("both gradients start from dL/dz2 = p - y: backpropagation computes such shared "
            "factors once, from the loss back towards the input")


@exercise("01.kernel_memory",
          "gigabytes (10^9 bytes) that the kernel matrix K of 60,000 training examples "
          "takes in float64")
def _kernel_memory(answer):
    value = _number(answer, "the size in gigabytes")
    truth = 60_000**2 * 8 / 1e9
    for wrong, why in ((truth / 8, "each float64 value takes 8 bytes"),
                       (60_000 * 8 / 1e9, "K has one value for every pair of examples"),
                       (truth * 1e9, "give gigabytes, not bytes (1 GB = 10^9 bytes)"),
                       (truth * 1e3, "give gigabytes, not megabytes")):
        if np.isclose(value, wrong, rtol=1e-2):
            raise Wrong(why)
    _compare(value, truth, "the size in gigabytes", rtol=1e-2)
    return ("28.8 GB for the matrix alone, and the solve costs about n^3 / 3 multiply-adds: a "
            "network's parameters do not grow with n")


@exercise("01.lenet_unshared",
          "trainable parameters of LeNet-5's C1 (6 maps of 28x28 units, 5x5 inputs each, from "
          "one 32x32 image) if no weights were shared: every unit its own 5x5 weights and bias")
def _lenet_unshared(answer):
    answer = _whole(answer, "the number of parameters")
    truth = 6 * 28 * 28 * (5 * 5 + 1)
    if answer == 6 * (5 * 5 + 1):
        raise Wrong("that is C1 with shared weights (the cell above): now give every unit "
                    "its own")
    if answer != truth:
        raise Wrong(f"{answer:,} is too {'many' if answer > truth else 'few'}: count the units "
                    "of the 6 maps, then the parameters of one unit")
    return "784 times the 156 shared parameters: weight sharing is what keeps C1 small"

# ---------------------------------------------------------------- 02 XOR

@exercise("02.product_feature",
          "(w1, w2, w3, b) with step(w1 x1 + w2 x2 + w3 x1 x2 + b) = XOR on the corners")
def _product_feature(answer):
    weights = _array(answer, (4,), "(w1, w2, w3, b)")
    features = np.column_stack([CORNERS, CORNERS[:, 0] * CORNERS[:, 1], np.ones(4)])
    outputs = (features @ weights > 0).astype(int)
    _corners_wrong(outputs, np.array([0, 1, 1, 0]), "your threshold unit")
    return "with the feature x1 x2 the four points are linearly separable in 3-D"


@exercise("02.separable_count",
          "how many of the 16 Boolean functions of two inputs does some line separate?")
def _separable_count(answer):
    grid = np.linspace(-2, 2, 17)
    lines = np.array(list(itertools.product(grid, grid, grid)))          # (w1, w2, b) rows
    outputs = (CORNERS @ lines[:, :2].T + lines[:, 2] > 0).astype(int)   # (4, lines)
    reachable = {tuple(column) for column in outputs.T}
    value = _whole(answer, "the number of functions")
    if value != len(reachable):
        raise Wrong(f"{value} is too {'many' if value > len(reachable) else 'few'}: "
                    "go through the 16 truth tables and try to draw a line for each")
    return "every function except XOR and XNOR"



@exercise("02.and_from_hidden",
          "output weights (v1, v2, c) on 02's hidden layer h1 = relu(x1 + x2), "
          "h2 = relu(x1 + x2 - 1) so that v1 h1 + v2 h2 + c > 0 exactly where AND is 1")
def _and_from_hidden(answer):
    v = _array(answer, (3,), "(v1, v2, c)")
    total = CORNERS.sum(axis=1)
    hidden = np.column_stack([np.maximum(0, total), np.maximum(0, total - 1), np.ones(4)])
    _corners_wrong((hidden @ v > 0).astype(int), np.array([0, 0, 0, 1]), "your output unit")
    return "h2 is positive only at (1, 1): the hidden layer already separates AND, as it does XOR"

# ---------------------------------------------------------------- 03 computation

@exercise("03.shapes", 'shapes {"W": ..., "b": ..., "y": ...} for Linear(5, 3) on a batch of 7')
def _shapes(answer):
    if not isinstance(answer, dict) or set(answer) != {"W", "b", "y"}:
        raise Wrong('give a dict with the keys "W", "b" and "y"')
    given = {key: _shape(answer[key], key) for key in ("W", "b", "y")}
    layer = Linear(5, 3, rng=0)
    truth = {"W": layer.params["W"].shape, "b": layer.params["b"].shape,
             "y": layer.forward(np.zeros((7, 5))).shape}
    wrong = [key for key in ("W", "b", "y") if given[key] != truth[key]]
    if wrong:
        raise Wrong(f"the shape of {', '.join(wrong)} is wrong (rows are examples)")
    return "W has one column per output unit"


def _shape(value, name):
    """A shape given as a tuple (or list) of whole numbers, as a tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        raise Wrong(f"the shape of {name} is a number, not a tuple: a shape with one entry "
                    "needs a comma, (n,); (n) is just the number n")
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = list(value)
    if not isinstance(value, (tuple, list)):
        raise Wrong(f"the shape of {name} should be a tuple such as (2, 4), got "
                    f"{_describe(value)}")
    return tuple(_whole(n, f"each entry of the shape of {name}") for n in value)


@exercise("03.collapse", "a function collapse(W1, b1, W2, b2) -> (W_hat, b_hat)")
def _collapse(answer):
    rng = np.random.default_rng(7)
    W1, b1 = rng.normal(size=(4, 6)), rng.normal(size=6)
    W2, b2 = rng.normal(size=(6, 3)), rng.normal(size=3)
    try:
        result = answer(W1.copy(), b1.copy(), W2.copy(), b2.copy())
    except ValueError as error:                        # numpy's shape mismatch, usually
        raise Wrong(f"your function raised ValueError ({error}). Here W1 is (4, 6), b1 (6,), "
                    "W2 (6, 3) and b2 (3,): write down the shape of each term; only arrays "
                    "of the same shape add up, and (a, b) @ (b, c) is (a, c)") from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Wrong(f"return a pair (W_hat, b_hat); got {_describe(result)}")
    W_hat = _array(result[0], (4, 3), "W_hat (for W1 (4, 6) and W2 (6, 3))")
    b_hat = _array(result[1], (3,), "b_hat")
    X = rng.normal(size=(10, 4))
    stack = (X @ W1 + b1) @ W2 + b2
    problems = []
    if not np.allclose(X @ W_hat, stack - (b1 @ W2 + b2)):
        problems.append("W_hat")
    if not np.allclose(b_hat, b1 @ W2 + b2):
        problems.append("b_hat")
    if problems:
        raise Wrong(f"{' and '.join(problems)} wrong: X @ W_hat + b_hat must equal the stack")
    return "two linear layers are one"


@exercise("03.xor_constant",
          "(p, loss): the probability the best affine model gives every XOR corner, and "
          "its mean cross-entropy")
def _xor_constant(answer):
    p, loss = _numbers(answer, ("p", "loss"))
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    candidates = np.linspace(1e-3, 1 - 1e-3, 9999)
    losses = -np.mean(targets[:, None] * np.log(candidates)
                      + (1 - targets[:, None]) * np.log(1 - candidates), axis=0)
    best = candidates[np.argmin(losses)]
    _compare(p, best, "p", rtol=1e-2)
    _compare(loss, -np.mean(targets * np.log(best) + (1 - targets) * np.log(1 - best)),
             "the loss", rtol=1e-3)
    return "by symmetry the best affine logit is 0 at every corner: a coin flip, loss ln 2"


# ---------------------------------------------------------------- 04 non-linearities

def _sigmoid(y):
    return 0.5 * (1.0 + np.tanh(0.5 * y))


@exercise("04.sigmoid_prime", "a function sigmoid_prime(y) written with sigmoid(y) only")
def _sigmoid_prime(answer):
    y = np.linspace(-6, 6, 25).reshape(5, 5)
    truth = numerical_gradient(lambda v: np.sum(_sigmoid(v)), y.copy())
    _elementwise_matches(answer(y.copy()), truth, y)
    return "sigma' = sigma (1 - sigma), at most 1/4"


def _elementwise_matches(student, truth, points):
    student = np.asarray(student, dtype=np.float64)
    if student.shape != truth.shape:
        raise Wrong(f"your function returns shape {student.shape} for an input of shape "
                    f"{truth.shape}: it should work entry by entry")
    if np.allclose(student, truth, rtol=1e-5, atol=1e-8):
        return
    if np.allclose(student, -truth, rtol=1e-5, atol=1e-8):
        raise Wrong("the sign is wrong everywhere")
    safe = np.abs(truth) > 1e-8
    ratio = student[safe] / truth[safe]
    if np.ptp(ratio) < 1e-6 * max(1.0, abs(ratio.mean())):
        raise Wrong(f"off by a constant factor: yours / true = {ratio.mean():.3g}")
    worst = np.unravel_index(np.argmax(np.abs(student - truth)), truth.shape)
    raise Wrong(f"wrong values; the worst is at input {points[worst]:+.3g}")


class _ELU(Elementwise):
    """ELU with alpha = 1: ``x`` for ``x > 0``, ``e^x - 1`` otherwise; ``df`` from the student."""

    def __init__(self, df):
        super().__init__()
        self._student_df = df

    def f(self, x):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def df(self, x, out):
        return self._student_df(x, out)


@exercise("04.elu_backward", "elu_df(x, out): the derivative of ELU, from its input and output")
def _elu_backward(answer):
    x = np.random.default_rng(4).normal(0, 2, size=(6, 5))
    x = np.where(np.abs(x) < 1e-2, 1e-2, x)           # keep off the kink at 0
    report = check_layer(_ELU(answer), x, dout=np.ones_like(x))    # dL/dx = g'(x) itself
    if not report.ok:
        entry = report["x"]
        raise Wrong(f"the gradient check fails: at input {x[entry.worst_index]:+.3g} your "
                    f"derivative is {entry.analytic:+.4g}, the numerical one {entry.numeric:+.4g}")
    return "ELU's slope for x < 0 is e^x = out + 1: backward can reuse the forward output"


@exercise("04.dead_bias",
          "the largest bias b for which a ReLU unit with w = (1, 1) is dead on the four XOR "
          "corners")
def _dead_bias(answer):
    b = _number(answer, "your bias")
    pre = CORNERS @ np.array([1.0, 1.0]) + b
    alive = [tuple(int(v) for v in corner) for corner, p in zip(CORNERS, pre, strict=True)
             if p > 0]
    if alive:
        raise Wrong(f"with b = {b:g} the unit still fires (pre-activation > 0) on "
                    f"{', '.join(map(str, alive))}")
    if not np.isclose(b, -2.0):
        raise Wrong(f"b = {b:g} kills the unit, but so does a larger bias: find the largest")
    return "at b = -2 the pre-activation at (1, 1) is exactly 0, where ReLU' = 0 in course_lib"


# ---------------------------------------------------------------- 05 MLP

def _two_layer_relu(answer, d_in, name):
    if not isinstance(answer, dict) or set(answer) != {"W1", "b1", "W2", "b2"}:
        raise Wrong('give a dict with the keys "W1", "b1", "W2", "b2"')
    net = Sequential(Linear(d_in, 2), ReLU(), Linear(2, 1))
    for key, param, shape in (("W1", net[0].params["W"], (d_in, 2)),
                              ("b1", net[0].params["b"], (2,)),
                              ("W2", net[2].params["W"], (2, 1)),
                              ("b2", net[2].params["b"], (1,))):
        param[...] = _array(answer[key], shape, f"{name} {key} (course_lib rows: x @ W + b)")
    return net


@exercise("05.xnor", "weights of a 2-2-1 ReLU net whose output is above 1/2 exactly where "
                     "XNOR is 1")
def _xnor(answer):
    net = _two_layer_relu(answer, 2, "XNOR")
    outputs = (net.forward(CORNERS)[:, 0] > 0.5).astype(int)
    _corners_wrong(outputs, np.array([1, 0, 0, 1]), "your network")
    return "XNOR is 1 - XOR: flip the output layer"


@exercise("05.abs", "weights of a 1-2-1 ReLU net computing |x|")
def _abs(answer):
    net = _two_layer_relu(answer, 1, "|x|")
    x = np.linspace(-3, 3, 13).reshape(-1, 1)
    error = net.forward(x)[:, 0] - np.abs(x[:, 0])
    bad = np.abs(error) > 1e-9
    if bad.any():
        sides = [side for side, mask in (("x < 0", x[:, 0] < 0), ("x = 0", x[:, 0] == 0),
                                         ("x > 0", x[:, 0] > 0)) if (bad & mask).any()]
        raise Wrong(f"your net differs from |x| for {' and '.join(sides)}")
    return "|x| = max(0, x) + max(0, -x)"


@exercise("05.param_count", "parameters of Sequential(Linear(64, 32), ReLU(), Linear(32, 10))")
def _param_count(answer):
    model = Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
    truth = sum(p.size for _, p, _ in model.parameters())
    count = _whole(answer, "your count")
    if count != truth:
        raise Wrong(f"your count is too {'large' if count > truth else 'small'}")
    return "weights and biases of both layers"


@exercise("05.compose",
          "f(X) for a batch X (N, 2): the network max(0, X W1) W2 with W1 = [[1, -1], [-1, 1]] "
          "and W2 = [[1], [1]], in closed form")
def _compose(answer):
    X = np.random.default_rng(5).normal(0, 3, size=(20, 2))
    truth = np.abs(X[:, 0] - X[:, 1])
    out = np.asarray(answer(X.copy()), dtype=np.float64)
    if out.size != len(X):
        raise Wrong(f"f(X) should give one number per row of X: {len(X)}, got shape {out.shape}")
    out = out.reshape(-1)
    if np.allclose(out, -truth):
        raise Wrong("right size, wrong sign: a sum of ReLUs with positive weights is >= 0")
    wrong = int(np.sum(~np.isclose(out, truth)))
    if wrong:
        raise Wrong(f"f(X) differs from the network on {wrong} of {len(X)} random points; "
                    "compose the two layers one at a time")
    return "max(0, x1 - x2) + max(0, x2 - x1) = |x1 - x2|: two ReLUs make a fold"


# ---------------------------------------------------------------- 06 learning

@exercise("06.bce_grad", "dL_dz(z, y) for L = -[y ln s(z) + (1 - y) ln(1 - s(z))]")
def _bce_grad(answer):
    z = np.linspace(-5, 5, 12).reshape(3, 4)
    y = np.tile([0.0, 1.0], 6).reshape(3, 4)

    def loss(v):
        s = _sigmoid(v)
        return np.sum(-(y * np.log(s) + (1 - y) * np.log(1 - s)))

    _elementwise_matches(answer(z.copy(), y.copy()), numerical_gradient(loss, z.copy()), z)
    return "dL/dz = s(z) - y: no s'(z) factor, so a saturated wrong unit still learns"


@exercise("06.sign_error_check",
          "the max relative error a gradient check reports for a backward with its sign flipped")
def _sign_error(answer):
    x = np.random.default_rng(0).normal(size=(4, 3))

    class Flipped(Elementwise):
        def f(self, v):
            return np.tanh(v)

        def df(self, v, out):
            return -(1 - out**2)

    truth = check_layer(Flipped(), x)["x"].max_rel_error
    _compare(answer, truth, "your prediction", rtol=1e-6, atol=1e-6)
    return "|a - (-a)| / (|a| + |-a|) = 1 at every entry"


@exercise("06.saturation_ratio",
          "at z = -6, y = 1: |dL/dz| of cross-entropy divided by |dL/dz| of the squared loss")
def _saturation_ratio(answer):
    z, y = -6.0, 1.0
    s = _sigmoid(z)
    _compare(answer, abs(s - y) / abs((s - y) * s * (1 - s)), "your ratio", rtol=0.02)
    return "1 / s'(-6): the squared loss's gradient is hundreds of times smaller there"



@exercise("06.backprop_depth",
          "the smallest chain depth K at which the naive chain rule needs more than 100 times "
          "the multiplications of backprop")
def _backprop_depth(answer):
    answer = _whole(answer, "the depth K")
    if answer < 1:
        raise Wrong("give a whole number of units K >= 1")

    def ratio(K):
        return (3 * K**2 + 2 * K) / (4 * K - 1)

    if ratio(answer) <= 100:
        raise Wrong(f"at K = {answer} the naive rule does {ratio(answer):.1f} times the work: "
                    "not yet more than 100 times; go deeper")
    if answer > 1 and ratio(answer - 1) > 100:
        raise Wrong(f"at K = {answer} the ratio is {ratio(answer):.1f}, but a shallower chain "
                    "already passes 100: look for the smallest K")
    return "the ratio grows like 3K / 4: linear in depth"

# ---------------------------------------------------------------- 07 representational power

def _staircase_max_error(H):
    # 07's staircase_network(H) on [-2, 2] (sharpness 40) against sin(3x) + 0.3x^2, 4001 points
    x = np.linspace(-2.0, 2.0, 4001)[:, None]
    samples = np.linspace(-2.0, 2.0, H + 1)
    positions = 0.5 * (samples[1:] + samples[:-1])
    steepness = 40.0 / (samples[1] - samples[0])
    target = np.sin(3 * samples) + 0.3 * samples**2
    steps = 0.5 * (1 + np.tanh(0.5 * steepness * (x - positions)))     # sigma, overflow-free
    approximation = target[0] + steps @ np.diff(target)
    return float(np.max(np.abs(approximation - (np.sin(3 * x) + 0.3 * x**2)[:, 0])))


@exercise("07.staircase_units",
          "the fewest hidden units H (within 25%) for which the staircase's max error is "
          "below 0.01")
def _staircase_units(answer):
    answer = _whole(answer, "the number of hidden units H")
    if answer < 1:
        raise Wrong("give a whole number of hidden units H >= 1")
    if answer > 20_000:
        raise Wrong("far more units than needed: use the table's error x H")
    error = _staircase_max_error(int(answer))
    if error >= 0.01:
        raise Wrong(f"with H = {answer} the max error is {error:.4f}: not below 0.01 yet")
    fewer = int(answer / 1.25)
    if fewer >= 1 and _staircase_max_error(fewer) < 0.01:
        raise Wrong(f"H = {answer} works (max error {error:.4f}), but 20% fewer units would "
                    "too: look for the fewest")
    return f"max error {error:.4f}: about 6.2 / H, so 1/H accuracy costs H units"


def _tent(x, depth):
    for _ in range(depth):
        x = np.where(x < 0.5, 2 * x, 2 - 2 * x)
    return x


@exercise("07.sawtooth_pieces",
          "(pieces of T^10 on [0, 1], fewest hidden units of a one-hidden-layer ReLU net for it)")
def _sawtooth_pieces(answer):
    given_pieces, given_units = (_whole(v, name) for v, name in zip(
        _numbers(answer, ("pieces", "units")), ("the number of pieces", "the number of units"),
        strict=True))
    x = np.linspace(0, 1, 2**14 + 1)            # every kink j / 2^10 is a grid point
    slopes = np.diff(_tent(x, 10)) / np.diff(x)
    changes = np.diff(slopes)[np.diff(slopes) != 0]        # the slope change at each kink
    kinks = len(changes)
    pieces = kinks + 1
    # A unit adds one kink, so at least one unit per kink. With exactly that many, no unit is
    # left over: the first piece's slope is a sum of (minus) some of the changes, a multiple
    # of their common factor; if the slope is not, one more unit is needed.
    factor = np.gcd.reduce(np.abs(changes).round().astype(np.int64))
    units = kinks + int(not np.isclose(slopes[0] / factor, np.round(slopes[0] / factor)))
    if given_pieces != pieces:
        raise Wrong(f"the number of pieces is too {'large' if given_pieces > pieces else 'small'}"
                    ": each tent map doubles them")
    if given_units == kinks < units:
        raise Wrong("that many units can make every kink, but counting kinks gives a lower "
                    "bound only: with one unit per kink, what can the slope of the first "
                    "piece be?")
    if given_units != units:
        raise Wrong(f"the number of units is too {'large' if given_units > units else 'small'}")
    return (f"{kinks} kinks, each a slope change of ±{factor:.0f}: with one unit per kink the "
            f"first piece's slope would be a sum of such changes, never {slopes[0]:.0f}; one "
            "unit more does it")


@exercise("07.softmax_pair", "softmax of the scores (0, ln 3), as (p1, p2)")
def _softmax_pair(answer):
    p = _array(answer, (2,), "(p1, p2)")
    truth = softmax(np.array([[0.0, np.log(3.0)]]))[0]
    if not np.isclose(p.sum(), 1.0):
        raise Wrong("softmax outputs sum to 1")
    if not np.allclose(p, truth, atol=1e-3):
        raise Wrong("the larger score gets the larger probability, in the ratio e^(s2 - s1)"
                    if p[0] >= p[1] else "not quite: look at the ratio p2 / p1")
    return "p2 / p1 = e^(ln 3) = 3"


@exercise("06.linear_backward",
          "linear_backward(X, W, G) -> (dX, dW, db) for Y = X W + b and G = dL/dY, "
          "as matrix products")
def _linear_backward(answer):
    rng = np.random.default_rng(6)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    G = rng.normal(size=(5, 2))                      # L = sum(G * Y) has dL/dY = G
    returned = answer(X.copy(), W.copy(), G.copy())
    if not isinstance(returned, (tuple, list)) or len(returned) != 3:
        raise Wrong(f"return three arrays, in the order (dX, dW, db); got {_describe(returned)}")
    truths = {
        "dX": numerical_gradient(lambda v: np.sum(G * (v @ W + b)), X.copy()),
        "dW": numerical_gradient(lambda v: np.sum(G * (X @ v + b)), W.copy()),
        "db": numerical_gradient(lambda v: np.sum(G * (X @ W + v)), b.copy()),
    }
    for (name, truth), value in zip(truths.items(), returned, strict=True):
        got = _array(value, truth.shape, name)
        if np.allclose(got, -truth, atol=1e-6):
            raise Wrong(f"{name} has the wrong sign")
        if not np.allclose(got, truth, atol=1e-6):
            worst = np.unravel_index(np.argmax(np.abs(got - truth)), truth.shape)
            raise Wrong(f"{name} differs from the numerical gradient, most at entry "
                        f"{tuple(int(k) for k in worst)}")
    return "dX = G W^T, dW = X^T G, db = the rows of G summed: one sum over paths each"
