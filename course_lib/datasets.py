"""Small datasets for the lecture and PS4: generated 2-D toys and the 8x8 digits.

Every function returns ``(X, y)``: ``X`` float64 of shape ``(N, D)``, ``y`` int64 of
shape ``(N,)``. Generated sets take ``rng`` (a seed or Generator), so they are
reproducible. Nothing is downloaded: the digits ship inside scikit-learn.

Importing scikit-learn costs one to three seconds, more than most lecture cells, so
``blobs``, ``circles``, ``moons``, ``digits`` and ``train_test_split`` are short numpy
ports of scikit-learn's functions that return the very same arrays for the same seed
(``tests/test_datasets_sklearn_free.py`` and ``tests/test_lecture_datasets.py`` compare
them); none imports it.
"""

import gzip
import importlib.util
from math import ceil
from pathlib import Path

import numpy as np


def _as_dataset(X, y):
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def xor(n_per_corner=1, noise=0.0, rng=0):
    """The XOR truth table: corners of the unit square, label ``x1 XOR x2``.

    With ``n_per_corner=1`` and ``noise=0`` it is exactly the four rows
    ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0``; more points per corner, jittered by
    Gaussian ``noise``, make a cloud around each corner.
    """
    rng = np.random.default_rng(rng)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    X = np.repeat(corners, n_per_corner, axis=0)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.array([0, 1, 1, 0]), n_per_corner)
    return _as_dataset(X, y)


def blobs(n=200, centers=2, std=1.0, rng=0):
    """Gaussian clusters, ``centers`` classes (as ``make_blobs``, 2-D, centres in [-10, 10])."""
    state = np.random.RandomState(_seed(rng))
    means = state.uniform(-10.0, 10.0, size=(centers, 2))
    sizes = [n // centers + (k < n % centers) for k in range(centers)]
    X = np.vstack([state.normal(loc=mean, scale=std, size=(size, 2))
                   for mean, size in zip(means, sizes, strict=True)])
    y = np.repeat(np.arange(centers), sizes)
    order = np.arange(n)
    state.shuffle(order)
    return _as_dataset(X[order], y[order])


def circles(n=200, noise=0.1, factor=0.5, rng=0):
    """A disc inside a ring: class 1 is the inner circle (as ``make_circles``)."""
    n_out, n_in = n // 2, n - n // 2
    angle_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angle_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.append(np.cos(angle_out), np.cos(angle_in) * factor),
                   np.append(np.sin(angle_out), np.sin(angle_in) * factor)]).T
    return _shuffled_with_noise(X, n_out, n_in, noise, rng)


def moons(n=200, noise=0.1, rng=0):
    """Two interleaved half-moons (as ``make_moons``)."""
    n_out, n_in = n // 2, n - n // 2
    X = np.vstack([np.append(np.cos(np.linspace(0, np.pi, n_out)),
                             1 - np.cos(np.linspace(0, np.pi, n_in))),
                   np.append(np.sin(np.linspace(0, np.pi, n_out)),
                             1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5)]).T
    return _shuffled_with_noise(X, n_out, n_in, noise, rng)


def _shuffled_with_noise(X, n_out, n_in, noise, rng):
    """Labels 0 then 1, one shuffle of the rows, then Gaussian noise: scikit-learn's order."""
    state = np.random.RandomState(_seed(rng))
    y = np.hstack([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    order = np.arange(len(y))
    state.shuffle(order)
    X, y = X[order], y[order]
    if noise is not None:
        X = X + state.normal(scale=noise, size=X.shape)
    return _as_dataset(X, y)


def spirals(n=300, classes=2, turns=1.5, noise=0.1, rng=0):
    """``classes`` interleaved arms of an Archimedean spiral, ``n`` points in all.

    Arm ``k`` at radius ``r in [0.1, 1]`` sits at angle ``2 pi (turns r + k / classes)``,
    plus Gaussian noise on the angle.
    """
    rng = np.random.default_rng(rng)
    y = np.arange(n) % classes
    r = rng.uniform(0.1, 1.0, size=n)
    theta = 2 * np.pi * (turns * r + y / classes) + noise * rng.standard_normal(n)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return _as_dataset(X, y)


def digits():
    """scikit-learn's bundled handwritten digits: 1,797 images of 8x8 pixels.

    Returns ``X`` of shape ``(1797, 64)`` scaled to ``[0, 1]`` and ``y`` in ``0..9``.
    """
    (package,) = importlib.util.find_spec("sklearn").submodule_search_locations
    with gzip.open(Path(package) / "datasets" / "data" / "digits.csv.gz") as file:
        data = np.loadtxt(file, delimiter=",")
    return _as_dataset(data[:, :-1] / 16.0, data[:, -1].astype(np.int64))


def train_test_split(X, y, test_fraction=0.25, rng=0):
    """Shuffle and split into ``X_train, X_test, y_train, y_test``, stratified by class.

    The same split as scikit-learn's ``train_test_split(..., stratify=y)``: ``ceil(test_fraction
    N)`` test rows, each class shared out in proportion (ties broken at random).
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: expected 0 < test_fraction < 1, got {test_fraction}")
    y = np.asarray(y)
    n_test = ceil(test_fraction * len(y))
    n_train = len(y) - n_test
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError("train_test_split: every class needs 2 members, and each side of the "
                         f"split one row per class ({len(classes)} classes, {len(y)} rows)")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    state = np.random.RandomState(_seed(rng))
    n_i = _approximate_mode(class_counts, n_train, state)
    t_i = _approximate_mode(class_counts - n_i, n_test, state)
    train, test = [], []
    for k in range(len(classes)):
        members = class_indices[k].take(state.permutation(class_counts[k]), mode="clip")
        train.extend(members[: n_i[k]])
        test.extend(members[n_i[k]: n_i[k] + t_i[k]])
    train, test = state.permutation(train), state.permutation(test)
    return X[train], X[test], y[train], y[test]


def _approximate_mode(class_counts, n_draws, state):
    """Rows per class for ``n_draws`` draws: proportional, floored, topped up (sklearn's rule)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[state.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def _seed(rng):
    """scikit-learn wants an int seed; draw one from a Generator if given one."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**31 - 1))
    return rng


GENERATORS = {"xor": xor, "blobs": blobs, "circles": circles, "moons": moons, "spirals": spirals}
