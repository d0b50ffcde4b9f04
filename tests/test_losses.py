"""Losses return (loss, dscores); gradients match finite differences; large logits are safe."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import numerical_gradient
from course_lib.losses import binary_cross_entropy, softmax, softmax_cross_entropy, squared_loss


def loss_case(name, rng, n, c):
    """(loss_fn, scores, targets) for a registry of losses, random float64 inputs."""
    scores = rng.standard_normal((n, c))
    if name == "softmax_cross_entropy":
        return softmax_cross_entropy, scores, rng.integers(0, c, size=n)
    if name == "squared_loss":
        return squared_loss, scores, rng.standard_normal((n, c))
    return binary_cross_entropy, scores[:, 0], rng.integers(0, 2, size=n).astype(float)


LOSSES = ["softmax_cross_entropy", "squared_loss", "binary_cross_entropy"]


@pytest.mark.parametrize("name", LOSSES)
@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_gradient_matches_finite_differences(name, n, c, seed):
    loss_fn, scores, targets = loss_case(name, np.random.default_rng(seed), n, c)
    _, dscores = loss_fn(scores, targets)
    numeric = numerical_gradient(lambda s: loss_fn(s, targets)[0], scores)
    np.testing.assert_allclose(dscores, numeric, rtol=1e-5, atol=1e-9)


def test_softmax_cross_entropy_by_hand():
    scores = np.array([[1.0, 2.0, 3.0]])
    expected = -np.log(np.exp(1.0) / (np.exp(1.0) + np.exp(2.0) + np.exp(3.0)))
    loss, _ = softmax_cross_entropy(scores, np.array([0]))
    assert loss == pytest.approx(expected)


def test_uniform_scores_cost_log_of_the_class_count():
    loss, dscores = softmax_cross_entropy(np.zeros((4, 10)), np.arange(4))
    assert loss == pytest.approx(np.log(10))
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-15)


def test_softmax_cross_entropy_is_stable_for_logits_of_1e4():
    scores = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = softmax_cross_entropy(scores, np.array([0, 2]))
    assert loss == pytest.approx(1e4 / 2)
    np.testing.assert_allclose(dscores, [[0, 0, 0], [0, 0.5, -0.5]], atol=1e-12)


def test_softmax_rows_are_distributions():
    p = softmax(np.random.default_rng(0).standard_normal((5, 4)) * 50)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p >= 0).all()


def test_squared_loss_carries_the_slides_half():
    loss, dpred = squared_loss(np.array([3.0, 1.0]), np.array([1.0, 1.0]))
    assert loss == pytest.approx(0.5 * 4 / 2)
    np.testing.assert_allclose(dpred, [1.0, 0.0])


def test_binary_cross_entropy_matches_the_probability_form_and_survives_large_logits():
    z, t = np.array([0.3, -1.2]), np.array([1.0, 0.0])
    s = 1 / (1 + np.exp(-z))
    expected = np.mean(-t * np.log(s) - (1 - t) * np.log(1 - s))
    assert binary_cross_entropy(z, t)[0] == pytest.approx(expected)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = binary_cross_entropy(np.array([1e4, -1e4]), np.array([0.0, 1.0]))
    assert loss == pytest.approx(1e4)
    np.testing.assert_allclose(grad, [0.5, -0.5])


def test_bad_labels_are_explained():
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: expected labels of shape \(3,\), got \(2,\)"):
        softmax_cross_entropy(scores, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] for 4 classes, got values from 0 to 4"):
        softmax_cross_entropy(scores, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="expected integer class labels, got dtype float64"):
        softmax_cross_entropy(scores, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected scores of shape \(N, C\), got \(4,\)"):
        softmax_cross_entropy(np.zeros(4), np.array([0]))
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        softmax_cross_entropy(np.full((3, 4), np.nan), np.array([0, 1, 2]))


def test_squared_and_binary_losses_check_their_targets():
    with pytest.raises(ValueError, match=r"squared_loss: expected target of shape \(3,\), got \(3, 1\)"):
        squared_loss(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="binary_cross_entropy: expected targets of 0 or 1"):
        binary_cross_entropy(np.zeros(2), np.array([0.0, 0.5]))
