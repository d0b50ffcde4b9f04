"""``course_lib.datasets.blobs`` returns scikit-learn's ``make_blobs`` arrays, bit for bit.

Lecture 01 draws its blobs without importing scikit-learn (about 1.4 s per kernel); the
lecture's numbers (24 perceptron updates, the Novikoff bound) were written against
scikit-learn's output, so the port must not change one.
"""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from course_lib import datasets


@pytest.mark.parametrize("n", [7, 40, 60, 301])
@pytest.mark.parametrize("centers", [2, 3])
@pytest.mark.parametrize("seed", [0, 2, 42, "generator"])
def test_blobs_match_make_blobs(n, centers, seed):
    seed_theirs = seed
    if seed == "generator":                          # both must draw the same int seed
        seed, seed_theirs = np.random.default_rng(3), datasets._seed(np.random.default_rng(3))
    X, y = datasets.blobs(n=n, centers=centers, std=0.7, rng=seed)
    X_ref, y_ref = make_blobs(n_samples=n, centers=centers, cluster_std=0.7,
                              random_state=seed_theirs)
    assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
    assert X.dtype == np.float64 and y.dtype == np.int64
