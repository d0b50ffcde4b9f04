"""Layers: ``Linear``, the elementwise activations and ``Sequential``.

Every layer has the same shape (see the package docstring):

* ``params`` / ``grads``: dicts with the same keys (empty for activations);
* ``forward(x)``: ``x`` of shape ``(N, D)`` -> output, keeping ``cache[...]`` for backward;
* ``backward(dout)``: ``dout = dL/d(output)`` -> ``dx = dL/dx``, filling ``grads``.

Activations share :class:`Elementwise`, which defines ``f`` and its derivative ``df`` once
each, so that ``backward`` is always ``dout * df(x, out)`` (the chain rule, elementwise).
"""


import numpy as np

from course_lib.validation import (
    plainly_finite,
    require_dtype,
    require_finite,
    require_float,
    require_shape,
    scanning_for_non_finite,
)

INITS = {
    "he": lambda fan_in, fan_out: np.sqrt(2.0 / fan_in),
    "xavier": lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)),
    "small": lambda fan_in, fan_out: 0.01,
}


class Layer:
    """Base class: empty ``params``/``grads`` and the cache that backward reads."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = {}

    def _cached(self, key):
        """Return ``cache[key]``, or explain that forward must run first."""
        try:
            return self.cache[key]
        except KeyError:
            raise ValueError(
                f"{self!r}.backward: no cached {key!r}; call forward(x) before backward(dout)"
            ) from None

    def _check_input(self, x, width=None, dtype=None):
        """Validate ``forward``'s input: float, finite, and ``(N, width)`` if ``width`` is given.

        A layer with weights also passes their ``dtype``, which ``x`` must share. The
        common case (a float ndarray of the right shape whose sum of squares is finite)
        is decided with a few attribute reads and one dot product, which
        ``finite_scans(False)`` skips; only when it fails do the full checks run, which
        build the message naming this layer.
        """
        if (
            type(x) is np.ndarray
            and x.dtype.kind == "f"
            and (width is None or (x.ndim == 2 and x.shape[1] == width))
            and (dtype is None or x.dtype is dtype)
            and plainly_finite(x)
        ):
            return
        who = f"{self!r}.forward"
        if width is not None:
            require_shape(x, ("N", width), who)
        require_float(x, who)
        if dtype is not None:
            require_dtype(x, dtype, who)
        if scanning_for_non_finite():
            require_finite(x, who)

    def _check_dout(self, dout, out_shape, dtype=None):
        """Validate ``backward``'s ``dout``: shape ``out_shape``, finite, and of ``dtype`` if given.

        Fast path as in :meth:`_check_input`.
        """
        if (
            type(dout) is np.ndarray
            and dout.dtype.kind == "f"
            and dout.shape == out_shape
            and (dtype is None or dout.dtype is dtype)
            and plainly_finite(dout)
        ):
            return
        who = f"{self!r}.backward"
        require_shape(dout, out_shape, who, "dout")
        require_float(dout, who, "dout")
        if dtype is not None:
            require_dtype(dout, dtype, who, "dout")
        if scanning_for_non_finite():
            require_finite(dout, who, "dout")

    def __call__(self, x):
        return self.forward(x)


class Linear(Layer):
    """Fully connected layer, ``y = x @ W + b``, i.e. ``y_j = sum_i x_i W_ij + b_j``.

    Args:
        in_features: ``D_in``, the width of each input row.
        out_features: ``D_out``, the width of each output row.
        rng: a seed or ``numpy.random.Generator`` for the initial weights.
        init: ``"he"`` (std ``sqrt(2/D_in)``, suited to ReLU), ``"xavier"``
            (std ``sqrt(2/(D_in+D_out))``, suited to tanh/sigmoid) or ``"small"`` (std 0.01).
        dtype: the floating-point type of ``W``, ``b`` and their gradients: ``float64``
            (the default, which gradient checks need) or ``float32``, half the memory
            traffic and about twice the speed for wide layers. ``x`` and ``dout`` must
            have the same dtype; nothing is converted silently.

    Shapes: ``W`` is ``(D_in, D_out)``, ``b`` is ``(D_out,)``; ``x`` is ``(N, D_in)``,
    the output ``(N, D_out)``. Backward: ``dW = x.T @ dout``, ``db = sum_n dout_n``,
    ``dx = dout @ W.T``.
    """

    def __init__(self, in_features, out_features, rng=None, init="he", dtype=np.float64):
        super().__init__()
        if init not in INITS:
            raise ValueError(
                f"Linear: unknown init {init!r}; expected one of {sorted(INITS)}"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(
                f"Linear: expected a floating-point dtype such as np.float32 or "
                f"np.float64, got {self.dtype}"
            )
        rng = np.random.default_rng(rng)
        std = INITS[init](in_features, out_features)
        self.in_features, self.out_features = in_features, out_features
        self.params = {
            "W": rng.normal(0.0, std, size=(in_features, out_features)).astype(self.dtype),
            "b": np.zeros(out_features, dtype=self.dtype),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def forward(self, x):
        self._check_input(x, self.in_features, self.dtype)
        self.cache["x"] = x
        out = x @ self.params["W"]
        out += self.params["b"]
        return out

    def backward(self, dout):
        self.backward_params(dout)
        return dout @ self.params["W"].T

    def backward_params(self, dout):
        """``backward`` without ``dx``: fill ``grads["W"]`` and ``grads["b"]``, return None.

        For a first layer, whose ``dx`` (a third of backward's arithmetic) nobody reads.
        """
        x = self._cached("x")
        self._check_dout(dout, (x.shape[0], self.out_features), self.dtype)
        np.matmul(x.T, dout, out=self.grads["W"])
        np.add.reduce(dout, axis=0, out=self.grads["b"])

    def __repr__(self):
        suffix = "" if self.dtype == np.float64 else f", {self.dtype}"
        return f"Linear({self.in_features} -> {self.out_features}{suffix})"


class Elementwise(Layer):
    """An activation ``out = f(x)`` applied entry by entry; ``dx = dout * f'(x)``.

    Subclasses define ``f(x)`` and ``df(x, out)`` (the derivative may reuse the output,
    as the sigmoid's ``s (1 - s)`` does). Any shape is accepted; ``dout`` must have the
    shape that ``forward`` returned.
    """

    def f(self, x):
        raise NotImplementedError

    def df(self, x, out):
        raise NotImplementedError

    def forward(self, x):
        self._check_input(x)
        out = self.f(x)
        self.cache["x"], self.cache["out"] = x, out
        return out

    def backward(self, dout):
        x, out = self._cached("x"), self._cached("out")
        self._check_dout(dout, x.shape)
        return dout * self.df(x, out)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ReLU(Elementwise):
    """``max(0, x)``; derivative 1 where ``x > 0`` and 0 elsewhere (0 at the kink)."""

    def f(self, x):
        return np.maximum(x, 0.0)

    def df(self, x, out):
        return x > 0


class LeakyReLU(Elementwise):
    """``x`` for ``x >= 0`` and ``a x`` for ``x < 0``; derivative 1 or ``+a``.

    The slope on the negative side is ``+a`` (a small positive number), not ``-a``:
    the unit keeps a small gradient instead of dying.
    """

    def __init__(self, a=0.01):
        super().__init__()
        if not a >= 0:
            raise ValueError(f"LeakyReLU: expected a slope a >= 0, got {a}")
        self.a = a

    def f(self, x):
        return np.where(x >= 0, x, self.a * x)

    def df(self, x, out):
        return np.where(x >= 0, x.dtype.type(1), x.dtype.type(self.a))

    def __repr__(self):
        return f"LeakyReLU(a={self.a})"


class Sigmoid(Elementwise):
    """``s(x) = 1 / (1 + exp(-x))``; derivative ``s (1 - s)``.

    Computed as ``(1 + tanh(x/2)) / 2``, which never overflows.
    """

    def f(self, x):
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    def df(self, x, out):
        return out * (1.0 - out)


class Tanh(Elementwise):
    """``tanh(x) = 2 s(2x) - 1``; derivative ``1 - tanh(x)^2``."""

    def f(self, x):
        return np.tanh(x)

    def df(self, x, out):
        return 1.0 - out**2


class Step(Elementwise):
    """The perceptron's threshold: 1 where ``x > 0``, else 0.

    Its derivative is 0 everywhere it exists (and undefined at 0), so ``backward``
    returns zeros. That is the point: no gradient flows through a step, so gradient
    descent cannot train the layers below it, which is why networks use smooth or
    piecewise-linear activations instead.
    """

    def f(self, x):
        return (x > 0).astype(x.dtype)

    def df(self, x, out):
        return np.zeros_like(x)


class Sequential(Layer):
    """Layers applied in order: ``f(x) = f_L(... f_2(f_1(x)))``.

    ``params`` and ``grads`` are flat dicts whose keys are ``"<index>.<name>"``
    (``"0.W"``, ``"0.b"``, ``"2.W"``, ...) and whose values are the layers' own arrays,
    so updating ``params["0.W"]`` in place updates the first layer.
    """

    def __init__(self, *layers):
        self.cache = {}
        for index, layer in enumerate(layers):
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise ValueError(
                    f"Sequential: item {index} ({layer!r}) is not a layer "
                    f"(it needs forward and backward)"
                )
        self.layers = list(layers)

    @property
    def params(self):
        return {name: p for name, p, _ in self.parameters()}

    @property
    def grads(self):
        return {name: g for name, _, g in self.parameters()}

    def parameters(self):
        """List of ``(name, param, grad)`` triples, read afresh from the layers."""
        return [
            (f"{i}.{k}", p, layer.grads[k])
            for i, layer in enumerate(self.layers)
            for k, p in layer.params.items()
        ]

    def zero_grad(self):
        """Set every gradient to zero, in place."""
        for _, _, grad in self.parameters():
            grad[...] = 0.0

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def backward_params(self, dout):
        """Fill every layer's ``grads`` like ``backward``, but return None.

        A training step reads the gradients of the parameters, never ``dL/dx`` of the
        input, so a first :class:`Linear` skips computing it. A subclass that overrides
        ``backward`` (a deliberately broken layer, say) is still run through its own
        ``backward``.
        """
        if not self.layers:
            return
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        first = self.layers[0]
        if type(first).backward in (Linear.backward, Sequential.backward):
            first.backward_params(dout)
        else:
            first.backward(dout)

    def predict(self, x):
        """Class labels, shape ``(N,)``: argmax of the scores, or ``score > 0`` for one output."""
        scores = self.forward(x)
        if scores.ndim == 2 and scores.shape[1] > 1:
            return np.argmax(scores, axis=1)
        return (scores.reshape(len(scores)) > 0).astype(np.int64)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __repr__(self):
        inner = ",\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


__all__ = [
    "Elementwise",
    "Layer",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Step",
    "Tanh",
]
