"""PS4 answers as real students write them: correct variants and one-bug variants.

Each variant is a dict ``grade_id -> answer cell source`` laid over the reference
solutions (:func:`grading_fixtures.ps4_answers`). The correct variants use the forms found
in public CS231n-style solutions (the textbook sigmoid that overflows with a warning,
``np.where`` and ``dx = dout.copy()`` ReLUs, ``np.dot``/``einsum`` layers, a max-shifted
log-softmax, scipy's ``logsumexp``, a self-contained backward pass); each must keep every
autograded point. Each bug variant changes one function of the ``INLINE`` variant and
lists the tests it must fail (its own part's, and the gradient checks that exist to catch
it) and a phrase of the message its own part's test must show.
"""

TEXTBOOK = {
    "linear_forward": "def linear_forward(x, W, b):\n    return np.dot(x, W) + b",
    "linear_backward": (
        "def linear_backward(dout, x, W, b):\n"
        "    dx = np.dot(dout, W.T)\n    dW = np.dot(x.T, dout)\n"
        "    db = np.sum(dout, axis=0)\n    return dx, dW, db"),
    "relu": (
        "def relu_forward(x):\n    return np.where(x > 0, x, 0.0)\n\n\n"
        "def relu_backward(dout, x):\n    dx = dout.copy()\n    dx[x <= 0] = 0\n    return dx"),
    "sigmoid": (
        "def sigmoid_forward(x):\n    return 1 / (1 + np.exp(-x))\n\n\n"
        "def sigmoid_backward(dout, x):\n    s = 1 / (1 + np.exp(-x))\n"
        "    return dout * s * (1 - s)"),
    "leaky_relu": (
        "def leaky_relu_forward(x, a=0.01):\n    return np.maximum(a * x, x)\n\n\n"
        "def leaky_relu_backward(dout, x, a=0.01):\n    dx = dout.copy()\n"
        "    dx[x < 0] *= a\n    return dx"),
    "softmax_cross_entropy": (
        "def softmax_cross_entropy(scores, labels):\n"
        "    N = scores.shape[0]\n"
        "    shifted = scores - np.max(scores, axis=1, keepdims=True)\n"
        "    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n"
        "    probs = np.exp(log_probs)\n"
        "    loss = -np.sum(log_probs[np.arange(N), labels]) / N\n"
        "    dx = probs.copy()\n    dx[np.arange(N), labels] -= 1\n    dx /= N\n"
        "    return loss, dx"),
}

EINSUM = {
    "linear_forward": "def linear_forward(x, W, b):\n    return np.einsum('nd,dk->nk', x, W) + b",
    "linear_backward": (
        "def linear_backward(dout, x, W, b):\n"
        "    return (np.einsum('nk,dk->nd', dout, W), np.einsum('nd,nk->dk', x, dout),\n"
        "            np.einsum('nk->k', dout))"),
    "relu": (
        "def relu_forward(x):\n    return x * (x > 0)\n\n\n"
        "def relu_backward(dout, x):\n    return np.where(x > 0, dout, 0.0)"),
    "sigmoid": (
        "def sigmoid_forward(x):\n    return np.exp(-np.logaddexp(0, -x))\n\n\n"
        "def sigmoid_backward(dout, x):\n    s = sigmoid_forward(x)\n"
        "    return dout * s * (1 - s)"),
    "softmax_cross_entropy": (
        "from scipy.special import logsumexp\n\n\n"
        "def softmax_cross_entropy(scores, labels):\n"
        "    log_p = scores - logsumexp(scores, axis=1, keepdims=True)\n"
        "    n = len(labels)\n"
        "    grad = np.exp(log_p)\n    grad[np.arange(n), labels] -= 1\n"
        "    return -log_p[np.arange(n), labels].mean(), grad / n"),
}

# a backward pass written out in full, not through the Part 1-3 functions
INLINE = {
    "two_layer_loss": (
        "def two_layer_loss(params, X, y):\n"
        "    W1, b1, W2, b2 = params['W1'], params['b1'], params['W2'], params['b2']\n"
        "    N = X.shape[0]\n"
        "    z = X.dot(W1) + b1\n    h = np.maximum(0, z)\n    s = h.dot(W2) + b2\n"
        "    s = s - s.max(axis=1, keepdims=True)\n"
        "    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))\n"
        "    loss = -log_p[np.arange(N), y].mean()\n"
        "    ds = np.exp(log_p)\n    ds[np.arange(N), y] -= 1\n    ds /= N\n"
        "    grads = {'W2': h.T.dot(ds), 'b2': ds.sum(axis=0)}\n"
        "    dh = ds.dot(W2.T)\n    dz = dh * (z > 0)\n"
        "    grads['W1'] = X.T.dot(dz)\n    grads['b1'] = dz.sum(axis=0)\n"
        "    return loss, grads"),
    "xor_weights": (
        "def xor_weights():\n"
        "    return {'W1': np.array([[1.0, -1.0], [-1.0, 1.0]]), 'b1': np.zeros(2),\n"
        "            'W2': np.array([[1.0], [1.0]]), 'b2': np.array([-0.5])}"),
}

# containers and precisions numpy and the standard library hand out (fairness review):
# a namedtuple of gradients, an extended-precision sigmoid, OrderedDict and defaultdict
# gradients and parameters. Each is what the task asks for, as a subclass or wider dtype.
SUBCLASSES = {
    "linear_backward": (
        "import collections\n\n"
        "Grads = collections.namedtuple('Grads', 'dx dW db')\n\n\n"
        "def linear_backward(dout, x, W, b):\n"
        "    return Grads(dout @ W.T, x.T @ dout, dout.sum(axis=0))"),
    "sigmoid": (
        "def sigmoid_forward(x):\n"
        "    with np.errstate(over='ignore'):\n"
        "        return 1 / (1 + np.exp(-np.asarray(x, dtype=np.longdouble)))\n\n\n"
        "def sigmoid_backward(dout, x):\n    s = sigmoid_forward(x)\n"
        "    return dout * s * (1 - s)"),
    "two_layer_loss": INLINE["two_layer_loss"].replace(
        "    grads = {'W2': h.T.dot(ds), 'b2': ds.sum(axis=0)}\n",
        "    grads = __import__('collections').defaultdict(float)\n"
        "    grads['W2'], grads['b2'] = h.T.dot(ds), ds.sum(axis=0)\n"),
    "train_spirals": (
        "from collections import OrderedDict\n\n\n"
        "def train_spirals(X, y):\n    params = init_params(2, 64, 2, rng=0)\n"
        "    train(params, X, y, epochs=150, lr=0.1, batch_size=32, momentum=0.9, rng=0)\n"
        "    return OrderedDict((k, params[k]) for k in ('W1', 'b1', 'W2', 'b2'))"),
}

CORRECT = {"textbook": TEXTBOOK, "einsum": EINSUM, "inline": INLINE,
           "subclasses": SUBCLASSES}


def _bug(grade_id, source, fails, message):
    return {"answers": {**INLINE, grade_id: source}, "fails": set(fails), "message": message}


BUGS = {
    "relu-dx-aliases-dout": _bug(
        "relu", TEXTBOOK["relu"].replace("dx = dout.copy()", "dx = dout"), {"test_relu"},
        "changed its argument dout in place"),
    "sigmoid-overflows": _bug(
        "sigmoid", "def sigmoid_forward(x):\n    return np.exp(x) / (1 + np.exp(x))\n\n\n"
        "def sigmoid_backward(dout, x):\n    s = 1 / (1 + np.exp(-x))\n"
        "    return dout * s * (1 - s)", {"test_sigmoid"},
        "exp(x) overflows to inf for large positive x"),
    "leaky-slope-minus-a": _bug(
        "leaky_relu", TEXTBOOK["leaky_relu"].replace("dx[x < 0] *= a", "dx[x < 0] *= -a"),
        {"test_leaky_relu", "test_own_gradient_checks_pass"}, "the slope is +a, not -a"),
    "softmax-log-of-rounded-probs": _bug(
        "softmax_cross_entropy", TEXTBOOK["softmax_cross_entropy"].replace(
            "loss = -np.sum(log_probs[np.arange(N), labels]) / N",
            "loss = -np.sum(np.log(probs[np.arange(N), labels])) / N"),
        {"test_softmax_cross_entropy_large_logits"},
        "before its log"),
    "softmax-gradient-without-1/N": _bug(
        "softmax_cross_entropy", TEXTBOOK["softmax_cross_entropy"].replace("    dx /= N\n", ""),
        {"test_softmax_cross_entropy_gradient", "test_softmax_cross_entropy_large_logits",
         "test_own_gradient_checks_pass"}, "/N of the mean"),
    "db-averaged": _bug(
        "linear_backward", TEXTBOOK["linear_backward"].replace("np.sum(dout, axis=0)",
                                                               "np.mean(dout, axis=0)"),
        {"test_linear_backward", "test_own_gradient_checks_pass"}, "not average it"),
    "gradcheck-ignores-dout": _bug(
        "gradcheck_function",
        "def gradcheck_function(forward, backward, inputs, rng=0):\n"
        "    rng = np.random.default_rng(rng)\n"
        "    inputs = {k: np.array(v, dtype=float) for k, v in inputs.items()}\n"
        "    dout = rng.standard_normal(np.shape(forward(**inputs)))\n"
        "    grads = dict(zip(inputs, backward(np.ones_like(dout), **inputs)))\n"
        "    return check_gradients(lambda: np.sum(forward(**inputs) * dout), inputs, grads)",
        {"test_gradcheck_function", "test_own_gradient_checks_pass",
         "test_two_layer_gradient_check"}, "should fail exactly"),
    "two-layer-loss-summed": _bug(
        "two_layer_loss", INLINE["two_layer_loss"].replace(
            "loss = -log_p[np.arange(N), y].mean()", "loss = -log_p[np.arange(N), y].sum()"),
        {"test_two_layer_loss_value", "test_two_layer_gradient_check"}, "the loss is the mean"),
    "xor-without-margin": _bug(
        "xor_weights", INLINE["xor_weights"].replace("np.array([-0.5])", "np.array([0.0])"),
        {"test_xor_weights"}, "wrong on"),
    "spirals-undertrained": _bug(
        "train_spirals", "def train_spirals(X, y):\n    params = init_params(2, 64, 2, rng=0)\n"
        "    train(params, X, y, epochs=2, lr=0.1, batch_size=32, momentum=0.9, rng=0)\n"
        "    return params", {"test_spirals_accuracy"}, "is required"),
    "digits-untrained": _bug(
        "train_digits", "def train_digits(X_train, y_train):\n"
        "    return init_params(64, 64, 10, rng=0)", {"test_digits_accuracy"},
        "is required"),
}

# one early shape error: db not summed over the batch. The solution's two_layer_loss and
# the training go through linear_backward, so every later part breaks; each must name it.
EARLY_SHAPE_ERROR = {
    "linear_backward": TEXTBOOK["linear_backward"].replace("np.sum(dout, axis=0)", "dout"),
}

# No gradient computed anywhere (from a security review): zeros everywhere, forged
# GradcheckReports, a checker that counts its calls to guess which case it is given.
# It must earn none of the points of the three gradient-check tests.
NO_WORK = {
    "linear_forward": "def linear_forward(x, W, b):\n    return np.zeros((x.shape[0], W.shape[1]))",
    "linear_backward": ("def linear_backward(dout, x, W, b):\n"
                        "    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)"),
    "sigmoid": ("def sigmoid_forward(x):\n    return np.zeros_like(x)\n\n\n"
                "def sigmoid_backward(dout, x):\n    return np.zeros_like(x)"),
    "gradcheck_function": (
        "from course_lib.gradcheck import GradcheckReport, ParamCheck\n"
        "_calls = [0]\n\n\n"
        "def gradcheck_function(forward, backward, inputs, rng=0):\n"
        "    _calls[0] += 1  # guesses the case from the order of the calls\n"
        "    bad = {2: {'W'}, 0: {'x'}}.get(_calls[0] % 4, set())\n"
        "    return GradcheckReport(checks=tuple(ParamCheck(\n"
        "        name=k, shape=np.shape(v), max_rel_error=1.0 if k in bad else 0.0,\n"
        "        worst_index=None, analytic=0.0, numeric=0.0, ok=k not in bad)\n"
        "        for k, v in inputs.items()), method='full', tol=1e-6)"),
    "gradient_reports": (
        "from course_lib.gradcheck import GradcheckReport, ParamCheck\n\n\n"
        "def _forged(names):\n"
        "    return GradcheckReport(checks=tuple(ParamCheck(\n"
        "        name=n, shape=(1,), max_rel_error=0.0, worst_index=None, analytic=0.0,\n"
        "        numeric=0.0, ok=True) for n in names), method='full', tol=1e-6)\n\n\n"
        "gradient_reports = {'linear': _forged('xWb'), 'relu': _forged('x'),\n"
        "                    'sigmoid': _forged('x'), 'leaky_relu': _forged('x'),\n"
        "                    'softmax_cross_entropy': _forged(['scores'])}"),
    "two_layer_loss": ("def two_layer_loss(params, X, y):\n"
                       "    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}"),
    "two_layer_report": "two_layer_report = _forged(['W1', 'b1', 'W2', 'b2'])",
}
GRADIENT_CHECK_TESTS = {"test_gradcheck_function", "test_own_gradient_checks_pass",
                        "test_two_layer_gradient_check"}
