"""Checks for the exercises in ``02-dp-from-scratch.ipynb``."""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises import require, require_number


def _laplace(fn) -> str:
    for sensitivity, epsilon in [(1.0, 1.0), (2.0, 0.5), (1.0, 4.0)]:
        rng = np.random.default_rng(12345)
        out = np.array([require_number(fn(10.0, sensitivity, epsilon, rng), "the noisy value") for _ in range(4000)])
        require(out.std() > 0, "the release is always the same: add random noise drawn from rng")
        noise = out - 10.0
        b = sensitivity / epsilon
        require(abs(np.median(noise)) < 0.15 * b, "the noise must be centred on 0 (release value + noise)")
        kurt = np.mean(noise ** 4) / np.mean(noise ** 2) ** 2
        require(kurt > 4.5, f"the noise looks Gaussian (kurtosis {kurt:.2f}); Laplace noise has kurtosis 6")
        mean_abs = np.mean(np.abs(noise))
        require(abs(mean_abs / b - 1) < 0.12,
                f"sensitivity {sensitivity}, epsilon {epsilon}: the mean |noise| should be b = sensitivity / "
                f"epsilon = {b:g}, yours is {mean_abs:.3g}")
    return "Laplace noise with scale sensitivity / epsilon."


def _rr_estimate(fn) -> str:
    rng = np.random.default_rng(7)
    for eps, truth in [(1.0, 0.3), (0.5, 0.8), (3.0, 0.05)]:
        p = math.exp(eps) / (1 + math.exp(eps))
        n = 200_000
        bits = rng.random(n) < truth
        reports = np.where(rng.random(n) < p, bits, ~bits).astype(int)
        got = require_number(fn(reports, eps), "the estimated share")
        require(abs(got - reports.mean()) > 1e-9 or abs(truth - reports.mean()) < 0.01,
                "you returned the share of 1s in the reports; undo the flipping first")
        require(abs(got - truth) < 0.02, f"epsilon {eps}, true share {truth}: your estimate is {got:.3f}")
    return "An unbiased estimate from noisy reports."


def _sum_sensitivity(fn) -> str:
    for lower, upper, expected in [(0, 10, 10), (-5, 3, 5), (-2, -1, 2), (1, 4, 4), (-7, 7, 7)]:
        got = require_number(fn(lower, upper), "the sensitivity")
        require(not (got == upper - lower and got != expected),
                f"clip to [{lower}, {upper}]: upper - lower bounds *replacing* one record; adding or removing a "
                "record moves the sum by that record's value itself")
        require(got == expected, f"clip to [{lower}, {upper}]: adding or removing one record changes the sum by "
                                 f"at most {expected}, you returned {got:g}")
    return "Sensitivity of a clipped sum under add-or-remove-one: max(|lower|, |upper|)."


CHECKS = {"02.1": _laplace, "02.2": _rr_estimate, "02.3": _sum_sensitivity}
