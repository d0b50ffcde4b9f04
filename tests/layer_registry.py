"""Every layer of course_lib, built the same way, for parametrised tests.

Each entry maps a name to ``factory(width, rng) -> layer`` whose input has ``width``
columns. Adding a layer to course_lib means adding it here, and every contract test
then covers it.
"""

from course_lib.layers import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh

LAYERS = {
    "Linear": lambda width, rng: Linear(width, 3, rng=rng),
    "ReLU": lambda width, rng: ReLU(),
    "LeakyReLU": lambda width, rng: LeakyReLU(a=0.1),
    "Sigmoid": lambda width, rng: Sigmoid(),
    "Tanh": lambda width, rng: Tanh(),
    "Sequential": lambda width, rng: Sequential(
        Linear(width, 5, rng=rng), Tanh(), Linear(5, 2, rng=rng)
    ),
}
