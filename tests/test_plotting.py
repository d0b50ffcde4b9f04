"""Plot helpers draw what they claim: curves, labels, one colour and marker per class."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.contour import ContourSet

from course_lib import LeakyReLU, Linear, ReLU, Sequential, Sigmoid
from course_lib.datasets import blobs, xor
from course_lib.plotting import (
    PALETTE,
    log_scale,
    place_axes,
    plot_activation,
    plot_decision_boundary,
    plot_hidden_space,
    plot_history,
    plot_points,
    plot_truth_table,
)
from course_lib.train import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def scatter_colours(ax):
    return [to_hex(c.get_facecolor()[0]) for c in ax.collections if isinstance(c, PathCollection)]


def test_palette_avoids_pure_red_and_green():
    assert "#ff0000" not in PALETTE and "#00ff00" not in PALETTE
    assert len(set(PALETTE)) == len(PALETTE)


@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(a=0.2), Sigmoid()], ids=repr)
def test_activation_plot_draws_g_and_its_derivative(layer):
    ax = plot_activation(layer)
    g, dg = ax.get_lines()[:2]
    y = g.get_xdata()
    np.testing.assert_allclose(g.get_ydata(), layer.forward(y[:, None])[:, 0])
    slope = np.gradient(g.get_ydata(), y)
    smooth = np.abs(y) > 0.1
    np.testing.assert_allclose(dg.get_ydata()[smooth], slope[smooth], atol=1e-3)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == repr(layer)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["g(y)", "g′(y)"]


def test_points_get_one_colour_and_marker_per_class():
    X, y = blobs(n=60, centers=3)
    ax = plot_points(X, y)
    assert scatter_colours(ax) == [to_hex(PALETTE[k]) for k in range(3)]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 60
    assert ax.get_xlabel() == "x₁" and ax.get_ylabel() == "x₂"


def test_decision_boundary_shades_the_predicted_regions():
    X, y = xor()

    def left_or_right(points):
        return (points[:, 0] > 0.5).astype(int)

    fig, ax = plt.subplots()
    returned = plot_decision_boundary(left_or_right, X, y, ax=ax, title="a vertical line")
    assert returned is ax and ax.get_title() == "a vertical line"
    (contour,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert list(contour.levels) == [-0.5, 0.5, 1.5]
    assert [to_hex(c) for c in contour.get_cmap().colors] == [to_hex(PALETTE[0]), to_hex(PALETTE[1])]
    assert len(scatter_colours(ax)) == 2
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["class 0", "class 1"]


def test_decision_boundary_legend_names_classes_once_or_not_at_all():
    X, y = xor()
    ax = plot_decision_boundary(lambda p: (p[:, 0] > 0.5).astype(int), X, y,
                                labels=["no", "yes"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no", "yes"]
    ax = plot_decision_boundary(lambda p: (p[:, 0] > 0.5).astype(int), X, y, legend_loc=None)
    assert ax.get_legend() is None


def test_lecture_figures_draw_titled_axes():
    from course_lib import figures

    for draw in (figures.lenet_diagram, figures.neuron_diagram, figures.linear_layer_graph):
        ax = draw()
        assert ax.get_title() and ax.patches
    ax = figures.timeline({1957: "perceptron", 2012: "AlexNet"}, spans=[(1974, 1980, "winter")])
    assert ax.get_title() == "Neural networks, 1957–2012" and ax.get_xlabel() == "year"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["winter"]
    fig, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    figures.draw_line(ax, np.array([1.0, 1.0]), -1.0)
    (line,) = ax.lines
    assert np.allclose(line.get_xdata() + line.get_ydata(), 1.0)


@pytest.mark.parametrize("draw", ["lenet_diagram", "timeline"])
def test_lecture_figures_keep_their_labels_inside_the_figure(draw):
    from course_lib import figures

    ax = (figures.lenet_diagram() if draw == "lenet_diagram"
          else figures.timeline({1958: "perceptron", 2012: "AlexNet"}))
    fig = ax.figure
    fig.canvas.draw()                             # places the labels
    renderer = fig.canvas.get_renderer()
    labels = [ax.xaxis.label] + [t for t in ax.get_xticklabels() if t.get_text()]
    for text in labels:
        box = text.get_window_extent(renderer)
        assert box.y0 >= 0, f"{draw}: {text.get_text()!r} is cut off at the bottom"
    plt.close(fig)


def test_lenet_colours_c5_as_the_convolution_it_is():
    from course_lib import figures

    kinds = {name: kind for name, _, _, _, kind in figures.LENET5}
    assert kinds["C5"] == kinds["C1"] == kinds["C3"]
    assert kinds["F6"].startswith("full")


def test_truth_table_annotates_each_corner():
    X, y = xor()
    ax = plot_truth_table(X, y)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["(0, 0) -> 0", "(0, 1) -> 1", "(1, 0) -> 1", "(1, 1) -> 0"]
    assert ax.get_title() == "XOR"


def test_history_plots_loss_and_both_accuracies():
    history = History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.7, 0.9], val_accuracy=[0.4, 0.6, 0.8])
    ax_loss, ax_acc = plot_history(history)
    np.testing.assert_array_equal(ax_loss.get_lines()[0].get_ydata(), [1.0, 0.5, 0.25])
    assert [list(line.get_ydata()) for line in ax_acc.get_lines()] == [[0.5, 0.7, 0.9], [0.4, 0.6, 0.8]]
    assert ax_loss.get_xlabel() == ax_acc.get_xlabel() == "epoch"


def test_hidden_space_shows_the_mapped_points_and_grid():
    X, y = xor()
    layer = Sequential(Linear(2, 2, rng=0), ReLU())
    ax = plot_hidden_space(layer.forward, X, y, grid_lines=5)
    assert len(ax.get_lines()) == 2 * 5
    plotted = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    np.testing.assert_allclose(np.sort(plotted, axis=0), np.sort(layer.forward(X), axis=0))
    assert ax.get_xlabel() == "hidden unit h₁"


def tick_labels(axis):
    """(value, label) of each tick ``axis`` draws, after a draw."""
    axis.figure.canvas.draw()
    return [(tick.get_loc(), tick.label1.get_text())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks()]


def value_of(label):
    """``"2×10⁻³"`` -> ``0.002``, reading the superscripts back."""
    coefficient, exponent = re.fullmatch(r"(?:([0-9.]+)×)?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", label).groups()
    exponent = exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    return float(coefficient or 1) * 10.0 ** int(exponent)


@pytest.mark.parametrize("limits", [(1e-16, 1.0), (0.05, 3.0), (1.5, 9.0), (3.0, 12_000.0)])
def test_log_scale_labels_the_same_ticks_as_matplotlib_in_plain_text(limits):
    _, (default, plain) = plt.subplots(1, 2)
    default.set_yscale("log")
    log_scale(plain)
    for ax in (default, plain):
        ax.plot([1, 2], limits)
        ax.set_ylim(*limits)
    expected, got = tick_labels(default.yaxis), tick_labels(plain.yaxis)
    assert [value for value, _ in got] == [value for value, _ in expected]
    assert [bool(label) for _, label in got] == [bool(label) for _, label in expected]
    labelled = [(value, label) for value, label in got if label]
    assert labelled and all("$" not in label for _, label in labelled)
    for value, label in labelled:
        assert value_of(label) == pytest.approx(value, rel=1e-9), label


def test_log_scale_both_axes():
    _, ax = plt.subplots()
    assert log_scale(ax, "both") is ax
    assert ax.get_xscale() == ax.get_yscale() == "log"


@pytest.mark.parametrize("limits", [(-0.4, 1.4), (-5.5, 5.5), (-1.2, 1.2), (0.0, 450.0)])
def test_place_axes_keeps_each_linear_axis_to_a_few_ticks(limits):
    def major_ticks_in_view(axis):
        low, high = sorted(axis.get_view_interval())
        return [t for t in axis.get_majorticklocs() if low <= t <= high]

    def panels(place):
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
        if place:
            place_axes(fig, max_ticks=6)
        for ax in axes:
            ax.plot(limits, limits)
            ax.set_xlim(*limits)
            ax.set_ylim(*limits)
        fig.canvas.draw()
        return axes

    if limits == (-0.4, 1.4):
        assert len(major_ticks_in_view(panels(place=False)[0].yaxis)) > 7  # matplotlib: 10
    for ax in panels(place=True):
        for axis in (ax.xaxis, ax.yaxis):
            assert 4 <= len(major_ticks_in_view(axis)) <= 7
