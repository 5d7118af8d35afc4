"""Checks for the exercises in ``03-gaussian-accounting.ipynb``."""

from __future__ import annotations

from labkit.exercises import require, require_number


def _real_delta(fn) -> str:
    from labkit.dp import gaussian_delta

    for sigma, eps in [(4.0, 1.0), (0.48, 10.0), (1.0, 0.5), (10.0, 0.1), (2.0, 3.0)]:
        got = require_number(fn(sigma, eps), "delta")
        expected = gaussian_delta(sigma, eps)
        require(abs(got - expected) <= 1e-9 + 1e-6 * expected,
                f"sigma {sigma}, epsilon {eps}: delta should be {expected:.4g}, yours is {got:.4g}. "
                "Use Phi(1/(2 sigma) - eps sigma) - e^eps Phi(-1/(2 sigma) - eps sigma)")
    return "The exact delta of a Gaussian mechanism (Balle & Wang 2018, Theorem 8)."


def _epochs_for_budget(fn) -> str:
    from labkit.dp import dpsgd_epsilon

    for target, n, b, sigma in [(1.0, 1000, 50, 1.0), (3.0, 1347, 64, 1.1), (0.5, 5000, 100, 2.0)]:
        value = require_number(fn(target, n, b, sigma, 1e-5), "a whole number of epochs")
        require(value.is_integer() and value >= 0,
                f"target {target}, n={n}, batch {b}, sigma {sigma}: return a whole number of epochs (0 or more); "
                f"got {value:g}")
        got = int(value)  # int, numpy.int64 and integral floats are all fine
        require(dpsgd_epsilon(n, b, sigma, got, 1e-5) <= target if got >= 1 else True,
                f"target {target}, n={n}, batch {b}, sigma {sigma}: {got} epochs spend more than the budget")
        require(dpsgd_epsilon(n, b, sigma, got + 1, 1e-5) > target,
                f"target {target}, n={n}, batch {b}, sigma {sigma}: {got + 1} epochs still fit the budget")
    return "The most epochs a budget allows."


CHECKS = {"03.1": _real_delta, "03.2": _epochs_for_budget}
