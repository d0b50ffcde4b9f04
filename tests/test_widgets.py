"""The lecture widgets, driven through their controls (nbval does not look at widgets).

Most tests drive the widget objects in this process: moving a slider or pressing a button
runs the same callbacks a browser would, and the assertions compare the resulting state
and the drawn figure with values computed here independently. One test runs a widget in
a real kernel (nbclient) to check that its Output widget receives the redrawn figure.
"""

import subprocess
import sys

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from course_lib import datasets
from course_lib.widgets import (
    ACTIVATIONS,
    activation_explorer,
    build_mlp,
    playground,
    xor_line_explorer,
)

XOR_TABLE = [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]


def mistakes_by_hand(w1, w2, b):
    """Count XOR rows where ``step(w1 x1 + w2 x2 + b)`` differs from ``x1 XOR x2``."""
    return sum(int(w1 * x1 + w2 * x2 + b > 0) != target for (x1, x2), target in XOR_TABLE)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_importing_course_lib_does_not_need_ipywidgets():
    code = "import sys, course_lib, course_lib.plotting; print('ipywidgets' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# --- XOR line explorer -----------------------------------------------------------------


@pytest.mark.parametrize(
    "w1, w2, b",
    [(1.0, 1.0, -0.5), (1.0, 1.0, 0.5), (-1.0, -1.0, 0.5), (0.0, 0.0, -1.0), (2.0, -1.0, -0.3)],
)
def test_xor_sliders_count_the_mistakes(w1, w2, b):
    explorer = xor_line_explorer(w1=0.0, w2=0.0, b=1.0)
    assert explorer.mistakes == mistakes_by_hand(0.0, 0.0, 1.0) == 2
    explorer.w1.value, explorer.w2.value, explorer.b.value = w1, w2, b
    expected = mistakes_by_hand(w1, w2, b)
    assert explorer.mistakes == expected
    assert f"{expected} of 4 points wrong" in explorer.label.value
    assert f"{expected} of 4 wrong" in explorer.figure.axes[0].get_title()


def test_xor_sliders_reach_three_mistakes_but_never_zero():
    explorer = xor_line_explorer()
    explorer.w1.value, explorer.w2.value, explorer.b.value = -1.0, -1.0, 0.5
    assert explorer.mistakes == 3
    seen = set()
    for w1 in (-1.0, 1.0):
        for w2 in (-1.0, 1.0):
            for b in (-1.5, -0.5, 0.5):
                explorer.w1.value, explorer.w2.value, explorer.b.value = w1, w2, b
                seen.add(explorer.mistakes)
    assert min(seen) == 1 and 3 in seen


def test_xor_explorer_draws_the_line_of_its_sliders():
    explorer = xor_line_explorer()
    explorer.w1.value, explorer.w2.value, explorer.b.value = 2.0, -1.0, 0.3
    (line,) = [ln for ln in explorer.figure.axes[0].lines if ln.get_color() == "black"]
    x1, x2 = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    np.testing.assert_allclose(2.0 * x1 - 1.0 * x2 + 0.3, 0.0, atol=1e-12)


def test_xor_static_figure_matches_the_widget():
    explorer = xor_line_explorer(w1=-1.0, w2=1.0, b=-0.5)
    figure = explorer.static_figure()
    assert figure.axes[0].get_title() == explorer.figure.axes[0].get_title()
    assert "1 of 4 wrong" in figure.axes[0].get_title()


# --- activation explorer ---------------------------------------------------------------


def sigmoid(y):
    return 1.0 / (1.0 + np.exp(-y))


CURVES = {
    "Step": (lambda y: (y > 0).astype(float), lambda y: np.zeros_like(y)),
    "Sigmoid": (sigmoid, lambda y: sigmoid(y) * (1 - sigmoid(y))),
    "Tanh": (np.tanh, lambda y: 1 - np.tanh(y) ** 2),
    "ReLU": (lambda y: np.maximum(y, 0), lambda y: (y > 0).astype(float)),
    "LeakyReLU": (lambda y: np.where(y >= 0, y, 0.1 * y), lambda y: np.where(y >= 0, 1, 0.1)),
}


def plotted_curves(explorer):
    g_line, dg_line = explorer.figure.axes[0].lines[:2]
    return (np.asarray(g_line.get_xdata()), np.asarray(g_line.get_ydata()),
            np.asarray(dg_line.get_ydata()))


@pytest.mark.parametrize("name", sorted(CURVES))
def test_choosing_an_activation_plots_its_curve_and_derivative(name):
    start = "ReLU" if name != "ReLU" else "Tanh"
    explorer = activation_explorer(start, a=0.1)
    before = plotted_curves(explorer)[1].copy()
    explorer.dropdown.value = name
    y, g, dg = plotted_curves(explorer)
    f, df = CURVES[name]
    np.testing.assert_allclose(g, f(y), atol=1e-12)
    np.testing.assert_allclose(dg, df(y), atol=1e-12)
    assert not np.allclose(g, before)
    assert explorer.saturated_fraction == pytest.approx(np.mean(np.abs(df(y)) < 0.01))


def test_leaky_slope_slider_sets_the_negative_side_slope():
    explorer = activation_explorer("LeakyReLU", a=0.1)
    explorer.slope.value = 0.3
    y, g, dg = plotted_curves(explorer)
    negative = y < 0
    np.testing.assert_allclose(g[negative], 0.3 * y[negative])
    np.testing.assert_allclose(dg[negative], 0.3)
    assert repr(explorer.layer) == "LeakyReLU(a=0.3)"


def test_saturation_is_everywhere_for_step_and_nowhere_for_leaky_relu():
    explorer = activation_explorer("Step")
    assert explorer.saturated_fraction == 1.0
    explorer.dropdown.value = "LeakyReLU"
    assert explorer.saturated_fraction == 0.0
    assert explorer.slope.disabled is False
    explorer.dropdown.value = "ReLU"
    assert explorer.slope.disabled is True
    assert explorer.saturated_fraction == pytest.approx(np.mean(explorer.inputs <= 0))


def test_activation_explorer_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown 'Swish'"):
        activation_explorer("Swish")
    assert set(ACTIVATIONS) == set(CURVES)


# --- playground ------------------------------------------------------------------------


def forward_by_hand(model, X):
    """Scores of a ``Linear, ReLU, Linear`` model from its raw arrays."""
    W0, b0, W2, b2 = (model.params[k] for k in ("0.W", "0.b", "2.W", "2.b"))
    return np.maximum(X @ W0 + b0, 0) @ W2 + b2


def test_pressing_train_lowers_the_loss_and_raises_the_accuracy():
    pg = playground("xor", width=8, depth=1, activation="ReLU", lr=0.1, epochs=40, live_redraws=2)
    X, y = datasets.xor(n_per_corner=50, noise=0.15, rng=0)
    np.testing.assert_array_equal(pg.X, X)
    accuracy_before = np.mean(forward_by_hand(pg.model, X).argmax(axis=1) == y)
    label_before = pg.label.value
    pg.train_button.click()
    assert len(pg.history.loss) == 40
    assert pg.history.loss[-1] < 0.5 * pg.history.loss[0]
    accuracy_after = np.mean(forward_by_hand(pg.model, X).argmax(axis=1) == y)
    assert accuracy_after > max(accuracy_before, 0.9)
    assert pg.accuracy() == pytest.approx(accuracy_after)
    assert pg.label.value != label_before
    assert f"accuracy {accuracy_after:.1%}" in pg.label.value
    loss_line = pg.figure.axes[1].lines[0]
    np.testing.assert_allclose(loss_line.get_ydata(), pg.history.loss)


def test_train_continues_and_is_reproducible():
    first, second = (playground("moons", epochs=20, live_redraws=1) for _ in range(2))
    for pg in (first, second):
        pg.train_button.click()
        pg.train_button.click()
    assert len(first.history.loss) == 40
    assert first.history.loss == second.history.loss
    np.testing.assert_array_equal(first.model.params["0.W"], second.model.params["0.W"])


def test_changing_data_or_architecture_starts_a_fresh_model():
    pg = playground("xor", epochs=20, live_redraws=1)
    pg.train()
    pg.dataset.value = "circles"
    assert pg.history.loss == []
    np.testing.assert_array_equal(pg.X, datasets.circles(n=200, noise=0.1, rng=0)[0])
    pg.depth.value, pg.width.value = 2, 5
    widths = [layer.params["W"].shape for layer in pg.model if layer.params]
    assert widths == [(2, 5), (5, 5), (5, 2)]
    pg.train(10)
    pg.reset_button.click()
    assert pg.history.loss == []
    assert "epoch 0" in pg.label.value


def test_build_mlp_rejects_an_empty_network():
    with pytest.raises(ValueError, match="width >= 1 and depth >= 1"):
        build_mlp(0, 1, "ReLU")


# --- in a kernel -----------------------------------------------------------------------


def test_widget_output_receives_the_redrawn_figure_in_a_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from course_lib.widgets import xor_line_explorer\n"
                                  "explorer = xor_line_explorer()\nexplorer"),
        nbformat.v4.new_code_cell("explorer.w1.value = -1.0\nexplorer.w2.value = -1.0\n"
                                  "explorer.b.value = 0.5"),
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3", store_widget_state=True).execute()
    states = [m["state"] for m in nb.metadata["widgets"][
        "application/vnd.jupyter.widget-state+json"]["state"].values()]
    labels = [s["value"] for s in states if s.get("_model_name") == "HTMLModel"]
    assert any("3 of 4 points wrong" in value for value in labels)
    (output,) = [s for s in states if s.get("_model_name") == "OutputModel"]
    assert [o["output_type"] for o in output["outputs"]] == ["display_data"]
    assert "image/png" in output["outputs"][0]["data"]
