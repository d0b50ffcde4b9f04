"""The numpy ports in ``course_lib.datasets`` return scikit-learn's arrays, bit for bit.

``circles``, ``moons``, ``digits`` and ``train_test_split`` avoid importing scikit-learn (a
second or more per lecture); the lectures and PS4 were written against scikit-learn's
output, so the ports must not change a single number.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_circles, make_moons
from sklearn.model_selection import train_test_split as sklearn_split

from course_lib import datasets


@pytest.mark.parametrize("n", [7, 100, 200, 301])
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_moons_and_circles_match_scikit_learn(n, seed):
    for ours, theirs, extra in ((datasets.moons, make_moons, {}),
                                (datasets.circles, make_circles, {"factor": 0.3})):
        X, y = ours(n=n, noise=0.1, rng=seed, **extra)
        X_ref, y_ref = theirs(n_samples=n, noise=0.1, random_state=seed, **extra)
        assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref), ours.__name__
        assert X.dtype == np.float64 and y.dtype == np.int64


def test_digits_match_load_digits():
    X, y = datasets.digits()
    reference = load_digits()
    assert np.array_equal(X, reference.data / 16.0)
    assert np.array_equal(y, reference.target)
    assert X.shape == (1797, 64) and y.dtype == np.int64


@pytest.mark.parametrize("seed", [0, 1, 7, np.random.default_rng(3)])
@pytest.mark.parametrize("fraction", [0.25, 0.2, 0.33])
def test_split_matches_stratified_train_test_split(seed, fraction):
    X, y = datasets.digits()
    if isinstance(seed, np.random.Generator):        # both must draw the same int seed
        seed_ours, seed_theirs = np.random.default_rng(3), datasets._seed(np.random.default_rng(3))
    else:
        seed_ours = seed_theirs = seed
    ours = datasets.train_test_split(X, y, test_fraction=fraction, rng=seed_ours)
    theirs = sklearn_split(X, y, test_size=fraction, random_state=seed_theirs, stratify=y)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)


def test_split_of_a_small_uneven_set_matches():
    y = np.array([0] * 5 + [1] * 7 + [2] * 3)
    X = np.arange(30.0).reshape(15, 2)
    for seed in range(20):
        ours = datasets.train_test_split(X, y, test_fraction=0.4, rng=seed)
        theirs = sklearn_split(X, y, test_size=0.4, random_state=seed, stratify=y)
        for a, b in zip(ours, theirs, strict=True):
            assert np.array_equal(a, b)
