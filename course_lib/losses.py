"""Losses: functions ``loss_fn(scores, targets) -> (loss, dscores)``.

Each loss is the mean over the ``N`` rows of the batch, so ``dscores`` carries a ``1/N``.
"""


import numpy as np

from course_lib.validation import (
    plainly_finite,
    require_finite,
    require_float,
    require_shape,
    scanning_for_non_finite,
)


def _check_scores(scores, who):
    require_float(scores, who, "scores")
    if scanning_for_non_finite():
        require_finite(scores, who, "scores")


def _check_labels(labels, n_rows, n_classes, who):
    require_shape(labels, (n_rows,), who, "labels")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{who}: expected integer class labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{who}: labels must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got values from {labels.min()} to {labels.max()}"
        )


def softmax(scores):
    """Row-wise softmax, ``p_ic = exp(s_ic) / sum_k exp(s_ik)``, shifted by the row max."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def softmax_cross_entropy(scores, labels):
    """Mean cross-entropy of the softmax of ``scores``, and its gradient.

    Args:
        scores: logits, shape ``(N, C)``.
        labels: integer classes, shape ``(N,)``, each in ``[0, C)``.

    Returns:
        ``(loss, dscores)`` with ``loss = -(1/N) sum_n log p_{n, y_n}`` and
        ``dscores = (p - onehot(y)) / N`` of shape ``(N, C)``. Subtracting each row's max
        first leaves ``p`` unchanged and keeps ``exp`` finite for logits of 1e4 and more.
    """
    if not _plainly_valid(scores, labels):
        who = "softmax_cross_entropy"
        require_shape(scores, ("N", "C"), who, "scores")
        _check_scores(scores, who)
        _check_labels(labels, *scores.shape, who)
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    dscores = np.exp(shifted)
    total = dscores.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (np.log(total[:, 0]) - shifted[rows, labels]).sum() / n
    dscores /= total
    dscores[rows, labels] -= 1.0
    dscores /= n
    return float(loss), dscores


def _plainly_valid(scores, labels):
    """The common case of ``softmax_cross_entropy``'s input checks, decided cheaply.

    True for float ``(N, C)`` scores whose sum of squares is finite (not scanned inside
    ``finite_scans(False)``) and ``(N,)`` integer labels in ``[0, C)``; anything else
    goes through the full checks, which explain the problem.
    """
    return (
        type(scores) is np.ndarray
        and type(labels) is np.ndarray
        and scores.ndim == 2
        and scores.dtype.kind == "f"
        and labels.dtype.kind in "iu"
        and labels.shape == scores.shape[:1]
        and labels.size > 0
        and np.minimum.reduce(labels) >= 0
        and np.maximum.reduce(labels) < scores.shape[1]
        and plainly_finite(scores)
    )


def squared_loss(pred, target):
    """The slides' ``L = 1/2 (y - f(x))^2``, averaged over the batch.

    Args:
        pred: predictions, shape ``(N,)`` or ``(N, K)``.
        target: the same shape as ``pred``.

    Returns:
        ``(loss, dpred)`` with ``loss = (1/N) sum_n 1/2 ||pred_n - target_n||^2`` and
        ``dpred = (pred - target) / N``.
    """
    who = "squared_loss"
    require_shape(target, pred.shape, who, "target")
    _check_scores(pred, who)
    if scanning_for_non_finite():
        require_finite(target, who, "target")
    n = pred.shape[0]
    diff = pred - target
    return float(0.5 * np.sum(diff**2) / n), diff / n


def binary_cross_entropy(logits, targets):
    """Mean binary cross-entropy of ``sigmoid(logits)`` against 0/1 targets.

    Args:
        logits: shape ``(N,)`` or ``(N, 1)``.
        targets: 0 or 1, the same shape.

    Returns:
        ``(loss, dlogits)`` with ``loss = (1/N) sum_n [log(1 + e^{z_n}) - t_n z_n]``
        (the same as ``-t log s - (1-t) log(1-s)``, computed with ``logaddexp`` so that
        it never overflows) and ``dlogits = (sigmoid(z) - t) / N``.
    """
    who = "binary_cross_entropy"
    require_shape(targets, logits.shape, who, "targets")
    _check_scores(logits, who)
    if not np.all((targets == 0) | (targets == 1)):
        raise ValueError(f"{who}: expected targets of 0 or 1, got values {np.unique(targets)[:5]}")
    n = logits.shape[0]
    loss = np.sum(np.logaddexp(0.0, logits) - targets * logits) / n
    prob = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return float(loss), (prob - targets) / n
