"""Gradient checking is the course's oracle: it must pass right layers and fail wrong ones."""

import numpy as np
import pytest

from course_lib.gradcheck import (
    check_gradients,
    check_layer,
    directional_derivative,
    numerical_gradient,
    rel_error,
)
from course_lib.layers import Linear

METHODS = ["full", "directional"]


class SignFlipped(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] *= -1
        return dx


class TransposedWeightGradient(Linear):
    """``dW = (x.T @ dout).T``: the right shape only for a square layer, and wrong."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"].T.copy()
        return dx


class MissingBiasGradient(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = np.zeros_like(self.grads["b"])
        return dx


class OffByFactorTwo(Linear):
    def backward(self, dout):
        return 2 * super().backward(dout)


class SingleWrongEntry(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][1, 2] += 0.5 * abs(self.grads["W"]).max()
        return dx


PLANTED = {
    "sign flipped": (SignFlipped, "W"),
    "transposed W gradient": (TransposedWeightGradient, "W"),
    "missing bias gradient": (MissingBiasGradient, "b"),
    "off by a factor of 2": (OffByFactorTwo, "x"),
    "single wrong entry": (SingleWrongEntry, "W"),
}


def inputs(seed=0, n=5, d=6):
    return np.random.default_rng(seed).standard_normal((n, d))


@pytest.mark.parametrize("method", METHODS)
def test_correct_layer_passes(method):
    report = check_layer(Linear(6, 6, rng=0), inputs(), method=method)
    assert report.ok, report
    assert [c.name for c in report.checks] == ["x", "W", "b"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_planted_bug_fails_in_the_right_place(method, bug):
    layer_class, broken = PLANTED[bug]
    report = check_layer(layer_class(6, 6, rng=0), inputs(), method=method)
    assert not report.ok
    assert [c.name for c in report.failures] == [broken]
    assert "FAIL" in repr(report)


def test_full_check_points_at_the_single_wrong_entry():
    report = check_layer(SingleWrongEntry(6, 6, rng=0), inputs(), method="full")
    assert report["W"].worst_index == (1, 2)
    assert report["W"].max_rel_error > 1e-2


def test_numerical_gradient_of_a_quadratic():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = np.array([[0.3, -0.7], [1.1, 0.2]])
    np.testing.assert_allclose(numerical_gradient(lambda z: np.sum(a * z**2), x), 2 * a * x, rtol=1e-8)


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def explode(z):
        calls.append(z.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(explode, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(calls[0], [1.0 + 1e-5, 2.0, 3.0])


def test_directional_derivative_costs_two_evaluations_and_restores_x():
    x = np.random.default_rng(0).standard_normal((50, 40))
    before = x.copy()
    v = np.random.default_rng(1).standard_normal(x.shape)
    calls = []

    def f(z):
        calls.append(1)
        return np.sum(np.sin(z))

    value = directional_derivative(f, x, v)
    assert len(calls) == 2
    np.testing.assert_array_equal(x, before)
    assert value == pytest.approx(np.sum(np.cos(x) * v), rel=1e-8)


def test_directional_check_cost_does_not_grow_with_parameters():
    def evaluations(width):
        layer = Linear(width, width, rng=0)
        x = inputs(d=width)
        layer.forward(x)
        layer.backward(np.ones((5, width)))
        count = []

        def loss():
            count.append(1)
            return np.sum(layer.forward(x))

        check_gradients(loss, layer.params, layer.grads, method="directional", directions=2)
        return len(count)

    assert evaluations(4) == evaluations(64) == 2 * 2 * 2


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (np.array([1.0]), np.array([1.0]), 0.0),
        (np.array([1.0]), np.array([3.0]), 0.5),
        (np.array([0.0, 2.0]), np.array([0.0, 2.0]), 0.0),
        (np.array([0.0]), np.array([1e-12]), 1e-4),
    ],
)
def test_rel_error_with_floor(a, b, expected):
    assert rel_error(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_gradient_checks_reject_low_precision_input(dtype):
    x = np.ones((2, 3), dtype=dtype)
    with pytest.raises(ValueError, match=f"numerical_gradient: expected x with dtype float64, got {np.dtype(dtype)}"):
        numerical_gradient(np.sum, x)
    with pytest.raises(ValueError, match=rf"check_layer\(Linear\(3 -> 2\)\): expected x with dtype float64, got {np.dtype(dtype)}"):
        check_layer(Linear(3, 2), x)


def test_check_gradients_rejects_mismatched_keys_and_shapes():
    params = {"W": np.ones((2, 2))}
    with pytest.raises(ValueError, match="same keys"):
        check_gradients(lambda: 0.0, params, {"b": np.ones(2)})
    with pytest.raises(ValueError, match=r"check_gradients\['W'\]: expected grad of shape \(2, 2\), got \(2,\)"):
        check_gradients(lambda: 0.0, params, {"W": np.ones(2)})
    with pytest.raises(ValueError, match="unknown method 'exact'"):
        check_gradients(lambda: 0.0, params, params, method="exact")


def test_checks_print_nothing(capsys):
    check_layer(Linear(3, 2, rng=0), inputs(d=3))
    check_layer(SignFlipped(3, 2, rng=0), inputs(d=3), method="directional")
    assert capsys.readouterr() == ("", "")
