"""Rosenblatt's rule converges on separable data and never on XOR."""

import numpy as np
import pytest

from course_lib import datasets
from course_lib.perceptron import train_perceptron

TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


@pytest.mark.parametrize("name, targets", [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])])
def test_converges_on_separable_truth_tables(name, targets):
    result = train_perceptron(TRUTH_TABLE, np.array(targets))
    assert result.converged, name
    np.testing.assert_array_equal(result.predict(TRUTH_TABLE), targets)
    assert result.mistakes_per_epoch[-1] == 0


def test_never_converges_on_xor():
    X, y = datasets.xor()
    result = train_perceptron(X, y, max_epochs=200)
    assert not result.converged
    assert result.epochs == 200
    assert min(result.mistakes_per_epoch) >= 1


def test_each_update_follows_the_rule():
    X, y = datasets.blobs(n=40, centers=2, std=0.5, rng=1)
    result = train_perceptron(X, y, lr=0.5, rng=0)
    assert result.converged
    w, b = np.zeros(2), 0.0
    for update in result.updates:
        error = update.target - int(update.x @ w + b > 0)
        assert error != 0
        w, b = w + 0.5 * error * update.x, b + 0.5 * error
        np.testing.assert_allclose(update.w, w)
        assert update.b == pytest.approx(b)
    np.testing.assert_allclose(result.w, w)
    assert "converged" in repr(result)


def test_rejects_labels_that_are_not_zero_or_one():
    with pytest.raises(ValueError, match="expected 0/1 targets"):
        train_perceptron(TRUTH_TABLE, np.array([-1, 1, 1, -1]))
