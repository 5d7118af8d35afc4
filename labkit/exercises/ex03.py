"""Checks for the exercises in ``03-gaussian-accounting.ipynb``."""

from __future__ import annotations

import math

from labkit.exercises import require


def _real_delta(fn) -> str:
    from labkit.dp import gaussian_delta

    for sigma, eps in [(4.0, 1.0), (0.48, 10.0), (1.0, 0.5), (10.0, 0.1), (2.0, 3.0)]:
        got = fn(sigma, eps)
        expected = gaussian_delta(sigma, eps)
        require(isinstance(got, float) or hasattr(got, "__float__"), "return a number")
        require(math.isfinite(float(got)), f"sigma {sigma}, epsilon {eps}: your delta is not finite")
        require(abs(float(got) - expected) <= 1e-9 + 1e-6 * expected,
                f"sigma {sigma}, epsilon {eps}: delta should be {expected:.4g}, yours is {float(got):.4g}. "
                "Use Phi(1/(2 sigma) - eps sigma) - e^eps Phi(-1/(2 sigma) - eps sigma)")
    return "The exact delta of a Gaussian mechanism (Balle & Wang 2018, Theorem 8)."


def _epochs_for_budget(fn) -> str:
    from labkit.dp import dpsgd_epsilon

    for target, n, b, sigma in [(1.0, 1000, 50, 1.0), (3.0, 1347, 64, 1.1), (0.5, 5000, 100, 2.0)]:
        got = fn(target, n, b, sigma, 1e-5)
        require(isinstance(got, int), f"return a whole number of epochs (an int); got {type(got).__name__}")
        require(dpsgd_epsilon(n, b, sigma, got, 1e-5) <= target if got >= 1 else True,
                f"target {target}, n={n}, batch {b}, sigma {sigma}: {got} epochs spend more than the budget")
        require(dpsgd_epsilon(n, b, sigma, got + 1, 1e-5) > target,
                f"target {target}, n={n}, batch {b}, sigma {sigma}: {got + 1} epochs still fit the budget")
    return "The most epochs a budget allows."


CHECKS = {"03.1": _real_delta, "03.2": _epochs_for_budget}
