"""Rosenblatt's perceptron (1957) and its learning rule.

Prediction: ``g(x . w + b)`` with the step ``g(y) = 1 if y > 0 else 0``. For each
misclassified example the rule moves the line towards it:
``w <- w + lr (t - g) x``, ``b <- b + lr (t - g)``, where ``t`` is the 0/1 target.
On linearly separable data this converges in finitely many updates (Novikoff, 1962);
on XOR it never does.
"""

from dataclasses import dataclass, field

import numpy as np

from course_lib.validation import require_float, require_shape


@dataclass(frozen=True)
class Update:
    """One application of the rule: which example, and the weights after it."""

    epoch: int
    index: int
    x: np.ndarray
    target: int
    w: np.ndarray
    b: float


@dataclass
class PerceptronResult:
    """What training did: final ``w``, ``b``, every update, and whether it converged."""

    w: np.ndarray
    b: float
    converged: bool
    epochs: int
    updates: list = field(default_factory=list)
    mistakes_per_epoch: list = field(default_factory=list)

    def predict(self, X):
        """0/1 predictions for rows of ``X``, shape ``(N,)``."""
        return (X @ self.w + self.b > 0).astype(np.int64)

    def __repr__(self):
        state = "converged" if self.converged else "did not converge"
        return (
            f"PerceptronResult({state} after {self.epochs} epochs, {len(self.updates)} "
            f"updates, w={np.round(self.w, 3).tolist()}, b={self.b:.3g})"
        )


def train_perceptron(X, y, lr=1.0, max_epochs=100, rng=None):
    """Run the perceptron learning rule until an epoch makes no mistake.

    Args:
        X: inputs, float array of shape ``(N, D)``.
        y: 0/1 targets, shape ``(N,)``.
        lr: learning rate (on separable data any ``lr > 0`` converges).
        max_epochs: give up after this many passes.
        rng: if given, a seed or Generator that shuffles the order in each epoch.

    Returns:
        :class:`PerceptronResult`.
    """
    who = "train_perceptron"
    require_shape(X, ("N", "D"), who, "X")
    require_float(X, who, "X")
    require_shape(y, (X.shape[0],), who, "y")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{who}: expected 0/1 targets, got values {np.unique(y)[:5]}")
    shuffle = np.random.default_rng(rng) if rng is not None else None
    w, b = np.zeros(X.shape[1]), 0.0
    result = PerceptronResult(w, b, converged=False, epochs=0)
    for epoch in range(1, max_epochs + 1):
        order = shuffle.permutation(len(X)) if shuffle is not None else range(len(X))
        mistakes = 0
        for i in order:
            error = int(y[i]) - int(X[i] @ w + b > 0)
            if error:
                mistakes += 1
                w = w + lr * error * X[i]
                b = b + lr * error
                result.updates.append(Update(epoch, int(i), X[i].copy(), int(y[i]), w.copy(), b))
        result.mistakes_per_epoch.append(mistakes)
        result.epochs = epoch
        if mistakes == 0:
            result.converged = True
            break
    result.w, result.b = w, b
    return result
