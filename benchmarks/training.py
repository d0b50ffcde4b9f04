"""Training speed: course_lib's ``fit`` on the digits against what else a user could run.

A two-layer MLP ``64 -> H -> 10`` (ReLU, softmax cross-entropy, plain SGD, no momentum)
is trained for a fixed number of epochs from the same initial weights, in float64 and
again in float32, by:

* ``fused numpy``: the same arithmetic written as one hand-fused numpy loop, the floor;
  it also keeps the per-epoch loss and accuracy that ``fit`` records, so both do the
  same work;
* ``course_lib``: ``Sequential(Linear, ReLU, Linear)`` built with that ``dtype`` and
  trained with ``fit``;
* ``torch``: ``torch.nn`` on the CPU with ``torch.optim.SGD``, with as many threads as
  numpy's BLAS uses (float32 is what a PyTorch user gets by default);
* ``scikit-learn``: ``MLPClassifier(solver="sgd")`` with matching settings (it keeps
  float32 input in float32).

Each precision is compared with itself: course_lib float32 against the float32 floor and
the float32 rivals. The fused loop, course_lib and torch visit the batches in the same
order, so their final weights agree to rounding: the table shows it, as proof that they
do the same arithmetic. scikit-learn shuffles with its own generator.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np

from benchmarks.timing import Table, interleaved_runs, paired_ratio, verdict
from course_lib import Linear, ReLU, Sequential, softmax_cross_entropy
from course_lib.datasets import digits, train_test_split
from course_lib.train import fit

SEED = 0
LR = 0.1
TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Config:
    hidden: int
    batch_size: int
    epochs: int

    @property
    def name(self):
        return f"64-{self.hidden}-10, batch {self.batch_size}"


FULL = [Config(128, 32, 20), Config(1024, 512, 30)]
QUICK = [Config(128, 32, 3), Config(1024, 512, 3)]


def initial_weights(hidden, n_in=64, n_out=10):
    """He-initialised ``(W1, b1, W2, b2)``, the starting point every candidate copies."""
    first, second = Linear(n_in, hidden, rng=1), Linear(hidden, n_out, rng=2)
    return (first.params["W"], first.params["b"], second.params["W"], second.params["b"])


def fused_numpy(X, y, init, epochs, batch_size, lr=LR, seed=SEED):
    """The whole training loop by hand: forward, softmax cross-entropy, backward, SGD.

    Returns the final ``(W1, b1, W2, b2)`` and the per-epoch mean loss and accuracy.
    """
    W1, b1, W2, b2 = (p.copy() for p in init)
    rng = np.random.default_rng(seed)
    n = len(X)
    losses, accuracies = [], []
    for _ in range(epochs):
        order = rng.permutation(n)
        total_loss, correct = 0.0, 0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            xb, yb = X[batch], y[batch]
            m = len(batch)
            rows = np.arange(m)
            hidden = xb @ W1
            hidden += b1
            active = np.maximum(hidden, 0.0)
            scores = active @ W2
            scores += b2
            shifted = scores - scores.max(axis=1, keepdims=True)
            probs = np.exp(shifted)
            total = probs.sum(axis=1)
            total_loss += np.sum(np.log(total) - shifted[rows, yb])
            correct += np.count_nonzero(scores.argmax(axis=1) == yb)
            probs /= total[:, None]
            probs[rows, yb] -= 1.0
            probs /= m
            dW2 = active.T @ probs
            db2 = probs.sum(axis=0)
            dhidden = probs @ W2.T
            dhidden *= hidden > 0
            dW1 = xb.T @ dhidden
            db1 = dhidden.sum(axis=0)
            W1 -= lr * dW1
            b1 -= lr * db1
            W2 -= lr * dW2
            b2 -= lr * db2
        losses.append(total_loss / n)
        accuracies.append(correct / n)
    return (W1, b1, W2, b2), losses, accuracies


def prepare_fused(X, y, init, config):
    return lambda: fused_numpy(X, y, init, config.epochs, config.batch_size)[0]


def prepare_course_lib(X, y, init, config):
    W1, b1, W2, b2 = init
    dtype = X.dtype
    model = Sequential(
        Linear(64, config.hidden, dtype=dtype), ReLU(), Linear(config.hidden, 10, dtype=dtype)
    )
    for layer, (W, b) in ((model[0], (W1, b1)), (model[2], (W2, b2))):
        layer.params["W"][...] = W
        layer.params["b"][...] = b

    def run():
        fit(model, softmax_cross_entropy, X, y, epochs=config.epochs,
            batch_size=config.batch_size, lr=LR, rng=SEED, progress=False)
        return tuple(model.params[k] for k in ("0.W", "0.b", "2.W", "2.b"))

    return run


def prepare_torch(X, y, init, config):
    import torch
    from torch import nn

    dtype = getattr(torch, X.dtype.name)
    W1, b1, W2, b2 = init
    model = nn.Sequential(nn.Linear(64, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 10))
    model = model.to(dtype)
    with torch.no_grad():
        for layer, (W, b) in ((model[0], (W1, b1)), (model[2], (W2, b2))):
            layer.weight.copy_(torch.from_numpy(W.T))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n, batch_size = len(X), config.batch_size

    def run():
        rng = np.random.default_rng(SEED)
        for _ in range(config.epochs):
            order = torch.from_numpy(rng.permutation(n))
            total_loss, correct = 0.0, 0
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                xb, yb = Xt[batch], yt[batch]
                scores = model(xb)
                loss = loss_fn(scores, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total_loss += loss.item() * len(batch)
                correct += int((scores.argmax(dim=1) == yb).sum())
        return tuple(
            t.detach().numpy().copy()
            for t in (model[0].weight.T, model[0].bias, model[2].weight.T, model[2].bias)
        )

    return run


def prepare_sklearn(X, y, init, config):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(config.hidden,), activation="relu", solver="sgd", alpha=0.0,
        batch_size=config.batch_size, learning_rate="constant", learning_rate_init=LR,
        momentum=0.0, nesterovs_momentum=False, max_iter=1, shuffle=True,
        random_state=SEED, tol=0.0, n_iter_no_change=10**6, early_stopping=False,
        warm_start=True,
    )
    # One untimed epoch builds scikit-learn's internal state; then the weights are reset
    # to the shared initial values and the timed fit continues from them (warm start).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    model.coefs_ = [init[0].copy(), init[2].copy()]
    model.intercepts_ = [init[1].copy(), init[3].copy()]
    model.max_iter = config.epochs

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        return (model.coefs_[0], model.intercepts_[0], model.coefs_[1], model.intercepts_[1])

    return run


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def numpy_blas_threads():
    """How many threads numpy's BLAS uses (read before torch loads its own libraries)."""
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(blas, default=1)


def accuracy(weights, X, y):
    W1, b1, W2, b2 = weights
    scores = np.maximum(X @ W1 + b1, 0.0) @ W2 + b2
    return float(np.mean(scores.argmax(axis=1) == y))


def max_difference(weights, reference):
    """Largest ``|w - w_ref|`` over the entries of two ``(W1, b1, W2, b2)`` tuples."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(weights, reference, strict=True))


def candidates_for(X, y, init, config, have_torch):
    """Name -> ``prepare()`` for every implementation, all in ``X``'s dtype."""
    candidates = {
        "fused numpy": lambda: prepare_fused(X, y, init, config),
        "course_lib": lambda: prepare_course_lib(X, y, init, config),
        "scikit-learn": lambda: prepare_sklearn(X, y, init, config),
    }
    if have_torch:
        candidates["torch"] = lambda: prepare_torch(X, y, init, config)
    return candidates


def run(quick=False):
    """Time every candidate on each configuration and precision; return one :class:`Table`."""
    X_train, X_test, y_train, y_test = train_test_split(*digits())
    configs = QUICK if quick else FULL
    repeats = 2 if quick else 15
    notes = [
        f"digits train split ({len(X_train)} rows), SGD lr {LR}, no momentum; "
        f"{repeats} rounds, each running every candidate once; ms / epoch from the "
        "fastest run; x fused = median over rounds of time / fused numpy time in the same "
        "round and dtype (rivals likewise, against course_lib).",
    ]
    threads = numpy_blas_threads()
    # One thread: CPU time, which ignores the time other jobs hold the CPU; more threads:
    # wall-clock time, since CPU time would add up the threads' work.
    timer = time.process_time if threads == 1 else time.perf_counter
    notes.append(f"timed by {'CPU' if threads == 1 else 'wall-clock'} time "
                 f"({timer.__name__}), {threads} BLAS thread(s).")
    have_torch = torch_available()
    if have_torch:
        import torch

        torch.set_num_threads(threads)
        notes.append(f"torch {torch.__version__} on the CPU, {threads} threads "
                     "(as many as numpy's BLAS).")
    else:
        notes.append("torch is not installed (`pip install -e '.[bench]'`): its rows are "
                     "skipped.")
    rows = []
    for config in configs:
        for dtype in (np.float64, np.float32):
            name = f"{config.name}, {np.dtype(dtype).name}"
            X, X_held_out = X_train.astype(dtype), X_test.astype(dtype)
            init = tuple(p.astype(dtype) for p in initial_weights(config.hidden))
            candidates = candidates_for(X, y_train, init, config, have_torch)
            times, weights = interleaved_runs(candidates, repeats, timer)
            for implementation in candidates:
                rows.append([
                    name, implementation, 1e3 * min(times[implementation]) / config.epochs,
                    paired_ratio(times, implementation, "fused numpy"),
                    accuracy(weights[implementation], X_held_out, y_test),
                    "(own order)" if implementation == "scikit-learn" else
                    f"{max_difference(weights[implementation], weights['fused numpy']):.1e}",
                ])
            notes.append(target_note(name, times))
    return Table(
        f"Training an MLP on the digits ({configs[0].epochs} and {configs[1].epochs} epochs)",
        ["network, dtype", "implementation", "ms / epoch", "x fused", "test accuracy",
         "max |weight - fused|"],
        rows, notes,
    )


def target_note(name, times):
    """One line: course_lib against the fused floor and against each rival, with verdicts."""
    ratio = paired_ratio(times, "course_lib", "fused numpy")
    rivals = [other for other in times if other not in ("fused numpy", "course_lib")]
    slowdowns = {other: paired_ratio(times, other, "course_lib") for other in rivals}
    faster = all(slowdown > 1 for slowdown in slowdowns.values())
    listed = ", ".join(f"{other} {slowdown:.2f}x" for other, slowdown in slowdowns.items())
    return (
        f"{name}: course_lib / fused = {ratio:.2f} (target <= {TARGET_RATIO}: "
        f"{verdict(ratio <= TARGET_RATIO)}); faster than {', '.join(rivals)}: "
        f"{verdict(faster)} (their time / course_lib's: {listed})"
    )


if __name__ == "__main__":
    print(run().to_markdown())
