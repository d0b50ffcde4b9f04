"""Layers, losses and fit in float32: the dtype is kept end to end and the numbers agree
with the same computation in float64, the oracle, to float32 precision."""

import numpy as np
import pytest
from layer_registry import LAYERS

from course_lib import LeakyReLU, Linear, ReLU, Sequential, Step, softmax_cross_entropy
from course_lib.datasets import digits, train_test_split
from course_lib.train import fit


def float32_twin(layer64, name, width):
    """The same layer in float32, its parameters the float64 ones rounded to float32."""
    layer32 = LAYERS[name](width, np.random.default_rng(0), np.float32)
    for key, value in layer64.params.items():
        layer32.params[key][...] = value
    return layer32


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_float32_layer_keeps_its_dtype_and_matches_float64(name):
    rng = np.random.default_rng(0)
    layer64 = LAYERS[name](4, rng)
    layer32 = float32_twin(layer64, name, 4)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    out32, out64 = layer32.forward(x), layer64.forward(x.astype(np.float64))
    dout = rng.standard_normal(out64.shape).astype(np.float32)
    dx32, dx64 = layer32.backward(dout), layer64.backward(dout.astype(np.float64))
    assert out32.dtype == dx32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-5, atol=1e-6)
    for key, grad in layer32.grads.items():
        assert grad.dtype == np.float32, key
        np.testing.assert_allclose(grad, layer64.grads[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(a=0.1), Step()], ids=repr)
def test_piecewise_activations_keep_float32_on_both_sides_of_zero(layer):
    x = np.array([[-1.5, 0.0, 2.0]], dtype=np.float32)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


def test_linear_float32_holds_float32_parameters_and_says_so():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    assert {p.dtype for p in (*layer.params.values(), *layer.grads.values())} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(
        layer.params["W"], Linear(3, 2, rng=0).params["W"].astype(np.float32)
    )
    assert repr(layer) == "Linear(3 -> 2, float32)"
    assert repr(Linear(3, 2)) == "Linear(3 -> 2)"


def test_linear_rejects_a_non_float_dtype():
    with pytest.raises(ValueError, match="Linear: expected a floating-point dtype such as np.float32 or np.float64, got int64"):
        Linear(2, 2, dtype=np.int64)


def test_mixing_dtypes_is_refused_with_the_fix():
    layer = Linear(2, 3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"Linear\(2 -> 3, float32\)\.forward: expected x with dtype float32 \(the dtype of the layer's weights\), got float64; convert with x\.astype\(np\.float32\), or build the layer with dtype=np\.float64"):
        layer.forward(np.ones((1, 2)))
    layer.forward(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Linear\(2 -> 3, float32\)\.backward: expected dout with dtype float32"):
        layer.backward(np.ones((1, 3)))


def test_fit_trains_a_float32_model_like_the_float64_one():
    X_train, X_test, y_train, y_test = train_test_split(*digits())
    models = {}
    for dtype in (np.float64, np.float32):
        model = Sequential(Linear(64, 64, rng=0, dtype=dtype), ReLU(),
                           Linear(64, 10, rng=1, dtype=dtype))
        fit(model, softmax_cross_entropy, X_train.astype(dtype), y_train, epochs=5,
            progress=False)
        models[dtype] = model
    assert all(p.dtype == np.float32 for p in models[np.float32].params.values())
    for key, value in models[np.float64].params.items():
        np.testing.assert_allclose(models[np.float32].params[key], value, rtol=1e-3, atol=1e-4)
    predictions = {dtype: m.predict(X_test.astype(dtype)) for dtype, m in models.items()}
    assert np.mean(predictions[np.float32] == predictions[np.float64]) >= 0.99
    assert np.mean(predictions[np.float32] == y_test) >= 0.9
