"""Gradient checking on a ``Linear(784, 256)``: cost, and which planted bugs each check catches.

Three checks of the same layer, ``L = sum(forward(x) * dout)`` for a random ``dout``:

* ``directional``: ``check_layer(method="directional")``, 3 random directions per array,
  so 18 evaluations of ``forward`` whatever the layer's size;
* ``course_lib full``: ``check_gradients(method="full")``, every entry;
* ``full FD (cs231n)``: the baseline, ``eval_numerical_gradient_array`` as cs231n writes
  it, one pair of evaluations per entry, compared with ``rel_error``.

A full pass over the 784 x 256 layer costs about 400,000 evaluations (minutes), so both
full checks run over all of ``x`` and ``b`` and the first rows of ``W`` (which hold the
planted single wrong entry at ``(1, 2)``), and their time is extrapolated linearly per
entry to the whole layer. Checking more entries can only catch more, so a full pass
catches at least what the partial one does.

The planted bugs are the foundation's (``tests/test_gradcheck.py``). They change only
``backward``; ``forward``, and so every numerical derivative, is the same for all of
them, so the cs231n baseline computes its numerical gradients once per layer shape and
compares them with each layer's analytic ones. The transposed-``W`` bug only has the
right shape for a square layer, so that case uses ``Linear(256, 256)``.
"""

import time

import numpy as np

from benchmarks.timing import Table, best_of, verdict
from course_lib.gradcheck import DEFAULT_TOL, check_gradients, check_layer, rel_error
from course_lib.layers import Linear
from tests.test_gradcheck import PLANTED

TARGET_SPEEDUP = 100
BATCH = 2


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """cs231n's full finite differences: ``grad_i = sum((f(x + h e_i) - f(x - h e_i)) * df) / 2h``.

    Two evaluations of ``f`` per entry of ``x`` (perturbed in place and restored).
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        index = it.multi_index
        old = x[index]
        x[index] = old + h
        pos = f(x).copy()
        x[index] = old - h
        neg = f(x).copy()
        x[index] = old
        grad[index] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def problem(layer_class, n_in, n_out):
    """A layer, its input and upstream gradient, seeded so every variant is the same layer."""
    rng = np.random.default_rng(0)
    return layer_class(n_in, n_out, rng=0), rng.standard_normal((BATCH, n_in)), \
        rng.standard_normal((BATCH, n_out))


def analytic(layer, x, dout):
    layer.forward(x)
    dx = layer.backward(dout)
    return {"x": np.array(dx), "W": np.array(layer.grads["W"]), "b": np.array(layer.grads["b"])}


def checked_views(arrays, rows):
    """All of ``x`` and ``b`` and the first ``rows`` rows of ``W`` (views: perturbing them
    perturbs the layer)."""
    return {"x": arrays["x"], "W": arrays["W"][:rows], "b": arrays["b"]}


def cs231n_numeric(layer, x, dout, rows):
    """The baseline's numerical gradients over the checked entries; ``(seconds, grads)``."""
    x = x.copy()
    params = checked_views({"x": x, **layer.params}, rows)

    def forward(_):
        return layer.forward(x)

    start = time.perf_counter()
    grads = {
        name: eval_numerical_gradient_array(forward, array, dout)
        for name, array in params.items()
    }
    return time.perf_counter() - start, grads


def cs231n_ok(numeric, grads, rows):
    wanted = checked_views(grads, rows)
    return all(rel_error(wanted[name], numeric[name]) <= DEFAULT_TOL for name in numeric)


def course_full(layer, x, dout, rows):
    """course_lib's full check over the checked entries; ``(seconds, report)``."""
    grads = checked_views(analytic(layer, x, dout), rows)
    x = x.copy()
    params = checked_views({"x": x, **layer.params}, rows)

    def loss():
        return np.sum(layer.forward(x) * dout)

    start = time.perf_counter()
    report = check_gradients(loss, params, grads, method="full")
    return time.perf_counter() - start, report


def run(quick=False):
    rows = 2 if quick else 4
    shapes = {"correct": (Linear, 784, 256)}
    for bug, (layer_class, _) in PLANTED.items():
        square = bug == "transposed W gradient"
        shapes[bug] = (layer_class, 256 if square else 784, 256)

    entries_total = BATCH * 784 + 784 * 256 + 256
    entries_checked = BATCH * 784 + rows * 256 + 256

    baseline = {}
    for n_in in sorted({n_in for _, n_in, _ in shapes.values()}, reverse=True):
        layer, x, dout = problem(Linear, n_in, 256)
        baseline[n_in] = cs231n_numeric(layer, x, dout, rows)
    baseline_seconds = baseline[784][0] / entries_checked * entries_total

    caught = {"directional": {}, "course_lib full": {}, "full FD (cs231n)": {}}
    full_seconds = None
    for case, (layer_class, n_in, n_out) in shapes.items():
        layer, x, dout = problem(layer_class, n_in, n_out)
        caught["directional"][case] = not check_layer(
            layer, x, dout=dout, method="directional"
        ).ok
        seconds, report = course_full(*problem(layer_class, n_in, n_out), rows)
        caught["course_lib full"][case] = not report.ok
        if case == "correct":
            full_seconds = seconds / entries_checked * entries_total
        layer, x, dout = problem(layer_class, n_in, n_out)
        caught["full FD (cs231n)"][case] = not cs231n_ok(
            baseline[n_in][1], analytic(layer, x, dout), rows
        )

    def prepare_directional():
        layer, x, dout = problem(Linear, 784, 256)
        return lambda: check_layer(layer, x, dout=dout, method="directional")

    directional_seconds = best_of({"directional": prepare_directional}, 5)[0]["directional"]
    times = {
        "directional": (directional_seconds, "measured, best of 5"),
        "course_lib full": (full_seconds, f"extrapolated from {entries_checked} entries"),
        "full FD (cs231n)": (baseline_seconds, f"extrapolated from {entries_checked} entries"),
    }
    evaluations = {"directional": 2 * 3 * 3, "course_lib full": 2 * entries_total,
                   "full FD (cs231n)": 2 * entries_total}
    bugs = list(PLANTED)
    rows_out = []
    for method, (seconds, how) in times.items():
        rows_out.append(
            [method, evaluations[method], seconds, how, baseline_seconds / seconds,
             "yes" if not caught[method]["correct"] else "NO (false alarm)"]
            + ["caught" if caught[method][bug] else "MISSED" for bug in bugs]
        )
    same_detection = caught["directional"] == caught["full FD (cs231n)"]
    speedup = baseline_seconds / directional_seconds
    notes = [
        f"Linear(784, 256) with a batch of {BATCH} rows: {entries_total} entries in x, W and b; "
        f"the transposed-W case uses Linear(256, 256). Tolerance {DEFAULT_TOL:g} for every method.",
        f"Full checks ran over x, b and the first {rows} rows of W ({entries_checked} entries) "
        "and are extrapolated linearly per entry to the whole layer.",
        f"directional is {speedup:.0f}x cheaper than full FD (target >= {TARGET_SPEEDUP}x: "
        f"{verdict(speedup >= TARGET_SPEEDUP)}); same detection as full FD: "
        f"{verdict(same_detection)}.",
    ]
    return Table(
        "Gradient checking a Linear(784, 256)",
        ["method", "evaluations", "seconds", "how timed", "x cheaper than full FD",
         "passes correct layer"] + bugs,
        rows_out, notes,
    )


if __name__ == "__main__":
    print(run().to_markdown())
