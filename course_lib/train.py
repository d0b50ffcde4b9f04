"""Minibatch training: ``fit(model, loss_fn, X, y)``."""

import math
from dataclasses import dataclass, field

import numpy as np

from course_lib.layers import Sequential
from course_lib.optim import SGD
from course_lib.validation import finite_scans, require_finite


@dataclass
class History:
    """Per-epoch mean training loss and accuracy (and held-out accuracy if asked)."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)

    def __repr__(self):
        if not self.loss:
            return "History(no epochs)"
        parts = [f"{len(self.loss)} epochs", f"loss {self.loss[0]:.4f} -> {self.loss[-1]:.4f}"]
        if self.accuracy:
            parts.append(f"accuracy {self.accuracy[-1]:.3f}")
        if self.val_accuracy:
            parts.append(f"val accuracy {self.val_accuracy[-1]:.3f}")
        return "History(" + ", ".join(parts) + ")"


def accuracy_of_scores(scores, y):
    """Fraction of rows classified right: argmax of ``(N, C)`` scores, or ``score > 0``."""
    return correct_count(scores, y) / len(y)


def correct_count(scores, y):
    """How many rows are classified right (see :func:`accuracy_of_scores`)."""
    if scores.ndim == 2 and scores.shape[1] > 1:
        predicted = scores.argmax(axis=1)
    else:
        predicted = (scores.reshape(len(scores)) > 0).astype(y.dtype)
    return int(np.count_nonzero(predicted == y.reshape(len(y))))


def _backward_for_training(model):
    """``model.backward``, or a Sequential's ``backward_params``, which skips ``dL/dx``.

    Training never reads the input gradient; a Sequential subclass that overrides
    ``backward`` keeps its own.
    """
    if isinstance(model, Sequential) and type(model).backward is Sequential.backward:
        return model.backward_params
    return model.backward


def fit(
    model, loss_fn, X, y, *, epochs=10, batch_size=32, lr=0.1, momentum=0.0, optimizer=None,
    rng=0, progress=True, validation=None, callback=None,
):
    """Train ``model`` by minibatch SGD on ``loss_fn(model.forward(X_batch), y_batch)``.

    Args:
        model: a :class:`~course_lib.layers.Sequential` (or anything with ``forward``,
            ``backward`` and ``parameters``).
        loss_fn: ``(scores, targets) -> (loss, dscores)``, e.g. ``softmax_cross_entropy``.
        X: inputs, shape ``(N, D)``; y: targets, shape ``(N,)`` (or what ``loss_fn`` takes).
        epochs, batch_size: passes over the data and rows per update.
        lr, momentum: for the default :class:`~course_lib.optim.SGD`; ignored if
            ``optimizer`` is given.
        rng: seed or Generator for the shuffling; the same seed gives the same run.
        progress: show a tqdm bar over epochs.
        validation: optional ``(X_val, y_val)`` scored with ``model.predict`` each epoch.
        callback: optional ``callback(epoch, history)`` after each epoch (live plots).

    Returns:
        :class:`History`. Accuracy is recorded when ``y`` holds integer labels.

    Raises:
        ValueError: ``X`` holds NaN or inf, or training diverged. Rather than have every
        layer scan every activation for NaN and inf, ``fit`` scans ``X`` once, checks
        each batch's loss and the parameters after each epoch; when one is not finite
        it says where, and names the layer at fault if it can.
    """
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} rows but y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"fit: expected batch_size >= 1, got {batch_size}")
    require_finite(X, "fit", "X")
    rng = np.random.default_rng(rng)
    optimizer = optimizer or SGD(model, lr=lr, momentum=momentum)
    labels = np.issubdtype(np.asarray(y).dtype, np.integer)
    backward = _backward_for_training(model)
    history = History()
    n = len(X)
    epoch_range = range(epochs)
    if progress:        # tqdm.auto imports ipywidgets in a kernel: only when a bar is wanted
        from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc="epochs", unit="epoch")
    for epoch in epoch_range:
        order = rng.permutation(n)
        total_loss, correct = 0.0, 0
        with finite_scans(False):
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                xb, yb = X[batch], y[batch]
                scores = model.forward(xb)
                loss, dscores = loss_fn(scores, yb)
                if not math.isfinite(loss):
                    batch_index = start // batch_size
                    updates = epoch * math.ceil(n / batch_size) + batch_index
                    raise non_finite_loss_error(
                        f"fit: epoch {epoch}, batch {batch_index}", loss,
                        model, loss_fn, xb, yb, optimizer, updates,
                    )
                backward(dscores)
                optimizer.step()
                total_loss += loss * len(batch)
                if labels:
                    correct += correct_count(scores, yb)
        diverged = non_finite_parameters(model)
        if diverged:
            raise ValueError(
                f"fit: after epoch {epoch}, NaN or inf in {', '.join(diverged)}: training "
                f"diverged ({optimizer!r}); try a smaller learning rate"
            )
        history.loss.append(total_loss / n)
        if labels:
            history.accuracy.append(correct / n)
        if validation is not None:
            X_val, y_val = validation
            history.val_accuracy.append(float(np.mean(model.predict(X_val) == y_val)))
        if callback is not None:
            callback(epoch, history)
    return history


def non_finite_parameters(model):
    """Names of the parameters holding NaN or inf, in ``model.parameters()`` order."""
    return [name for name, param, _ in model.parameters() if not np.isfinite(param).all()]


def non_finite_loss_error(where, loss, model, loss_fn, xb, yb, optimizer, updates):
    """A ValueError explaining a NaN or inf ``loss`` on the batch ``(xb, yb)``.

    Parameters gone non-finite mean that training diverged. Otherwise the batch is run
    again with every NaN/inf scan on, so that the first layer (or the loss) that sees a
    non-finite value names itself; if none does, the loss itself overflowed: after some
    updates, because training diverged; on the very first batch, because of the inputs.
    """
    hint = (f"training diverged after {updates} updates ({optimizer!r}); "
            "try a smaller learning rate")
    diverged = non_finite_parameters(model)
    if diverged:
        return ValueError(f"{where}: NaN or inf in {', '.join(diverged)}: {hint}")
    try:
        with finite_scans(True):
            loss_fn(model.forward(xb), yb)
    except ValueError as error:
        cause = f"{where}: the loss is {loss} because {error}"
        return ValueError(cause + (f". If earlier batches trained well, {hint}" if updates else ""))
    overflow = f"{where}: the loss overflowed to {loss} although every layer's output is finite"
    if updates:
        return ValueError(f"{overflow}: {hint}")
    return ValueError(f"{overflow}; scale the inputs or the initial weights down")
