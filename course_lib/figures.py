"""Diagrams for the lecture notebooks, drawn from numbers: a cell shows the idea, not plotting.

Each function takes ``ax=None`` (a new figure when missing), draws with the Okabe-Ito
palette of :mod:`course_lib.plotting`, titles the axes and returns them. Nothing is copied
from a paper: LeNet-5 is drawn from its layer sizes, the timeline from a dict of dates.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patches

from course_lib.plotting import PALETTE

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _subscript(index):
    """``12`` -> ``"₁₂"``: an index written as Unicode subscript digits."""
    return str(index).translate(_SUBSCRIPT)


def _axes(ax, figsize, bottom=None):
    # fixed margins, no layout engine (see plotting.place_axes); ``bottom`` (inches) leaves
    # room for what sits under the axes (an x label, tick labels), none by default
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.88,
                        bottom=0.03 if bottom is None else bottom / figsize[1])
    return ax


def draw_line(ax, w, b, **style):
    """Draw the boundary ``x . w + b = 0`` (``w`` of shape ``(2,)``) across the axes' limits.

    A vertical line when ``w[1] = 0``; nothing when ``w = 0`` (there is no boundary).
    """
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    if abs(w[1]) > 1e-12:
        xs = np.array([x_lo, x_hi])
        ax.plot(xs, -(w[0] * xs + b) / w[1], **style)
    elif abs(w[0]) > 1e-12:
        ax.plot([-b / w[0]] * 2, [y_lo, y_hi], **style)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    return ax


LENET5 = (  # (name, maps, height, width, kind), from LeCun et al. (1998), Fig. 2
    ("input", 1, 32, 32, "input"),
    ("C1", 6, 28, 28, "convolution 5×5"),
    ("S2", 6, 14, 14, "subsampling 2×2"),
    ("C3", 16, 10, 10, "convolution 5×5"),
    ("S4", 16, 5, 5, "subsampling 2×2"),
    ("C5", 120, 1, 1, "convolution 5×5"),   # its kernels cover S4's whole 5×5 maps: = full
    ("F6", 84, 1, 1, "full"),
    ("output", 10, 1, 1, "full (RBF)"),
)
_KIND_COLOUR = {"input": "#BBBBBB", "convolution 5×5": PALETTE[0],
                "subsampling 2×2": PALETTE[1], "full": PALETTE[2], "full (RBF)": PALETTE[3]}


def lenet_diagram(layers=LENET5, ax=None):
    """Feature maps as stacked squares scaled by their size (at most 6 per layer drawn),
    layers of 1×1 maps (fully connected, or C5's convolution that covers its whole input)
    as columns whose height grows with their unit count, coloured by their kind."""
    ax = _axes(ax, (10, 3), bottom=0.3)
    x = 0.0
    for name, maps, height, width, kind in layers:
        colour = _KIND_COLOUR[kind]
        if height > 1:
            side, shown = height / 32 * 3.0, min(maps, 6)
            for k in range(shown):
                ax.add_patch(patches.Rectangle((x + 0.12 * k, 0.12 * k), side, side,
                                               facecolor=colour, edgecolor="black", lw=0.6))
            label, x_next = f"{name}\n{maps}@{height}×{width}", x + side + 0.12 * shown
        else:
            column = maps / 120 * 3.0 + 0.3
            ax.add_patch(patches.Rectangle((x, 0), 0.4, column, facecolor=colour,
                                           edgecolor="black", lw=0.6))
            size = f"@{height}×{width}" if kind.startswith("convolution") else ""
            label, x_next = f"{name}\n{maps}{size}", x + 0.4
        ax.text((x + x_next) / 2, -0.45, label, ha="center", va="top", fontsize=8)
        if name != layers[-1][0]:
            ax.annotate("", xy=(x_next + 0.8, 1.0), xytext=(x_next + 0.1, 1.0),
                        arrowprops={"arrowstyle": "->", "color": "grey"})
        x = x_next + 0.9
    for kind, colour in _KIND_COLOUR.items():
        ax.add_patch(patches.Rectangle((0, 0), 0, 0, facecolor=colour, edgecolor="black",
                                       label=kind))
    ax.legend(loc="upper center", ncol=5, fontsize=8, frameon=False)
    ax.set_xlim(-0.3, x)
    ax.set_ylim(-1.6, 4.4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("layers, input to output (planes scaled by size; at most 6 maps drawn)")
    ax.set_title("A LeNet-5-style architecture (LeCun et al., 1998), drawn from its layer sizes")
    return ax


def timeline(events, spans=(), ax=None, title="Neural networks"):
    """Dated events on one axis, labels alternating above and below.

    Args:
        events: ``{year: label}``.
        spans: ``(start, end, label)`` periods shaded behind the axis (e.g. an "AI winter").
    """
    ax = _axes(ax, (10, 2.8), bottom=0.5)
    ax.axhline(0, color="black", lw=1)
    for start, end, label in spans:
        ax.axvspan(start, end, color=PALETTE[4], alpha=0.3, label=label)
    for k, (year, text) in enumerate(sorted(events.items())):
        up = k % 2 == 0
        height = 1.0 if up else -1.0
        ax.plot([year, year], [0, height * 0.6], color="grey", lw=0.8)
        ax.plot(year, 0, "o", color=PALETTE[0], zorder=3)
        ax.text(year, height * 0.65, f"{year}\n{text}" if up else f"{text}\n{year}",
                ha="center", va="bottom" if up else "top", fontsize=8)
    years = sorted(events)
    ax.set_xlim(years[0] - 6, years[-1] + 6)
    ax.set_ylim(-2.2, 2.2)
    ax.set_yticks([])
    ax.set_xlabel("year")
    ax.set_title(f"{title}, {years[0]}–{years[-1]}")
    if spans:
        ax.legend(loc="lower left", fontsize=8)
    return ax


def neuron_diagram(n_inputs=3, ax=None):
    """One artificial unit: inputs ``x_i`` -> weights ``w_i`` -> ``g(sum_i w_i x_i + b)``."""
    ax = _axes(ax, (6, 2.8))
    unit = (3.0, 1.0)
    for k in range(1, n_inputs + 1):
        xi, yi = 0.0, float(n_inputs - k)
        ax.add_patch(patches.Circle((xi, yi), 0.28, facecolor=PALETTE[4], edgecolor="black"))
        ax.text(xi, yi, f"x{_subscript(k)}", ha="center", va="center")
        ax.annotate("", xy=(unit[0] - 0.45, unit[1]), xytext=(xi + 0.3, yi),
                    arrowprops={"arrowstyle": "->", "color": "grey"})
        ax.text((xi + unit[0]) / 2, (yi + unit[1]) / 2 + 0.12, f"w{_subscript(k)}", ha="center")
    ax.add_patch(patches.Circle(unit, 0.45, facecolor=PALETTE[1], edgecolor="black"))
    ax.text(*unit, "Σ, g", ha="center", va="center")
    ax.annotate("", xy=(5.2, 1.0), xytext=(3.45, 1.0), arrowprops={"arrowstyle": "->"})
    ax.text(5.3, 1.0, "g(∑ᵢ wᵢxᵢ + b)", va="center")
    ax.text(1.5, -0.95, "inputs ~ dendrites, weights ~ synapse strengths,\nthreshold g ~ firing",
            ha="center", fontsize=9)
    ax.set_xlim(-0.5, 7.6)
    ax.set_ylim(-1.3, n_inputs - 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("An artificial unit: a caricature of a neuron")
    return ax


def linear_layer_graph(n_in=3, n_out=2, ax=None):
    """The graph of ``y_j = sum_i w_ij x_i + b_j``: one edge per weight, biases as dashed
    edges from a constant input 1 (the bias trick)."""
    ax = _axes(ax, (5.5, 3.6))
    inputs = {f"x{_subscript(i)}": (0.0, n_in - i) for i in range(1, n_in + 1)} | {"1": (0.0, -1.0)}
    outputs = {f"y{_subscript(j)}": (5.0, n_in - 0.8 - 1.6 * (j - 1)) for j in range(1, n_out + 1)}
    for i, (name, (xi, yi)) in enumerate(inputs.items(), start=1):
        is_bias = name == "1"
        for j, (xo, yo) in enumerate(outputs.values(), start=1):
            ax.plot([xi, xo], [yi, yo], color=PALETTE[1] if is_bias else "grey",
                    ls="--" if is_bias else "-", lw=1, zorder=1)
            # each weight written along its own edge, near its input: no label sits where
            # edges cross, so w₁₂ cannot be read off the edge from x₂ to y₁
            t = 0.22
            label = f"b{_subscript(j)}" if is_bias else f"w{_subscript(i)}{_subscript(j)}"
            ax.text(xi + t * (xo - xi), yi + t * (yo - yi), label, fontsize=9, ha="center",
                    va="bottom", rotation=np.degrees(np.arctan2(yo - yi, xo - xi)),
                    rotation_mode="anchor", color=PALETTE[5] if is_bias else "black")
    for names, colour in ((inputs, PALETTE[4]), (outputs, PALETTE[2])):
        for name, centre in names.items():
            ax.add_patch(patches.Circle(centre, 0.3, zorder=2, edgecolor="black",
                                        facecolor=PALETTE[1] if name == "1" else colour))
            ax.text(*centre, name, ha="center", va="center", zorder=3)
    ax.text(0, n_in - 0.45, "inputs", ha="center")
    ax.text(5, n_in - 0.3, "outputs", ha="center")
    ax.set_xlim(-0.6, 5.6)
    ax.set_ylim(-1.5, n_in)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("A linear layer: yⱼ = ∑ᵢ wᵢⱼxᵢ + bⱼ")
    return ax
