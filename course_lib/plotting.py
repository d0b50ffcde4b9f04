"""Plot helpers: each takes ``ax=None`` (a new figure when missing) and returns the ``ax``.

Colours come from the Okabe-Ito palette, which stays distinguishable with the common
forms of colour blindness; classes also differ by marker shape, never by red-versus-green
alone. Labels are plain Unicode text (``x₁``, ``σ′``, ``10⁻²``), not ``$...$`` mathtext:
matplotlib parses each mathtext label with a TeX grammar it first builds in every kernel,
about a seventh of the lectures' drawing time (measured) for symbols DejaVu Sans has anyway.
"""

import re

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.ticker import LogFormatterSciNotation

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _axes(ax):
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=(4.5, 4))
    place_axes(fig)                               # fixed margins: cheaper than a layout engine
    return ax


def plot_points(X, y, ax=None, labels=None, size=30):
    """Scatter 2-D points ``X`` (``(N, 2)``), one colour and marker per class in ``y``."""
    ax = _axes(ax)
    for k in np.unique(y):
        mask = y == k
        ax.scatter(
            X[mask, 0], X[mask, 1], s=size, c=PALETTE[int(k) % len(PALETTE)],
            marker=MARKERS[int(k) % len(MARKERS)], edgecolors="white", linewidths=0.6,
            label=labels[int(k)] if labels is not None else f"class {k}", zorder=3,
        )
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    return ax


def plot_activation(activation, ax=None, x_range=(-5.0, 5.0), num=401):
    """Draw an activation ``g`` and its derivative ``g'`` (from its ``backward``) on one axis.

    ``activation`` is a layer such as ``ReLU()``; the derivative is ``backward(ones)``,
    so the curve shows exactly what the layer's backward pass computes.
    """
    ax = _axes(ax)
    y = np.linspace(*x_range, num).reshape(-1, 1)
    out = activation.forward(y)
    slope = activation.backward(np.ones_like(out))
    ax.plot(y[:, 0], out[:, 0], color=PALETTE[0], lw=2, label="g(y)")
    ax.plot(y[:, 0], slope[:, 0], color=PALETTE[1], lw=2, ls="--", label="g′(y)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title(repr(activation))
    ax.set_xlabel("input y")
    ax.set_ylabel("output")
    ax.legend(loc="upper left")
    return ax


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, padding=0.5, title=None,
                           labels=None, legend_loc="best"):
    """Shade the regions that ``predict`` assigns to each class and scatter ``(X, y)``.

    ``predict`` maps an ``(M, 2)`` array of points to ``(M,)`` integer classes. A legend
    names each class's colour (a point's marker and its region's shade share it); pass
    ``labels`` to name the classes and ``legend_loc=None`` to leave the legend out.
    """
    ax = _axes(ax)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    g1, g2 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    regions = np.asarray(predict(grid)).reshape(g1.shape)
    n_classes = int(max(regions.max(), y.max())) + 1
    cmap = ListedColormap(PALETTE[:n_classes])
    ax.contourf(g1, g2, regions, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    plot_points(X, y, ax=ax, labels=labels)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title or "decision regions")
    if legend_loc is not None:
        handles = dict(zip(*ax.get_legend_handles_labels()[::-1], strict=True))
        ax.legend(handles.values(), handles.keys(), loc=legend_loc, fontsize=8,
                  title="point and shaded region", title_fontsize=8)
    return ax


def plot_truth_table(X, y, ax=None, title="XOR"):
    """The four corners of a Boolean function, each marked by its class and annotated."""
    ax = plot_points(X, y, ax=ax, labels=["output 0", "output 1"], size=160)
    for (x1, x2), label in zip(X, y, strict=True):
        ax.annotate(f"({x1:g}, {x2:g}) -> {label}", (x1, x2), textcoords="offset points",
                    xytext=(8, 8), fontsize=9)
    ax.set_xlim(-0.4, 1.6)
    ax.set_ylim(-0.4, 1.4)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_history(history, axes=None):
    """Loss (left) and accuracy (right) per epoch from a :class:`~course_lib.train.History`.

    Returns the pair of axes.
    """
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(9, 3.5))[1]
    ax_loss, ax_acc = axes
    epochs = np.arange(1, len(history.loss) + 1)
    ax_loss.plot(epochs, history.loss, color=PALETTE[0], marker=".", label="training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss")
    ax_loss.legend()
    if history.accuracy:
        ax_acc.plot(epochs, history.accuracy, color=PALETTE[0], marker=".", label="training")
    if history.val_accuracy:
        ax_acc.plot(epochs, history.val_accuracy, color=PALETTE[1], marker="s", ms=3,
                    ls="--", label="held out")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("accuracy")
    ax_acc.legend()
    return axes


def plot_hidden_space(hidden, X, y, ax=None, grid_lines=11, title="hidden-layer view"):
    """Where a hidden layer sends 2-D data: the points and the warped input grid.

    Args:
        hidden: maps ``(M, 2)`` inputs to ``(M, H)`` hidden activations; the first two
            hidden units are drawn.
        X, y: the data, ``(N, 2)`` and ``(N,)``.
        grid_lines: lines of the input square's grid to map, in each direction.
    """
    ax = _axes(ax)
    (x_lo, y_lo), (x_hi, y_hi) = X.min(axis=0), X.max(axis=0)
    along_x, along_y = np.linspace(x_lo, x_hi, 100), np.linspace(y_lo, y_hi, 100)
    vertical = [np.column_stack([np.full(100, x0), along_y])
                for x0 in np.linspace(x_lo, x_hi, grid_lines)]
    horizontal = [np.column_stack([along_x, np.full(100, y0)])
                  for y0 in np.linspace(y_lo, y_hi, grid_lines)]
    for line in vertical + horizontal:
        h = np.asarray(hidden(line))
        ax.plot(h[:, 0], h[:, 1], color="grey", lw=0.5, alpha=0.6)
    plot_points(np.asarray(hidden(X))[:, :2], y, ax=ax)
    ax.set_xlabel("hidden unit h₁")
    ax.set_ylabel("hidden unit h₂")
    ax.set_title(title)
    return ax


def place_axes(fig, left=0.8, right=0.3, bottom=0.5, top=0.35, wspace=0.8, max_ticks=6):
    """Lay out a row of subplots with fixed margins, in inches, and few ticks; returns ``fig``.

    ``layout="constrained"`` measures every tick label of every panel (twice) before each
    draw: about a fifth of a lecture's run time. A row of panels with a one-line title,
    axis labels and tick labels fits in these margins; ``wspace`` is the gap between two
    panels (room for the right one's y label); ``top=0.6`` leaves room for two-line titles.
    Each linear axis gets about ``max_ticks`` ticks, and never fewer than four:
    matplotlib builds and draws every tick as five artists, the largest part of drawing a
    panel, and puts up to ten on a tall axis, where five or six read as well.
    Call it right after ``plt.subplots`` and before adding colorbars.
    """
    width, height = fig.get_size_inches()
    ncols = fig.axes[0].get_subplotspec().get_gridspec().ncols
    panel = (width - left - right - (ncols - 1) * wspace) / ncols
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=wspace / panel)
    for ax in fig.axes:
        ax.locator_params(nbins=max_ticks - 1, min_n_ticks=4)  # nbins: intervals
    return fig


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class PlainLogFormatter(LogFormatterSciNotation):
    """Log-axis tick labels as plain text: ``10⁻²``, ``2×10⁰``.

    The very labels matplotlib's default log formatter chooses, written without the
    ``$\\mathdefault{10^{-2}}$`` mathtext it would otherwise parse for each tick.
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        math = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", label)
        if math is None:
            return label
        body = math.group(1).replace(r"\times", "×")
        body = re.sub(r"\^\{(-?\d+)\}", lambda power: power.group(1).translate(_SUPERSCRIPT), body)
        return body.replace("-", "−")


def log_scale(ax, axis="y"):
    """Put ``axis`` (``"x"``, ``"y"`` or ``"both"``) of ``ax`` on a log scale; returns ``ax``.

    The ticks of ``ax.set_yscale("log")``, labelled by :class:`PlainLogFormatter`.
    """
    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"set_{name}scale")("log")
        scaled = getattr(ax, f"{name}axis")
        scaled.set_major_formatter(PlainLogFormatter())
        scaled.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
    return ax
