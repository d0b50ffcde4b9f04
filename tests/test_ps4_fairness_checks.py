"""PS4's checks after the fairness review: each hint fits what the check saw, correct
code passes, and the code each finding was about fails with a message that names it.

Expected values come from numpy here, never from the checks' own references.
"""

import numpy as np
import pytest

from course_lib import datasets
from course_lib import ps4_checks as checks
from course_lib.gradcheck import check_gradients


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sigmoid_backward(dout, x):
    s = sigmoid(x)
    return dout * s * (1.0 - s)


def relu_backward(dout, x):
    return dout * (x > 0)


def stale_pair(kind):
    """A forward that keeps what it computed and a backward that uses it, not x."""
    kept = {}

    def forward(x, *a):
        kept["x"] = np.array(x, dtype=float)
        return sigmoid(x) if kind == "sigmoid" else np.maximum(x, 0.0)

    def backward(dout, x, *a):
        seen = kept["x"]
        return sigmoid_backward(dout, seen) if kind == "sigmoid" else relu_backward(dout, seen)

    return forward, backward


@pytest.mark.parametrize("kind", ["relu", "sigmoid"])
def test_a_backward_that_reuses_the_last_forward_fails_saying_so(kind):
    forward, backward = stale_pair(kind)
    with pytest.raises(AssertionError) as e:
        checks.check_activation(kind, forward, backward, shape=(4, 3), seed=0)
    assert f"{kind}_backward must compute from its own argument x" in str(e.value)
    assert "called after" in str(e.value)


@pytest.mark.parametrize("kind, forward, backward", [
    ("relu", lambda x: np.maximum(x, 0.0), relu_backward),
    ("sigmoid", sigmoid, sigmoid_backward),
])
def test_a_backward_computed_from_x_passes(kind, forward, backward):
    checks.check_activation(kind, forward, backward, shape=(4, 3), seed=0)
    checks.check_activation(kind, forward, backward, shape=(3, 4, 2), seed=31)


def test_a_backward_with_a_cache_checked_against_x_passes():
    """Caching is fine when backward checks the cache is for its own x."""
    kept = {}

    def forward(x):
        kept["x"], kept["s"] = x.copy(), sigmoid(x)
        return kept["s"]

    def backward(dout, x):
        s = kept["s"] if np.array_equal(kept.get("x"), x) else sigmoid(x)
        return dout * s * (1.0 - s)

    checks.check_activation("sigmoid", forward, backward, shape=(5, 2), seed=40)


def wrong_loss(offset):
    def loss(scores, labels):
        n = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        grad = np.exp(log_p)
        grad[np.arange(n), labels] -= 1
        return -log_p[np.arange(n), labels].mean() + offset, grad / n
    return loss


def test_a_wrong_scalar_is_not_called_a_constant_factor():
    with pytest.raises(AssertionError) as e:
        checks.check_softmax_loss(wrong_loss(0.1), n=5, c=3, seed=0)
    message = str(e.value)
    assert "constant factor" not in message and "entries differ" not in message
    rng = np.random.default_rng(0)  # the check's inputs for seed 0
    scores, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, size=5)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), labels]))
    assert f"wrong values: got {expected + 0.1:.6g}, expected {expected:.6g}" in message


def test_an_array_off_by_a_factor_still_says_so():
    with pytest.raises(AssertionError, match="off by a constant factor, you return 0.5 times"):
        checks.assert_matches(np.array([0.5, 1.0, -1.5]), np.array([1.0, 2.0, -3.0]), "dW")
    with pytest.raises(AssertionError) as e:
        checks.assert_matches(2.0, 1.0, "loss")
    assert "constant factor" not in str(e.value) and "got 2, expected 1" in str(e.value)


def test_renamed_parameters_are_named_in_the_hint():
    def relu_backward_renamed(dout, cache):
        return dout * (cache > 0)

    with pytest.raises(AssertionError) as e:
        checks.check_backward_numerically("relu_backward", lambda x: np.maximum(x, 0.0),
                                          relu_backward_renamed, shapes={"x": (3, 5)},
                                          seed=102)
    assert "keep the parameter names, def relu_backward(dout, x)" in str(e.value)

    def linear_forward_renamed(X, W, b):
        return X @ W + b

    with pytest.raises(AssertionError, match=r"def linear_forward\(x, W, b\)"):
        checks.check_backward_numerically(
            "linear_backward", linear_forward_renamed,
            lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum(0)),
            shapes={"x": (3, 5), "W": (5, 4), "b": (4,)}, seed=100)


def test_a_type_error_of_another_cause_is_not_blamed_on_names():
    def relu_backward_broken(dout, x):
        return dout * (x > "0")  # TypeError by position too

    with pytest.raises(TypeError):
        checks.check_backward_numerically("relu_backward", lambda x: np.maximum(x, 0.0),
                                          relu_backward_broken, shapes={"x": (3, 5)},
                                          seed=102)


def test_the_right_names_pass_the_numerical_check():
    checks.check_backward_numerically("relu_backward", lambda x: np.maximum(x, 0.0),
                                      relu_backward, shapes={"x": (3, 5)}, seed=102)


def gradcheck_with(dout_kind):
    def gradcheck_function(forward, backward, inputs, rng=0):
        rng = np.random.default_rng(rng)
        inputs = {k: np.array(v, dtype=float) for k, v in inputs.items()}
        shape = np.shape(forward(**inputs))
        dout = np.ones(shape) if dout_kind == "ones" else rng.standard_normal(shape)
        grads = dict(zip(inputs, backward(dout, **inputs), strict=True))
        return check_gradients(lambda: np.sum(forward(**inputs) * dout), inputs, grads)
    return gradcheck_function


def test_a_gradient_check_with_dout_all_ones_is_caught():
    with pytest.raises(AssertionError) as e:
        checks.check_gradcheck_function(gradcheck_with("ones"), n=3, d_in=4, d_out=2, seed=0)
    assert "ignores dout" in str(e.value) and "draw dout at random" in str(e.value)
    for seed in (0, 90):
        checks.check_gradcheck_function(gradcheck_with("random"), n=3, d_in=4, d_out=2,
                                        seed=seed)


def test_a_leaky_backward_with_a_fixed_slope_is_named():
    with pytest.raises(AssertionError, match="a \\* dout with the argument a=0.1, not a fixed"):
        checks.check_activation("leaky_relu", lambda x, a=0.01: np.where(x >= 0, x, a * x),
                                lambda dout, x, a=0.01: dout * np.where(x >= 0, 1.0, 0.01),
                                shape=(1, 5), seed=1, a=0.1)


def test_a_row_of_underflowing_exps_is_not_called_an_overflow():
    def global_shift(scores, labels):
        n = scores.shape[0]
        e = np.exp(scores - scores.max())
        p = e / e.sum(axis=1, keepdims=True)
        grad = p.copy()
        grad[np.arange(n), labels] -= 1
        return -np.log(p[np.arange(n), labels]).mean(), grad / n

    with np.errstate(all="ignore"), pytest.raises(AssertionError) as e:
        checks.check_softmax_large_logits(global_shift, n=4, c=3, seed=0, scale=1e4)
    assert "underflowed to 0" in str(e.value) and "maximum of the whole array" in str(e.value)


# --- digits: the hidden check averages three splits -----------------------------------


def train_sgd(X, y, hidden=64, epochs=5, lr=0.1, batch=64, momentum=0.9, learn=True):
    """The notebook's init_params and train with the solution's two_layer_loss, in numpy."""
    rng = np.random.default_rng(0)
    p = {"W1": rng.normal(0.0, np.sqrt(2 / 64), (64, hidden)), "b1": np.zeros(hidden),
         "W2": rng.normal(0.0, np.sqrt(2 / hidden), (hidden, 10)), "b2": np.zeros(10)}
    v = {k: np.zeros_like(w) for k, w in p.items()}
    order_rng = np.random.default_rng(0)
    for _ in range(epochs if learn else 0):
        order = order_rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start:start + batch]
            Xb, yb = X[rows], y[rows]
            z = Xb @ p["W1"] + p["b1"]
            h = np.maximum(z, 0)
            s = h @ p["W2"] + p["b2"]
            s = s - s.max(axis=1, keepdims=True)
            prob = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
            prob[np.arange(len(yb)), yb] -= 1
            ds = prob / len(yb)
            dz = (ds @ p["W2"].T) * (z > 0)
            grads = {"W1": Xb.T @ dz, "b1": dz.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}
            for k in p:
                v[k] = momentum * v[k] - lr * grads[k]
                p[k] += v[k]
    return p


def visible(train):
    X, y = datasets.digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, rng=0)
    params = train(X_train, y_train)
    return params, float(np.mean(np.argmax(np.maximum(X_test @ params["W1"] + params["b1"], 0)
                                           @ params["W2"] + params["b2"], axis=1) == y_test))


@pytest.mark.parametrize("config", [
    {},  # a handful of epochs with momentum: 64 hidden, 5 epochs, batch 64
    {"epochs": 8, "lr": 0.3},  # the review's td-64h-8ep-lr03
    {"epochs": 15, "batch": 32},  # the solution's
])
def test_training_that_passes_the_visible_split_passes_the_hidden_check(config):
    def train(X, y):
        return train_sgd(X, y, **config)

    params, accuracy = visible(train)
    assert accuracy >= 0.95  # the visible test passes
    checks.check_digits_training(train, seeds=(3, 7), at_least=0.88, trained=(params, 0))


@pytest.mark.parametrize("config, most", [
    ({"learn": False}, 0.2),  # no learning
    ({"epochs": 1}, 0.87),  # stopped after one epoch
    ({"lr": -0.1}, 0.2),  # gradients of the wrong sign: ascent
])
def test_broken_training_fails_the_hidden_check(config, most):
    def train(X, y):
        return train_sgd(X, y, **config)

    params, _ = visible(train)
    with np.errstate(all="ignore"), pytest.raises(AssertionError) as e:
        checks.check_digits_training(train, seeds=(3, 7), at_least=0.88, trained=(params, 0))
    mean = float(str(e.value).split(" is ")[1].split(";")[0])
    assert mean < most and "rng=0, 3, 7" in str(e.value)


def overwrite(value, *arrays):
    for array in arrays:
        array[...] = value


# forwards that return the right output and then overwrite their arguments: a point
# where the wrong backward beside each happens to be right

def linear_forward_moving(x, W, b):
    out = x @ W + b
    overwrite(0.0, x, W)
    return out


def relu_forward_moving(x):
    out = np.maximum(x, 0.0)
    overwrite(-1.0, x)
    return out


def sigmoid_forward_moving(x):
    out = sigmoid(x)
    overwrite(1000.0, x)
    return out


def leaky_relu_forward_moving(x):
    out = np.where(x >= 0, x, 0.1 * x)
    overwrite(1.0, x)
    return out


def zeros_backward(dout, x):
    return np.zeros_like(x)


def relu_backward_zeroing_dout(dout, x):
    """Zeroes dout in place (the check's sum(f * dout) is then 0) and returns zeros."""
    overwrite(0.0, dout)
    return np.zeros_like(x)


@pytest.mark.parametrize("name, forward, backward, shapes", [
    ("linear_backward", linear_forward_moving,
     lambda dout, x, W, b: (np.zeros_like(x), np.zeros_like(W), dout.sum(axis=0)),
     {"x": (3, 5), "W": (5, 4), "b": (4,)}),
    ("relu_backward", relu_forward_moving, zeros_backward, {"x": (3, 5)}),
    ("sigmoid_backward", sigmoid_forward_moving, zeros_backward, {"x": (2, 6)}),
    # no reference forward: the numerical gradient is the student's own forward's
    ("leaky_relu_backward", leaky_relu_forward_moving, lambda dout, x: dout.copy(),
     {"x": (3, 5)}),
    ("relu_backward", lambda x: np.maximum(x, 0.0), relu_backward_zeroing_dout,
     {"x": (3, 5)}),
], ids=["linear", "relu", "sigmoid", "leaky_relu", "dout zeroed"])
def test_changing_the_checks_arrays_cannot_make_a_wrong_backward_pass(name, forward,
                                                                      backward, shapes):
    """Found by a hostile review: the check once called the forward with its own arrays,
    and took the numerical gradient where the forward had left them."""
    with pytest.raises(AssertionError, match="numerical gradient check of your"):
        checks.check_backward_numerically(name, forward, backward, shapes, seed=100)


def test_a_forward_that_changes_its_answers_cannot_steer_a_pair_given_a_reference():
    """Found by a hostile review: leaky ReLU's hidden check had no reference forward, so
    the numerical gradient was the student's own forward's, which answered x itself once
    its (wrong) backward had been called."""
    armed = []

    def forward(x):
        return x.copy() if armed else np.where(x >= 0, x, 0.1 * x)

    def backward(dout, x):
        armed.append(True)
        return dout.copy()

    with pytest.raises(AssertionError, match="numerical gradient check of your"):
        checks.check_backward_numerically(
            "leaky_relu_backward", forward, backward, {"x": (3, 5)}, seed=103,
            reference=lambda x: np.where(x >= 0, x, 0.1 * x))
    armed.clear()
    checks.check_backward_numerically(  # without a reference it is fooled: why one is given
        "leaky_relu_backward", forward, backward, {"x": (3, 5)}, seed=103)
