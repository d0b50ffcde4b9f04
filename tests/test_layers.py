"""The layer contract: shapes, analytic gradients against finite differences, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_registry import LAYERS

from course_lib.gradcheck import check_layer, numerical_gradient
from course_lib.layers import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Step, Tanh
from course_lib.validation import finite_scans


def away_from_kinks(x, margin=1e-3):
    """Move entries off 0, where ReLU-like derivatives jump and differences straddle it."""
    return np.where(np.abs(x) < margin, margin, x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_matches_numerical_gradient(name):
    rng = np.random.default_rng(0)
    layer = LAYERS[name](4, rng)
    x = away_from_kinks(rng.standard_normal((6, 4)))
    report = check_layer(layer, x, rng=1)
    assert report.ok, report


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_params_and_grads_share_keys_and_shapes(name):
    layer = LAYERS[name](4, np.random.default_rng(0))
    layer.forward(np.ones((2, 4)))
    layer.backward(np.ones_like(layer.forward(np.ones((2, 4)))))
    assert set(layer.params) == set(layer.grads)
    for key, value in layer.params.items():
        assert layer.grads[key].shape == value.shape, key


@pytest.mark.parametrize("name", sorted(LAYERS))
@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 7), width=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_gradients_hold_for_any_batch_and_width(name, batch, width, seed):
    rng = np.random.default_rng(seed)
    layer = LAYERS[name](width, rng)
    x = away_from_kinks(rng.standard_normal((batch, width)))
    out = layer.forward(x)
    assert out.shape[0] == batch
    report = check_layer(layer, x, rng=seed)
    assert report.ok, report


def test_linear_computes_x_times_w_plus_b_row_by_row():
    layer = Linear(3, 2, rng=0)
    x = np.array([[1.0, 2.0, 3.0]])
    W, b = layer.params["W"], layer.params["b"]
    b[:] = [0.5, -1.0]
    expected = [sum(x[0, i] * W[i, j] for i in range(3)) + b[j] for j in range(2)]
    np.testing.assert_allclose(layer.forward(x)[0], expected)


def test_linear_init_scales():
    he = Linear(400, 300, rng=0).params["W"]
    xavier = Linear(400, 300, rng=0, init="xavier").params["W"]
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    np.testing.assert_array_equal(Linear(4, 3, rng=7).params["W"], Linear(4, 3, rng=7).params["W"])


@pytest.mark.parametrize(
    "layer, x, expected",
    [
        (ReLU(), [-2.0, 0.0, 3.0], [0.0, 0.0, 3.0]),
        (LeakyReLU(a=0.1), [-2.0, 0.0, 3.0], [-0.2, 0.0, 3.0]),
        (Step(), [-2.0, 0.0, 3.0], [0.0, 0.0, 1.0]),
        (Sigmoid(), [0.0, np.log(3.0)], [0.5, 0.75]),
        (Tanh(), [0.0, np.log(2.0)], [0.0, 0.6]),
    ],
)
def test_activation_values(layer, x, expected):
    np.testing.assert_allclose(layer.forward(np.array([x])), [expected])


def test_leaky_relu_slope_is_plus_a_below_zero():
    layer = LeakyReLU(a=0.02)
    layer.forward(np.array([[-3.0, 2.0]]))
    np.testing.assert_allclose(layer.backward(np.ones((1, 2))), [[0.02, 1.0]])


def test_tanh_is_two_sigmoid_of_two_y_minus_one():
    y = np.linspace(-4, 4, 9)[None]
    np.testing.assert_allclose(Tanh().forward(y), 2 * Sigmoid().forward(2 * y) - 1, atol=1e-12)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Sigmoid().forward(np.array([[-1000.0, 1000.0]]))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


def test_step_passes_no_gradient():
    step = Step()
    x = np.random.default_rng(0).standard_normal((5, 3))
    step.forward(x)
    np.testing.assert_array_equal(step.backward(np.ones((5, 3))), np.zeros((5, 3)))
    numeric = numerical_gradient(lambda _: np.sum(step.forward(x)), away_from_kinks(x))
    np.testing.assert_array_equal(numeric, np.zeros((5, 3)))


def test_sequential_chains_layers_and_exposes_their_arrays():
    first, second = Linear(2, 3, rng=0), Linear(3, 1, rng=1)
    model = Sequential(first, ReLU(), second)
    x = np.array([[1.0, -1.0], [0.5, 2.0]])
    np.testing.assert_allclose(
        model.forward(x), second.forward(np.maximum(first.forward(x), 0))
    )
    assert model.params["0.W"] is first.params["W"]
    assert [name for name, _, _ in model.parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    model.backward(np.ones((2, 1)))
    model.zero_grad()
    assert all(not grad.any() for _, _, grad in model.parameters())
    assert "Linear(2 -> 3)" in repr(model) and "ReLU()" in repr(model)


def test_sequential_predict_uses_argmax_or_sign():
    wide = Sequential(Linear(2, 3, rng=0))
    wide[0].params["W"][:] = [[1, 0, 0], [0, 0, 1]]
    np.testing.assert_array_equal(wide.predict(np.array([[2.0, 1.0], [0.0, 5.0]])), [0, 2])
    single = Sequential(Linear(1, 1, rng=0))
    single[0].params["W"][:] = 1.0
    np.testing.assert_array_equal(single.predict(np.array([[-1.0], [2.0]])), [0, 1])


def test_linear_rejects_wrong_width_naming_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\)\.forward: expected x of shape \(N, 4\), got \(2, 5\)"):
        Linear(4, 3).forward(np.ones((2, 5)))


def test_linear_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 4\), got \(4,\)"):
        Linear(4, 3).forward(np.ones(4))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_layers_reject_nan_and_inf_with_the_index(bad):
    x = np.ones((2, 4))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\)\.forward: x contains NaN or inf \(first at index \(1, 2\)"):
        Linear(4, 3).forward(x)
    with pytest.raises(ValueError, match=r"ReLU\(\)\.forward: x contains NaN or inf"):
        ReLU().forward(x)


def test_layers_reject_integer_input():
    with pytest.raises(ValueError, match=r"Linear\(2 -> 1\)\.forward: expected x with a floating-point dtype, got int64"):
        Linear(2, 1).forward(np.array([[0, 1]]))


def test_backward_rejects_dout_of_the_wrong_shape():
    layer = Linear(4, 3)
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\)\.backward: expected dout of shape \(2, 3\), got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))
    relu = ReLU()
    relu.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"ReLU\(\)\.backward: expected dout of shape \(2, 4\), got \(2, 3\)"):
        relu.backward(np.ones((2, 3)))


def test_backward_before_forward_says_what_to_do():
    with pytest.raises(ValueError, match=r"call forward\(x\) before backward\(dout\)"):
        Tanh().backward(np.ones((1, 1)))


def test_sequential_rejects_non_layers():
    with pytest.raises(ValueError, match="item 1 .* is not a layer"):
        Sequential(Linear(2, 2), "relu")


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float32, 1e30)])
def test_huge_but_finite_inputs_pass_although_their_squares_overflow(dtype, big):
    x = np.full((2, 3), big, dtype=dtype)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.vdot(x, x))
    np.testing.assert_array_equal(ReLU().forward(x), x)
    relu = ReLU()
    relu.forward(x)
    np.testing.assert_array_equal(relu.backward(x), x)


def test_finite_scans_off_skips_only_the_nan_scan_and_restores_on_exit():
    x = np.array([[np.nan, 1.0]])
    with finite_scans(False):
        assert np.isnan(ReLU().forward(x)[0, 0])
        with pytest.raises(ValueError, match=r"expected x of shape \(N, 3\), got \(1, 2\)"):
            Linear(3, 1).forward(x)
        with finite_scans(True):
            with pytest.raises(ValueError, match="x contains NaN or inf"):
                ReLU().forward(x)
        assert np.isnan(ReLU().forward(x)[0, 0])
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        ReLU().forward(x)
    with pytest.raises(RuntimeError), finite_scans(False):
        raise RuntimeError
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        ReLU().forward(x)
