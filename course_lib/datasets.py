"""Small datasets for the lecture and PS4: generated 2-D toys and the 8x8 digits.

Every function returns ``(X, y)``: ``X`` float64 of shape ``(N, D)``, ``y`` int64 of
shape ``(N,)``. Generated sets take ``rng`` (a seed or Generator), so they are
reproducible. Nothing is downloaded: the digits ship inside scikit-learn.

scikit-learn is imported inside the functions that use it: importing it costs about two
seconds, which a lecture that only needs ``xor`` or ``spirals`` should not pay.
"""

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
    """Gaussian clusters, ``centers`` classes (scikit-learn's ``make_blobs``)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        n_samples=n, centers=centers, cluster_std=std, random_state=_seed(rng)
    )
    return _as_dataset(X, y)


def circles(n=200, noise=0.1, factor=0.5, rng=0):
    """A disc inside a ring: class 1 is the inner circle (``make_circles``)."""
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=n, noise=noise, factor=factor, random_state=_seed(rng)
    )
    return _as_dataset(X, y)


def moons(n=200, noise=0.1, rng=0):
    """Two interleaved half-moons (``make_moons``)."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=noise, random_state=_seed(rng))
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
    from sklearn.datasets import load_digits

    data = load_digits()
    return _as_dataset(data.data / 16.0, data.target)


def train_test_split(X, y, test_fraction=0.25, rng=0):
    """Shuffle and split into ``X_train, X_test, y_train, y_test``, stratified by class."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: expected 0 < test_fraction < 1, got {test_fraction}")
    from sklearn.model_selection import train_test_split as split

    return split(X, y, test_size=test_fraction, random_state=_seed(rng), stratify=y)


def _seed(rng):
    """scikit-learn wants an int seed; draw one from a Generator if given one."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**31 - 1))
    return rng


GENERATORS = {"xor": xor, "blobs": blobs, "circles": circles, "moons": moons, "spirals": spirals}
