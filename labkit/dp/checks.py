"""Exercise checks of notebooks 00 to 03 (04 and 05 are in :mod:`labkit.dp.training_checks`).

Each check calls the learner's answer with property tests and raises :class:`labkit.exercises.Hint`
naming what went wrong (see :mod:`labkit.exercises`). ``CHECKS`` maps exercise ids to checks, in
notebook order:

* 00.1 the sensitivity of a count (``00-index``).
* 01.1 the share of unique records, 01.2 k-anonymity (``01-deidentification``).
* 02.1 the Laplace mechanism, 02.2 the randomized-response estimate, 02.3 the sensitivity of a
  clipped sum (``02-dp-from-scratch``).
* 03.1 the exact delta of a Gaussian mechanism, 03.2 the most epochs a budget allows
  (``03-gaussian-accounting``).
"""

from __future__ import annotations

import math

import numpy as np

from labkit.dp.accounting import dpsgd_epsilon
from labkit.dp.calibration import gaussian_delta
from labkit.exercises import Exercise, require, require_number


# --------------------------------------------------------------------------------------------
# 00-index
# --------------------------------------------------------------------------------------------


def _count_sensitivity(fn) -> str:
    value = fn()
    require(isinstance(value, (int, float)), f"return a number; got {type(value).__name__}")
    require(value != 0, "a count changes when one person is added or removed, so its sensitivity is not 0")
    require(value == 1, f"adding or removing one person changes a count by at most 1, not {value}")
    return "A count has sensitivity 1."


_CHECKS_00 = {"00.1": Exercise(_count_sensitivity, "warm-up", "warm-up", 2)}


# --------------------------------------------------------------------------------------------
# 01-deidentification
# --------------------------------------------------------------------------------------------


_CASES = ([1, 2, 3, 4], [5, 5, 5], [1, 1, 2, 3, 3, 3, 4], [9], [2, 7, 2, 8, 7, 1])


def _unique_share(fn) -> str:
    for keys in _CASES:
        expected = sum(keys.count(k) == 1 for k in keys) / len(keys)
        got = require_number(fn(np.array(keys)), "a share")
        require(got <= 1, f"return a share between 0 and 1, not a count: keys {keys} gave {got:g}")
        require(abs(got - expected) < 1e-6,
                f"keys {keys}: {expected:.3g} of the records have a key nobody else has, you returned {got}. "
                "Count records whose key occurs exactly once, not distinct keys")
    return "You can measure uniqueness on any set of quasi-identifiers."


def _k_anonymity(fn) -> str:
    for keys in _CASES:
        expected = min(keys.count(k) for k in keys)
        got = require_number(fn(np.array(keys)), "the size of the smallest group")
        require(got.is_integer(), f"keys {keys}: k is a whole number of records, you returned {got:g}")
        require(got == expected, f"keys {keys}: the smallest group has {expected} record(s), you returned {got:g}")
    return "A table is k-anonymous for the size of its smallest group."


_CHECKS_01 = {"01.1": Exercise(_unique_share, "build", "warm-up", 5), "01.2": Exercise(_k_anonymity, "build", "core", 10)}


# --------------------------------------------------------------------------------------------
# 02-dp-from-scratch
# --------------------------------------------------------------------------------------------


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


_CHECKS_02 = {"02.1": Exercise(_laplace, "build", "warm-up", 5), "02.2": Exercise(_rr_estimate, "build", "core", 10),
              "02.3": Exercise(_sum_sensitivity, "reason", "core", 5)}


# --------------------------------------------------------------------------------------------
# 03-gaussian-accounting
# --------------------------------------------------------------------------------------------


def _real_delta(fn) -> str:
    for sigma, eps in [(4.0, 1.0), (0.48, 10.0), (1.0, 0.5), (10.0, 0.1), (2.0, 3.0)]:
        got = require_number(fn(sigma, eps), "delta")
        expected = gaussian_delta(sigma, eps)
        require(abs(got - expected) <= 1e-9 + 1e-6 * expected,
                f"sigma {sigma}, epsilon {eps}: delta should be {expected:.4g}, yours is {got:.4g}. "
                "Use Phi(1/(2 sigma) - eps sigma) - e^eps Phi(-1/(2 sigma) - eps sigma)")
    return "The exact delta of a Gaussian mechanism (Balle & Wang 2018, Theorem 8)."


def _epochs_for_budget(fn) -> str:
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


_CHECKS_03 = {"03.1": Exercise(_real_delta, "build", "core", 10), "03.2": Exercise(_epochs_for_budget, "warm-up", "warm-up", 10)}


CHECKS = {**_CHECKS_00, **_CHECKS_01, **_CHECKS_02, **_CHECKS_03}
