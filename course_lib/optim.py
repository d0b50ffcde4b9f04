"""Optimisers that update a model's parameters in place from its gradients."""

import numpy as np


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v <- momentum * v - lr * grad``, then ``param <- param + v``; with ``momentum=0``
    this is plain ``param <- param - lr * grad``.

    Args:
        model: anything with ``parameters()`` returning ``(name, param, grad)`` triples,
            such as :class:`course_lib.layers.Sequential`.
        lr: learning rate, > 0.
        momentum: in ``[0, 1)``.
    """

    def __init__(self, model, lr=0.1, momentum=0.0):
        if not lr > 0:
            raise ValueError(f"SGD: expected a learning rate lr > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: expected momentum in [0, 1), got {momentum}")
        self.model, self.lr, self.momentum = model, lr, momentum
        self.velocity = {}

    def step(self):
        """Apply one update to every parameter, in place."""
        if not self.momentum:
            for _, param, grad in self.model.parameters():
                param -= self.lr * grad
            return
        for name, param, grad in self.model.parameters():
            v = self.velocity.setdefault(name, np.zeros_like(param))
            v *= self.momentum
            v -= self.lr * grad
            param += v

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum})"
