"""Every layer of course_lib, built the same way, for parametrised tests.

Each entry maps a name to ``factory(width, rng, dtype=np.float64) -> layer`` whose
input has ``width`` columns and the given dtype. Adding a layer to course_lib means
adding it here, and every contract test then covers it.
"""

import numpy as np

from course_lib.layers import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh

LAYERS = {
    "Linear": lambda width, rng, dtype=np.float64: Linear(width, 3, rng=rng, dtype=dtype),
    "ReLU": lambda width, rng, dtype=np.float64: ReLU(),
    "LeakyReLU": lambda width, rng, dtype=np.float64: LeakyReLU(a=0.1),
    "Sigmoid": lambda width, rng, dtype=np.float64: Sigmoid(),
    "Tanh": lambda width, rng, dtype=np.float64: Tanh(),
    "Sequential": lambda width, rng, dtype=np.float64: Sequential(
        Linear(width, 5, rng=rng, dtype=dtype), Tanh(), Linear(5, 2, rng=rng, dtype=dtype)
    ),
}
