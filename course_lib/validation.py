"""Input checks shared by layers, losses and gradient checks.

Each check raises ``ValueError`` with a message a student can act on: who complained
(``who``, e.g. ``"Linear(64 -> 128).forward"``), what was expected and what arrived.

Scanning for NaN and inf costs a pass over every array; ``finite_scans(False)``
lets a caller that watches finiteness more cheaply (``fit`` scans ``X`` once and checks
each batch's loss) switch the scans off for a block. Shape and dtype checks stay on.
"""

import contextlib
import contextvars
import math

import numpy as np

_SCANNING = contextvars.ContextVar("course_lib_finite_scans", default=True)


# Whether layers and losses scan their inputs for NaN and inf (True unless switched off
# by finite_scans). The context variable's own getter: a check on every forward and
# backward call costs no Python frame.
scanning_for_non_finite = _SCANNING.get


def plainly_finite(x):
    """The fast path of a NaN/inf scan: True when scans are off or ``x . x`` is finite.

    ``sum_i x_i^2`` is finite exactly when every entry is, barring overflow, and a BLAS
    dot product (``np.vdot``) takes a third of ``np.sum``'s time on a wide batch; this
    runs on every forward and backward call outside ``fit``. False sends the caller to
    the full checks, which also clear huge but finite entries (beyond about 1e154 in
    float64, 1e19 in float32, whose squares overflow).
    """
    return not scanning_for_non_finite() or math.isfinite(np.vdot(x, x))


@contextlib.contextmanager
def finite_scans(enabled):
    """Switch the NaN/inf scans of layers and losses on or off within a block.

    Off, the caller takes over the duty: a non-finite value then shows up downstream,
    in the loss, and the caller must report it. The previous setting returns on exit.
    """
    token = _SCANNING.set(bool(enabled))
    try:
        yield
    finally:
        _SCANNING.reset(token)


def describe_shape(shape):
    """Render a shape with symbolic parts, e.g. ``("N", 64) -> "(N, 64)"``."""
    parts = [str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def require_array(x, who, name="x"):
    """Return ``x`` if it is a numpy array, else raise a ValueError naming ``who``."""
    if not isinstance(x, np.ndarray):
        raise ValueError(
            f"{who}: expected {name} to be a numpy array, got {type(x).__name__}"
        )
    return x


def require_shape(x, expected, who, name="x"):
    """Check ``x.shape`` against ``expected``, where ``None`` or a str matches any size.

    ``expected`` is a tuple such as ``("N", 64)``: the rank must match and every int
    entry must be equal.
    """
    require_array(x, who, name)
    if x.ndim != len(expected) or any(
        isinstance(e, int) and e != s for e, s in zip(expected, x.shape, strict=False)
    ):
        raise ValueError(
            f"{who}: expected {name} of shape {describe_shape(expected)}, "
            f"got {describe_shape(x.shape)}"
        )
    return x


def require_float(x, who, name="x"):
    """Reject integer, boolean or complex arrays: layers compute in floating point."""
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{who}: expected {name} with a floating-point dtype, got {x.dtype} "
            f"(convert with {name}.astype(np.float64))"
        )
    return x


def require_dtype(x, dtype, who, name="x"):
    """Require ``x.dtype == dtype``: a layer computes in its weights' precision."""
    if x.dtype != dtype:
        raise ValueError(
            f"{who}: expected {name} with dtype {dtype} (the dtype of the layer's weights), "
            f"got {x.dtype}; convert with {name}.astype(np.{dtype}), or build the layer "
            f"with dtype=np.{x.dtype}"
        )
    return x


def require_finite(x, who, name="x"):
    """Reject NaN and inf; one cheap reduction first, a full scan only on failure."""
    if not np.isfinite(np.sum(x)) and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"{who}: {name} contains NaN or inf (first at index {tuple(bad.tolist())}, "
            f"value {x[tuple(bad)]}); shape {describe_shape(x.shape)}"
        )
    return x


def require_float64(x, who, name="x"):
    """Gradient checks need float64: float32 rounding swamps a centred difference."""
    require_array(x, who, name)
    if x.dtype != np.float64:
        raise ValueError(
            f"{who}: expected {name} with dtype float64, got {x.dtype}; finite "
            f"differences in lower precision are dominated by rounding "
            f"(convert with {name}.astype(np.float64))"
        )
    return x
