"""Shared pytest set-up: plots render off-screen."""

import matplotlib

matplotlib.use("Agg")
