"""SGD and fit: the updates are the maths, training learns, seeds reproduce runs."""

import numpy as np
import pytest

from course_lib import Linear, ReLU, Sequential, softmax_cross_entropy, squared_loss
from course_lib.datasets import digits, moons, train_test_split
from course_lib.optim import SGD
from course_lib.train import fit


def test_sgd_step_is_param_minus_lr_grad():
    model = Sequential(Linear(3, 2, rng=0))
    before = model.params["0.W"].copy()
    model.forward(np.ones((4, 3)))
    model.backward(np.ones((4, 2)))
    grad = model.grads["0.W"].copy()
    SGD(model, lr=0.1).step()
    np.testing.assert_allclose(model.params["0.W"], before - 0.1 * grad)


def test_momentum_accumulates_velocity():
    model = Sequential(Linear(1, 1, rng=0))
    model[0].grads["W"][:] = 1.0
    model[0].grads["b"][:] = 0.0
    start = model.params["0.W"].copy()
    optimizer = SGD(model, lr=1.0, momentum=0.5)
    optimizer.step()
    optimizer.step()
    np.testing.assert_allclose(model.params["0.W"], start - 1.0 - 1.5)


@pytest.mark.parametrize("kwargs, message", [({"lr": 0}, "lr > 0"), ({"momentum": 1.0}, r"momentum in \[0, 1\)")])
def test_sgd_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD(Sequential(Linear(1, 1)), **kwargs)


def test_digits_mlp_reaches_95_percent_held_out():
    X_train, X_test, y_train, y_test = train_test_split(*digits())
    model = Sequential(Linear(64, 128, rng=0), ReLU(), Linear(128, 10, rng=1))
    history = fit(model, softmax_cross_entropy, X_train, y_train, epochs=20, lr=0.1,
                  progress=False, validation=(X_test, y_test))
    assert np.mean(model.predict(X_test) == y_test) >= 0.95
    assert history.val_accuracy[-1] == np.mean(model.predict(X_test) == y_test)
    assert history.loss[-1] < history.loss[0] / 5


def test_same_seed_same_run():
    X, y = moons(n=100)

    def run():
        model = Sequential(Linear(2, 8, rng=0), ReLU(), Linear(8, 2, rng=1))
        return fit(model, softmax_cross_entropy, X, y, epochs=5, progress=False, rng=4).loss

    assert run() == run()


def test_history_records_accuracy_only_for_labels():
    X = np.random.default_rng(0).standard_normal((20, 2))
    model = Sequential(Linear(2, 1, rng=0))
    history = fit(model, squared_loss, X, X[:, :1] * 2.0, epochs=3, progress=False)
    assert len(history.loss) == 3 and history.accuracy == []


def test_callback_sees_every_epoch():
    X, y = moons(n=40)
    seen = []
    fit(Sequential(Linear(2, 2, rng=0)), softmax_cross_entropy, X, y, epochs=4,
        progress=False, callback=lambda epoch, history: seen.append((epoch, len(history.loss))))
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_progress_bar_shows_when_asked(capsys):
    X, y = moons(n=40)
    fit(Sequential(Linear(2, 2, rng=0)), softmax_cross_entropy, X, y, epochs=2, progress=True)
    assert "epochs" in capsys.readouterr().err
    fit(Sequential(Linear(2, 2, rng=0)), softmax_cross_entropy, X, y, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_fit_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        fit(Sequential(Linear(2, 2)), softmax_cross_entropy, np.zeros((3, 2)), np.zeros(2, int))


def test_fit_rejects_nan_in_x_naming_the_entry():
    X, y = moons(n=40)
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"fit: X contains NaN or inf \(first at index \(7, 1\), value nan\)"):
        fit(Sequential(Linear(2, 2)), softmax_cross_entropy, X, y, progress=False)


def exploding_regression():
    """A linear fit that gradient descent with lr=5 makes diverge (the Hessian's largest
    eigenvalue is about 1, so any lr above 2 overshoots further at every step)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    return X, X @ np.array([[1.0], [2.0], [3.0]])


def test_fit_reports_divergence_with_the_optimizer_and_the_batch():
    X, t = exploding_regression()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
        ValueError,
        match=r"fit: epoch \d+, batch 0: .*training diverged after \d+ updates \(SGD\(lr=5\.0, momentum=0\.0\)\); try a smaller learning rate",
    ):
        fit(Sequential(Linear(3, 1, rng=0)), squared_loss, X, t, lr=5.0, epochs=500,
            batch_size=64, progress=False)


def test_fit_names_the_layer_that_produced_nan():
    class BrokenReLU(ReLU):
        def f(self, x):
            out = np.maximum(x, 0.0)
            out[0, 0] = np.nan
            return out

    X, t = exploding_regression()
    model = Sequential(Linear(3, 4, rng=0), BrokenReLU(), Linear(4, 1, rng=1))
    with pytest.raises(ValueError, match=r"^fit: epoch 0, batch 0: the loss is nan because Linear\(4 -> 1\)\.forward: x contains NaN or inf \(first at index \(0, 0\)[^.]*$"):
        fit(model, squared_loss, X, t, progress=False)


def test_fit_checks_the_parameters_after_each_epoch():
    class PoisoningSGD(SGD):
        def step(self):
            super().step()
            self.model.params["0.b"][0] = np.inf

    X, y = moons(n=8)
    model = Sequential(Linear(2, 2, rng=0))
    with pytest.raises(ValueError, match=r"fit: after epoch 0, NaN or inf in 0\.b: training diverged \(SGD\(lr=0\.1, momentum=0\.0\)\)"):
        fit(model, softmax_cross_entropy, X, y, batch_size=8, optimizer=PoisoningSGD(model),
            progress=False)


def test_fit_blames_the_inputs_when_the_first_loss_overflows():
    X, t = exploding_regression()
    with np.errstate(over="ignore"), pytest.raises(
        ValueError, match=r"fit: epoch 0, batch 0: the loss overflowed to inf although every layer's output is finite; scale the inputs"
    ):
        fit(Sequential(Linear(3, 1, rng=0)), squared_loss, X * 1e160, t, progress=False)
