"""Interactive widgets for the lecture notebooks (ipywidgets + matplotlib).

Each builder returns a widget box (an ``ipywidgets.VBox`` subclass) that shows itself
when it is the last expression of a cell. The pieces a test or a curious student needs
are plain attributes:

* the controls (``w1``, ``dropdown``, ``train_button``, ...);
* ``update()``, the callback every control triggers: it recomputes the state, redraws
  ``figure`` (a ``matplotlib.figure.Figure`` that pyplot does not manage, so it never
  appears twice) and shows it as a PNG in ``output`` (an ``ipywidgets.Output``) by
  replacing its outputs, like d2l's ``clear_output`` + ``display`` but without writing
  into the cell's own outputs;
* ``static_figure()``, the same drawing in an ordinary pyplot figure, for a cell that
  leaves a picture in the notebook when no kernel (or no widget front end) is running.

This module is imported by notebooks only: ``import course_lib`` does not need ipywidgets.
"""

import base64
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython import get_ipython
from matplotlib.figure import Figure

from course_lib import datasets, plotting
from course_lib.layers import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Step, Tanh
from course_lib.losses import softmax_cross_entropy
from course_lib.train import History, fit

ACTIVATIONS = {
    "Step": Step,
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "ReLU": ReLU,
    "LeakyReLU": LeakyReLU,
}
"""Name -> activation class; ``LeakyReLU`` also takes the slope ``a``."""

SATURATION_THRESHOLD = 0.01
"""``|g'(y)|`` below this counts as saturated: almost no gradient passes."""

PLAYGROUND_DATA = {
    "xor": lambda: datasets.xor(n_per_corner=50, noise=0.15, rng=0),
    "circles": lambda: datasets.circles(n=200, noise=0.1, rng=0),
    "moons": lambda: datasets.moons(n=200, noise=0.1, rng=0),
    "spirals": lambda: datasets.spirals(n=200, noise=0.1, rng=0),
}
"""The playground's datasets: 200 labelled 2-D points each, fixed seeds."""


def in_kernel():
    """True inside a Jupyter kernel: only there can a front end show the rendered PNG."""
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def figure_png(figure):
    """PNG bytes of a matplotlib figure (independent of the notebook's plotting backend)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class FigureWidget(widgets.VBox):
    """Controls above an ``Output`` holding one matplotlib figure, redrawn by ``update``.

    Subclasses define ``draw(figure)`` (draw the current state into an empty figure) and
    call ``update()`` at the end of ``__init__``.
    """

    figsize = (5, 4)

    def __init__(self, controls):
        self.figure = Figure(figsize=self.figsize)      # fixed margins: no layout engine
        self.output = widgets.Output()
        super().__init__(children=[*controls, self.output])

    def draw(self, figure):
        raise NotImplementedError

    def redraw(self):
        """Draw the state into ``figure`` and, in a kernel, show it as a PNG in ``output``.

        The PNG replaces ``output.outputs`` in one step (the widget's own state, synced to
        the front end) rather than being printed inside ``with output:``: the result is
        the same on screen, but nothing leaks into the cell's own outputs, so a notebook
        executed without a widget front end (nbval, nbconvert) stores no stray image.
        """
        self.figure.clear()
        self.draw(self.figure)
        plotting.place_axes(self.figure)
        if not in_kernel():
            return
        png = base64.b64encode(figure_png(self.figure)).decode("ascii")
        self.output.outputs = ({
            "output_type": "display_data",
            "metadata": {},
            "data": {"image/png": png, "text/plain": f"<{type(self).__name__} figure>"},
        },)

    def update(self, change=None):
        """Recompute from the controls and redraw; ``change`` is ipywidgets' event."""
        self.redraw()

    def static_figure(self):
        """The current state drawn in a new pyplot figure (shown inline by a notebook)."""
        figure = plt.figure(figsize=self.figsize)
        self.draw(figure)
        plotting.place_axes(figure)
        return figure


def _slider(description, value, low=-2.0, high=2.0, step=0.1):
    return widgets.FloatSlider(
        value=value, min=low, max=high, step=step, description=description,
        continuous_update=True, readout_format=".1f",
    )


# --- XOR and one line ------------------------------------------------------------------


def step_classify(X, w1, w2, b):
    """The perceptron ``g(x . w + b)`` with the step ``g``: ``(N, 2)`` -> ``(N,)`` in {0, 1}."""
    return (X @ np.array([w1, w2], dtype=np.float64) + b > 0).astype(np.int64)


def count_mistakes(X, y, w1, w2, b):
    """How many rows of ``X`` the line ``w1 x1 + w2 x2 + b = 0`` puts on the wrong side."""
    return int(np.sum(step_classify(X, w1, w2, b) != y))


class XorLineExplorer(FigureWidget):
    """Sliders for ``w1, w2, b`` of ``step(x . w + b)`` on the XOR truth table.

    ``mistakes`` holds the number of the four points the line gets wrong and ``label``
    says it in words. No line does better than one mistake on XOR.
    """

    def __init__(self, w1=1.0, w2=1.0, b=-0.5):
        self.X, self.y = datasets.xor()
        self.w1, self.w2, self.b = _slider("w1", w1), _slider("w2", w2), _slider("b", b)
        self.label = widgets.HTML()
        self.mistakes = None
        super().__init__([self.w1, self.w2, self.b, self.label])
        for slider in (self.w1, self.w2, self.b):
            slider.observe(self.update, names="value")
        self.update()

    @property
    def weights(self):
        return self.w1.value, self.w2.value, self.b.value

    def update(self, change=None):
        self.mistakes = count_mistakes(self.X, self.y, *self.weights)
        verdict = "the best any line can do" if self.mistakes == 1 else "a line can do better"
        self.label.value = (
            f"<b>{self.mistakes} of {len(self.y)} points wrong</b> ({verdict}: 1 mistake)"
        )
        self.redraw()

    def draw(self, figure):
        ax = figure.add_subplot()
        w1, w2, b = self.weights
        plotting.plot_decision_boundary(
            lambda grid: step_classify(grid, w1, w2, b), self.X, self.y, ax=ax,
            resolution=100, padding=0.4, legend_loc="center right",
        )
        plotting.plot_points(self.X, self.y, ax=ax, size=120)
        wrong = step_classify(self.X, w1, w2, b) != self.y
        ax.scatter(*self.X[wrong].T, s=500, facecolors="none", edgecolors="black",
                   linewidths=1.5, zorder=4)
        _draw_line(ax, w1, w2, b)
        w1, w2, b = (f"{value:.1f}".replace("-", "−") for value in (w1, w2, b))  # minus signs
        ax.set_title(f"w = ({w1}, {w2}), b = {b}: "
                     f"{int(wrong.sum())} of {len(self.y)} wrong (circled)")


def _draw_line(ax, w1, w2, b):
    """The boundary ``w1 x1 + w2 x2 + b = 0`` across the axis (nothing if ``w = 0``)."""
    x_lo, x_hi = ax.get_xlim()
    if abs(w2) > 1e-12:
        x1 = np.array([x_lo, x_hi])
        ax.plot(x1, -(w1 * x1 + b) / w2, color="black", lw=1.5)
    elif abs(w1) > 1e-12:
        ax.axvline(-b / w1, color="black", lw=1.5)
    ax.set_xlim(x_lo, x_hi)


def xor_line_explorer(w1=1.0, w2=1.0, b=-0.5):
    """Sliders for one line on XOR that count its mistakes; see :class:`XorLineExplorer`."""
    return XorLineExplorer(w1, w2, b)


# --- activations -----------------------------------------------------------------------


class ActivationExplorer(FigureWidget):
    """A dropdown of activations (and the leaky slope ``a``): plots ``g``, ``g'``, saturation.

    ``layer`` is the activation drawn; ``saturated_fraction`` is the share of inputs in
    ``[-5, 5]`` where ``|g'(y)| < 0.01``, shaded grey in the plot.
    """

    x_range = (-5.0, 5.0)

    def __init__(self, name="Sigmoid", a=0.1):
        if name not in ACTIVATIONS:
            raise ValueError(f"activation_explorer: unknown {name!r}; expected one of "
                             f"{sorted(ACTIVATIONS)}")
        self.dropdown = widgets.Dropdown(options=list(ACTIVATIONS), value=name,
                                         description="g")
        self.slope = widgets.FloatSlider(value=a, min=0.0, max=0.5, step=0.01,
                                         description="leaky a", readout_format=".2f")
        self.label = widgets.HTML()
        self.layer = None
        self.inputs = np.linspace(*self.x_range, 401).reshape(-1, 1)
        self.saturated = None
        self.saturated_fraction = None
        super().__init__([self.dropdown, self.slope, self.label])
        self.dropdown.observe(self.update, names="value")
        self.slope.observe(self.update, names="value")
        self.update()

    def update(self, change=None):
        name = self.dropdown.value
        self.slope.disabled = name != "LeakyReLU"
        self.layer = LeakyReLU(self.slope.value) if name == "LeakyReLU" else ACTIVATIONS[name]()
        self.layer.forward(self.inputs)
        slope = self.layer.backward(np.ones_like(self.inputs))[:, 0]
        self.saturated = np.abs(slope) < SATURATION_THRESHOLD
        self.saturated_fraction = float(np.mean(self.saturated))
        self.label.value = (
            f"{self.layer!r}: |g'(y)| &lt; {SATURATION_THRESHOLD} on "
            f"<b>{self.saturated_fraction:.0%}</b> of y in [{self.x_range[0]:g}, "
            f"{self.x_range[1]:g}] (saturated: almost no gradient passes)"
        )
        self.redraw()

    def draw(self, figure):
        ax = figure.add_subplot()
        plotting.plot_activation(self.layer, ax=ax, x_range=self.x_range)
        ax.fill_between(self.inputs[:, 0], 0, 1, where=self.saturated, color="grey", alpha=0.2,
                        transform=ax.get_xaxis_transform(), label="saturated")
        ax.legend(loc="upper left")


def activation_explorer(name="Sigmoid", a=0.1):
    """A dropdown over the course's activations; see :class:`ActivationExplorer`."""
    return ActivationExplorer(name, a)


# --- the playground --------------------------------------------------------------------


def build_mlp(width, depth, activation, rng=0):
    """``Linear(2, width)``, activation, ... (``depth`` hidden layers), ``Linear(width, 2)``.

    Two output scores, for :func:`~course_lib.losses.softmax_cross_entropy`; initialised
    with ``"xavier"`` for the saturating activations and ``"he"`` for the ReLUs.
    """
    if width < 1 or depth < 1:
        raise ValueError(f"build_mlp: expected width >= 1 and depth >= 1, got {width}, {depth}")
    rng = np.random.default_rng(rng)
    init = "he" if "ReLU" in activation else "xavier"
    layers, fan_in = [], 2
    for _ in range(depth):
        layers += [Linear(fan_in, width, rng=rng, init=init), ACTIVATIONS[activation]()]
        fan_in = width
    return Sequential(*layers, Linear(fan_in, 2, rng=rng, init="xavier"))


class Playground(FigureWidget):
    """A small MLP trained live on a 2-D toy set, in the spirit of playground.tensorflow.org.

    Changing the data set or the architecture starts a fresh model (seed 0); the Train
    button runs ``epochs`` more epochs of :func:`course_lib.train.fit` (minibatches of
    32, momentum 0.9), redrawing the decision regions and the loss curve as it goes.
    ``model``, ``history`` (every epoch since the reset) and ``label`` hold the state.
    """

    figsize = (9, 3.8)

    def __init__(self, dataset="xor", width=8, depth=1, activation="ReLU", lr=0.1, epochs=50,
                 live_redraws=5):
        if dataset not in PLAYGROUND_DATA:
            raise ValueError(f"playground: unknown dataset {dataset!r}; expected one of "
                             f"{sorted(PLAYGROUND_DATA)}")
        style = {"description_width": "initial"}
        self.dataset = widgets.Dropdown(options=list(PLAYGROUND_DATA), value=dataset,
                                        description="data")
        self.width = widgets.IntSlider(value=width, min=1, max=32, description="hidden width",
                                       style=style)
        self.depth = widgets.IntSlider(value=depth, min=1, max=4, description="hidden layers",
                                       style=style)
        self.activation = widgets.Dropdown(options=["ReLU", "LeakyReLU", "Tanh", "Sigmoid"],
                                           value=activation, description="activation",
                                           style=style)
        self.lr = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.25,
                                         description="learning rate", style=style)
        self.epochs = widgets.IntSlider(value=epochs, min=10, max=200, step=10,
                                        description="epochs per click", style=style)
        self.train_button = widgets.Button(description="Train", button_style="primary")
        self.reset_button = widgets.Button(description="Reset")
        self.label = widgets.HTML()
        self.live_redraws = live_redraws
        super().__init__([
            widgets.HBox([self.dataset, self.activation]),
            widgets.HBox([self.width, self.depth]),
            widgets.HBox([self.lr, self.epochs]),
            widgets.HBox([self.train_button, self.reset_button]),
            self.label,
        ])
        for control in (self.dataset, self.width, self.depth, self.activation):
            control.observe(self.reset, names="value")
        self.train_button.on_click(lambda _: self.train())
        self.reset_button.on_click(lambda _: self.reset())
        self.reset()

    def reset(self, change=None):
        """A fresh model for the chosen data and architecture; no epochs yet."""
        self.X, self.y = PLAYGROUND_DATA[self.dataset.value]()
        self.model = build_mlp(self.width.value, self.depth.value, self.activation.value)
        self.history = History()
        self._describe()
        self.redraw()

    update = reset

    def train(self, epochs=None):
        """Run ``epochs`` (default: the slider's) more epochs, redrawing a few times."""
        epochs = self.epochs.value if epochs is None else epochs
        every = max(1, epochs // max(1, self.live_redraws))
        done = len(self.history.loss)

        def record(epoch, run):
            self.history.loss.append(run.loss[-1])
            self.history.accuracy.append(run.accuracy[-1])
            if (epoch + 1) % every == 0 or epoch + 1 == epochs:
                self._describe()
                self.redraw()

        fit(self.model, softmax_cross_entropy, self.X, self.y, epochs=epochs, batch_size=32,
            lr=self.lr.value, momentum=0.9, rng=done, progress=False, callback=record)
        return self.history

    def accuracy(self):
        """Fraction of the training points the current model classifies right."""
        return float(np.mean(self.model.predict(self.X) == self.y))

    def _describe(self):
        epochs = len(self.history.loss)
        loss = f"{self.history.loss[-1]:.3f}" if epochs else "n/a"
        self.label.value = (f"epoch {epochs}: training loss {loss}, "
                            f"accuracy {self.accuracy():.1%}")

    def draw(self, figure):
        ax_regions, ax_loss = figure.subplots(1, 2)
        self.draw_regions(ax_regions)
        epochs = np.arange(1, len(self.history.loss) + 1)
        ax_loss.plot(epochs, self.history.loss, color=plotting.PALETTE[0], label="training loss")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("cross-entropy loss")
        ax_loss.set_title("loss")
        if len(epochs):
            ax_loss.legend(loc="upper right")

    def draw_regions(self, ax):
        """The decision regions of the current model over its data, on ``ax``."""
        hidden = " x ".join([str(self.width.value)] * self.depth.value)
        plotting.plot_decision_boundary(
            self.model.predict, self.X, self.y, ax=ax, resolution=100, padding=0.3,
            title=f"{self.dataset.value}: 2 -> {hidden} -> 2 {self.activation.value}, "
                  f"{self.accuracy():.0%}",
        )
        return ax


def playground(dataset="xor", width=8, depth=1, activation="ReLU", lr=0.1, epochs=50,
               live_redraws=5):
    """Train a small MLP live on a toy data set; see :class:`Playground`."""
    return Playground(dataset, width, depth, activation, lr, epochs, live_redraws)


__all__ = [
    "ACTIVATIONS",
    "ActivationExplorer",
    "Playground",
    "XorLineExplorer",
    "activation_explorer",
    "build_mlp",
    "count_mistakes",
    "playground",
    "step_classify",
    "xor_line_explorer",
]
