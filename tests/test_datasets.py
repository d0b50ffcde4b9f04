"""Datasets: float features, integer labels, reproducible from a seed, nothing downloaded."""

import numpy as np
import pytest

from course_lib import datasets


@pytest.mark.parametrize("name", sorted(datasets.GENERATORS))
def test_generated_sets_are_typed_and_seeded(name):
    make = datasets.GENERATORS[name]
    X, y = make(rng=3)
    assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == 2
    assert y.dtype == np.int64 and y.shape == (len(X),)
    X_again, y_again = make(rng=3)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert set(np.unique(y)) == set(range(y.max() + 1))


def test_xor_is_the_truth_table():
    X, y = datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))


def test_noisy_xor_keeps_labels_by_corner():
    X, y = datasets.xor(n_per_corner=25, noise=0.1)
    assert X.shape == (100, 2)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5))


def test_spiral_arms_are_balanced_and_in_the_unit_disc():
    X, y = datasets.spirals(n=300, classes=3, noise=0.0)
    assert np.bincount(y).tolist() == [100, 100, 100]
    assert np.linalg.norm(X, axis=1).max() <= 1.0


def test_digits_ship_with_scikit_learn():
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert 0.0 <= X.min() and X.max() == 1.0
    assert sorted(np.unique(y)) == list(range(10))


def test_split_is_stratified_and_disjoint():
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.repeat([0, 1], [80, 20])
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_fraction=0.25)
    assert len(X_test) == 25 and np.bincount(y_test).tolist() == [20, 5]
    assert not set(X_train[:, 0]) & set(X_test[:, 0])
    with pytest.raises(ValueError, match="expected 0 < test_fraction < 1, got 1.5"):
        datasets.train_test_split(X, y, test_fraction=1.5)
