"""course_lib: the small numpy library behind the "Neural networks" lecture and PS4.

The contract, stated once (every layer in :mod:`course_lib.layers` follows it):

* batches are rows: an input ``x`` has shape ``(N, D)``;
* a layer has ``params`` and ``grads``, dicts with the same keys;
* ``forward(x)`` returns the output and keeps what backward needs in ``layer.cache``
  under a name (``cache["x"]``, ``cache["out"]``);
* ``backward(dout)`` takes dL/d(output), fills ``grads`` and returns dL/dx;
* losses are functions ``loss_fn(scores, targets) -> (loss, dscores)``;
* a shape, dtype or NaN mistake raises ``ValueError`` naming the layer, the expected and
  the actual shape;
* ``Linear`` holds float64 parameters unless built with ``dtype=np.float32``; a layer
  computes in its parameters' dtype and refuses input of another.

Inside :func:`course_lib.train.fit`, layers skip their NaN/inf scans: ``fit`` scans ``X``
once, checks each batch's loss and, when it is not finite, names the layer at fault.

Widgets live in :mod:`course_lib.widgets`, which is not imported here, so importing
``course_lib`` never needs a notebook front end.
"""

from course_lib.layers import (
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Step,
    Tanh,
)
from course_lib.losses import binary_cross_entropy, softmax_cross_entropy, squared_loss

__all__ = [
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Step",
    "Tanh",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "squared_loss",
]
