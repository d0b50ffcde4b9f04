"""Gradient checking: the oracle that tells whether a backward pass is right.

Two ways to get a numerical derivative, both with centred differences in float64,
``f'(x) ~ (f(x + h) - f(x - h)) / 2h`` (error ``O(h^2)``):

* ``method="full"``: every entry of every array, two evaluations of ``f`` per entry;
* ``method="directional"``: along a few random unit directions ``v`` per array,
  ``(f(x + h v) - f(x - h v)) / 2h ~ <grad, v>``, two evaluations per direction,
  however many entries the array has.

Checks return a :class:`GradcheckReport` and print nothing.
"""

from dataclasses import dataclass

import numpy as np

from course_lib.validation import describe_shape, require_float64, require_shape

DEFAULT_TOL = 1e-6
DEFAULT_FLOOR = 1e-8
METHODS = ("full", "directional")


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function, entry by entry.

    Args:
        f: called as ``f(x)``; returns a scalar. It may also ignore its argument and read
            ``x`` through a closure, since ``x`` is perturbed in place.
        x: float64 array of any shape; restored to its original values on return, also
            when ``f`` raises.
        h: step size.

    Returns:
        array of ``x.shape`` with ``(f(x + h e_i) - f(x - h e_i)) / 2h`` at each index ``i``.
    """
    require_float64(x, "numerical_gradient")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            plus = float(f(x))
            x[index] = original - h
            minus = float(f(x))
        finally:
            x[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def directional_derivative(f, x, direction, h=1e-5):
    """Centred difference of ``f`` along ``direction``: ``(f(x+hv) - f(x-hv)) / 2h``.

    Two evaluations, whatever ``x.size``. ``x`` is restored on return, also when ``f`` raises.
    """
    require_float64(x, "directional_derivative")
    original = x.copy()
    try:
        x += h * direction
        plus = float(f(x))
        x[...] = original - h * direction
        minus = float(f(x))
    finally:
        x[...] = original
    return (plus - minus) / (2 * h)


def rel_error(a, b, floor=DEFAULT_FLOOR):
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, floor)``.

    The floor keeps entries where both are (nearly) zero from dividing by zero.
    """
    return float(np.max(_elementwise_rel_error(np.asarray(a), np.asarray(b), floor), initial=0.0))


def _elementwise_rel_error(a, b, floor):
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)


@dataclass(frozen=True)
class ParamCheck:
    """The outcome for one array: its worst relative error and where it occurred.

    ``worst_index`` is ``None`` for a directional check, which has no per-entry view;
    ``analytic`` and ``numeric`` are the two values compared at the worst place.
    """

    name: str
    shape: tuple
    max_rel_error: float
    worst_index: tuple | None
    analytic: float
    numeric: float
    ok: bool


@dataclass(frozen=True)
class GradcheckReport:
    """Per-array results of a gradient check; ``ok`` is True when every array passed."""

    checks: tuple
    method: str
    tol: float

    @property
    def ok(self):
        return all(check.ok for check in self.checks)

    @property
    def failures(self):
        return [check for check in self.checks if not check.ok]

    def __getitem__(self, name):
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; have {[c.name for c in self.checks]}")

    def __repr__(self):
        status = "PASS" if self.ok else "FAIL"
        lines = [f"gradient check ({self.method}, tol {self.tol:.0e}): {status}"]
        width = max((len(c.name) for c in self.checks), default=4)
        for c in self.checks:
            where = "" if c.worst_index is None else f" at {c.worst_index}"
            lines.append(
                f"  {c.name:<{width}} {describe_shape(c.shape):<12} "
                f"max rel error {c.max_rel_error:.2e}{where}  "
                f"analytic {c.analytic:+.6g} vs numeric {c.numeric:+.6g}  "
                f"{'ok' if c.ok else 'FAIL'}"
            )
        return "\n".join(lines)


def _compare_full(name, f, x, analytic, h, tol, floor):
    numeric = numerical_gradient(lambda _: f(), x, h)
    scale = max(np.abs(numeric).max(initial=0.0), np.abs(analytic).max(initial=0.0))
    errors = _elementwise_rel_error(analytic, numeric, max(floor, 1e-3 * scale))
    worst = np.unravel_index(np.argmax(errors), errors.shape) if errors.size else ()
    worst = tuple(int(i) for i in worst)
    error = float(errors[worst]) if errors.size else 0.0
    return ParamCheck(
        name, x.shape, error, worst, float(analytic[worst]) if errors.size else 0.0,
        float(numeric[worst]) if errors.size else 0.0, bool(error <= tol),
    )


def _compare_directional(name, f, x, analytic, h, tol, floor, rng, directions):
    worst = (0.0, 0.0, 0.0)
    for _ in range(directions):
        v = rng.standard_normal(x.shape)
        v /= max(np.linalg.norm(v), np.finfo(float).tiny)
        numeric = directional_derivative(lambda _: f(), x, v, h)
        exact = float(np.sum(analytic * v))
        scale = np.linalg.norm(analytic) * 1e-3
        error = abs(exact - numeric) / max(abs(exact) + abs(numeric), floor, scale)
        if error >= worst[0]:
            worst = (float(error), exact, float(numeric))
    # plain floats and a plain bool: a report is data that crosses the grader's channel
    return ParamCheck(name, x.shape, worst[0], None, worst[1], worst[2], bool(worst[0] <= tol))


def check_gradients(
    f, params, grads, *, method="full", h=1e-5, tol=DEFAULT_TOL, floor=DEFAULT_FLOOR,
    directions=3, rng=0,
):
    """Compare analytic gradients with numerical ones.

    Args:
        f: ``f()`` returns the scalar loss for the current values in ``params``.
        params: dict name -> float64 array; perturbed in place and restored.
        grads: dict with the same keys: the analytic gradients, arrays of the same shapes.
        method: ``"full"`` (every entry) or ``"directional"`` (``directions`` random unit
            directions per array; cost ``2 * directions`` evaluations per array).
        tol: the largest relative error that passes.
        rng: seed or Generator for the directions.

    Returns:
        :class:`GradcheckReport`, one :class:`ParamCheck` per key.
    """
    if method not in METHODS:
        raise ValueError(f"check_gradients: unknown method {method!r}; expected one of {METHODS}")
    if set(params) != set(grads):
        raise ValueError(
            f"check_gradients: params and grads must have the same keys, "
            f"got {sorted(params)} and {sorted(grads)}"
        )
    rng = np.random.default_rng(rng)
    checks = []
    for name, x in params.items():
        who = f"check_gradients[{name!r}]"
        require_float64(x, who, "param")
        analytic = np.array(grads[name], dtype=np.float64)
        require_shape(analytic, x.shape, who, "grad")
        if method == "full":
            checks.append(_compare_full(name, f, x, analytic, h, tol, floor))
        else:
            checks.append(
                _compare_directional(name, f, x, analytic, h, tol, floor, rng, directions)
            )
    return GradcheckReport(tuple(checks), method, tol)


def check_layer(layer, x, *, dout=None, method="full", rng=0, **kwargs):
    """Check a layer's ``backward`` against numerical gradients of its ``forward``.

    A random upstream gradient ``dout`` (unless given) turns the layer's vector output
    into the scalar ``L = sum(forward(x) * dout)``, whose gradient with respect to ``x``
    and to each parameter is exactly what ``backward(dout)`` must return and store.

    Args:
        layer: anything following the layer contract.
        x: float64 input, shape ``(N, D)``.
        dout: upstream gradient of the output's shape; uniform on ``[-1, 1]`` when ``None``
            (a distribution unlike the usual normal ``x``, so the same seed cannot make
            ``dout`` equal ``x`` and hide a transposed gradient).
        method, rng, kwargs: as for :func:`check_gradients`.

    Returns:
        :class:`GradcheckReport` with an entry ``"x"`` and one per parameter.
    """
    require_float64(x, f"check_layer({layer!r})")
    rng = np.random.default_rng(rng)
    x = x.copy()
    out = layer.forward(x)
    if dout is None:
        dout = rng.uniform(-1.0, 1.0, size=out.shape)
    dx = layer.backward(dout)
    grads = {"x": np.array(dx, dtype=np.float64)}
    grads.update({k: np.array(v, dtype=np.float64) for k, v in layer.grads.items()})
    params = {"x": x, **layer.params}

    def loss():
        return np.sum(layer.forward(x) * dout)

    return check_gradients(loss, params, grads, method=method, rng=rng, **kwargs)
