"""Exercise checks of the differential-privacy track: notebooks 00 to 05.

Each check calls the learner's answer with property tests and raises :class:`labkit.exercises.Hint`
naming what went wrong (see :mod:`labkit.exercises`). ``CHECKS`` maps exercise ids to checks, in
notebook order:

* 00.1 the sensitivity of a count (``00-index``).
* 01.1 the share of unique records, 01.2 k-anonymity (``01-deidentification``).
* 02.1 the Laplace mechanism, 02.2 the randomized-response estimate, 02.3 the sensitivity of a
  clipped sum (``02-dp-from-scratch``).
* 03.1 the exact delta of a Gaussian mechanism, 03.2 the most epochs a budget allows
  (``03-gaussian-accounting``).
* 04.1 clipping rows, 04.2 valid microbatch counts, 04.3 a DP mean purchase (``04-dp-sgd``).
  04.3 ``dp_mean_purchase(amounts, clip, noise_multiplier, rng)``: a public count means
  neighbouring datasets have the same size (replace-one adjacency), under which the clipped sum's
  sensitivity is ``clip`` because every clipped amount lies in [0, clip]. The check uses refunds
  (negative amounts), so clipping from above only fails.
* 05.1 TPR at a low FPR, 05.2 epsilon from an attack's rates (``05-auditing``).
"""

from __future__ import annotations

import math

import numpy as np

from labkit.dp.accounting import dpsgd_epsilon
from labkit.dp.audit import roc_curve, tpr_at_fpr
from labkit.dp.calibration import gaussian_delta
from labkit._validate import is_integer
from labkit.exercises import require, require_number


# --------------------------------------------------------------------------------------------
# 00-index
# --------------------------------------------------------------------------------------------


def _count_sensitivity(fn) -> str:
    value = fn()
    require(isinstance(value, (int, float)), f"return a number; got {type(value).__name__}")
    require(value != 0, "a count changes when one person is added or removed, so its sensitivity is not 0")
    require(value == 1, f"adding or removing one person changes a count by at most 1, not {value}")
    return "A count has sensitivity 1."


_CHECKS_00 = {"00.1": _count_sensitivity}


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


_CHECKS_01 = {"01.1": _unique_share, "01.2": _k_anonymity}


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


_CHECKS_02 = {"02.1": _laplace, "02.2": _rr_estimate, "02.3": _sum_sensitivity}


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


_CHECKS_03 = {"03.1": _real_delta, "03.2": _epochs_for_budget}


# --------------------------------------------------------------------------------------------
# 04-dp-sgd
# --------------------------------------------------------------------------------------------


def _reference_clip(grads: np.ndarray, clip: float) -> np.ndarray:
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


def _clip_rows(fn) -> str:
    rng = np.random.default_rng(4)
    grads = rng.normal(size=(30, 5)) * rng.uniform(0.05, 5, size=(30, 1))
    out = np.asarray(fn(grads.copy(), 1.0), dtype=float)
    require(out.shape == grads.shape, f"return one clipped row per example, shape {grads.shape}; got {out.shape}")
    norms = np.linalg.norm(out, axis=1)
    # 1e-5: an answer computed in float32 is right too
    require(np.all(norms <= 1.0 + 1e-5), f"every row must have norm <= clip = 1; the largest has {norms.max():.3f}")
    small = np.linalg.norm(grads, axis=1) < 1.0
    require(np.allclose(out[small], grads[small]),
            "rows already shorter than the clip must stay unchanged (scale by min(1, C / ||g||), not C / ||g||)")
    require(np.allclose(out, _reference_clip(grads, 1.0)),
            "clip each row on its own: scale row i by min(1, C / ||g_i||), keeping its direction")
    zero = np.asarray(fn(np.zeros((2, 3)), 0.5), dtype=float)
    require(np.all(np.isfinite(zero)) and np.allclose(zero, 0), "a zero gradient must stay zero (no division by zero)")
    return "Each example now moves the sum by at most C: that is the sensitivity the noise is calibrated to."


def _reference_microbatches(n: int, b: int) -> list[int]:
    last = n % b
    return [m for m in range(1, b + 1) if b % m == 0 and (last == 0 or last % m == 0)]


def _valid_microbatches(fn) -> str:
    for n, b in [(1347, 32), (1200, 32), (1000, 30), (1347, 449), (64, 64)]:
        got = fn(n, b)
        is_int_array = isinstance(got, np.ndarray) and got.ndim == 1 and np.issubdtype(got.dtype, np.integer)
        require(isinstance(got, (list, tuple)) or is_int_array, f"return a list of integers; got {type(got).__name__}")
        require(all(is_integer(m) for m in got),
                "return a list of integers (the microbatch counts)")
        got = sorted(int(m) for m in got)
        want = _reference_microbatches(n, b)
        if got != want:
            full = [m for m in range(1, b + 1) if b % m == 0]
            if got == full:
                raise_hint = (f"for {n} examples in batches of {b}, the last batch has {n % b} examples: the count "
                              "must divide it too")
            else:
                raise_hint = f"for {n} examples in batches of {b} expected {want}, got {got}"
            require(False, raise_hint)
    return "With 1347 digits and batch 32, only 1 microbatch works: pick the batch size with the data size in mind."


def _dp_mean_purchase(fn) -> str:
    # Purchases and two refunds (negative amounts): the answer must clip to [0, clip], both sides.
    amounts = np.array([12.0, 30.0, 5.0, 2500.0, 18.0, -80.0, 0.0, 75.0, -5.0, 22.0])
    clip = 50.0
    n = len(amounts)
    clipped_mean = np.clip(amounts, 0.0, clip).mean()
    out = fn(amounts.copy(), clip, 0.0, np.random.default_rng(0))
    require(out is not None, "return the noisy mean (one number); your function returned None")
    require(np.ndim(out) == 0 and isinstance(np.asarray(out).item(), (int, float)),
            f"return one number, the noisy mean; got {type(out).__name__} of shape {np.shape(out)}")
    exact = float(out)
    wrong = {
        "no clipping": (amounts.mean(), "clip each amount to [0, clip] first: one 2500 purchase must not move the mean "
                        "more than clip / n"),
        "from above only": (np.minimum(amounts, clip).mean(), "clip from below too: a refund of -80 must count as 0, "
                            "or it moves the mean by more than clip / n (use np.clip(amounts, 0, clip))"),
        "symmetric": (np.clip(amounts, -clip, clip).mean(), "clip to [0, clip], not [-clip, clip]: with both signs "
                      "allowed, replacing one amount moves the sum by up to 2 * clip, twice the sensitivity the noise "
                      "is calibrated to"),
    }
    for value, hint in wrong.values():
        require(np.isclose(exact, clipped_mean) or not np.isclose(exact, value), hint)
    require(np.isclose(exact, clipped_mean),
            f"with noise_multiplier 0 the answer is the mean of the amounts clipped to [0, clip], divided by all "
            f"{n} customers ({clipped_mean:.3f}); got {exact:.3f}")
    rng = np.random.default_rng(1)
    draws = np.array([float(fn(amounts.copy(), clip, 2.0, rng)) for _ in range(4000)])
    sd = draws.std()
    want = 2.0 * clip / n
    require(sd > 1e-6 * want,
            "with noise_multiplier 2 the answer must be noisy: add N(0, (noise_multiplier * clip)^2) to the sum")
    require(abs(sd / want - 1) < 0.08,
            f"the noise on the mean should have standard deviation noise_multiplier * clip / n = {want:.2f}; yours has "
            f"{sd:.2f} (add N(0, (noise_multiplier * clip)^2) to the sum, then divide by n)")
    require(abs(draws.mean() - clipped_mean) < 4 * want / np.sqrt(4000), "the noise must have mean 0")
    return ("Same recipe as DP-SGD: bound each customer's contribution to [0, clip], add noise scaled to that bound. "
            "With n public this is replace-one DP, for one amount per customer.")


_CHECKS_04 = {"04.1": _clip_rows, "04.2": _valid_microbatches, "04.3": _dp_mean_purchase}


# --------------------------------------------------------------------------------------------
# 05-auditing
# --------------------------------------------------------------------------------------------


def _tpr_cases():
    """(scores, members, max_fpr): continuous scores with exactly 1000 non-members, so that an FPR of
    exactly 1% is reachable; at 1.75% a quantile threshold of the non-members lets 18 of them through
    (1.8%); and scores rounded to one decimal, so that many examples tie."""
    rng = np.random.default_rng(5)
    members = rng.permutation(np.r_[np.ones(1000, bool), np.zeros(1000, bool)])
    scores = rng.normal(size=2000) + 1.5 * members
    tied = np.round(rng.normal(size=600) + 1.0 * members[:600], 1)
    return [(scores, members, 0.01), (scores, members, 0.0175), (scores, members, 0.1), (tied, members[:600], 0.05)]


def _tpr_at_low_fpr(fn) -> str:
    for scores, members, max_fpr in _tpr_cases():
        fpr, tpr, _ = roc_curve(scores, members)
        want = tpr_at_fpr(fpr, tpr, max_fpr)
        got = require_number(fn(scores.copy(), members.copy(), max_fpr), "the true-positive rate")
        require(0 <= got <= 1, f"a rate lies in [0, 1]; got {got}")
        if abs(got - want) > 1e-6:  # TPRs are multiples of 1 / (number of members): far apart
            neg = scores[~members]
            t = np.quantile(neg, 1 - max_fpr)
            over = float(np.mean(neg >= t))
            require(False, f"at max_fpr = {max_fpr} expected TPR {want:.4f}, got {got:.4f}. Use thresholds t whose "
                           f"false-positive rate (the share of non-members with score >= t) is at most max_fpr, "
                           f"including exactly max_fpr, and take the best TPR among them. A quantile of the "
                           f"non-members' scores is not such a threshold when scores tie or interpolate (here it "
                           f"gives FPR {over:.4f})")
    return "At 1% FPR the attack names members with few false alarms: the regime that matters (Carlini et al. 2022)."


def _epsilon_from_rates(fn) -> str:
    # (tpr, fpr, delta) -> the answer. The fourth case is the one where only the second inequality,
    # with its delta, gives the right answer: log((1 - 0.5 - 0.01) / 0.001) = log(490), not log(500).
    cases = [((0.5, 0.01, 0.0), math.log(50)), ((0.5, 0.01, 1e-5), math.log((0.5 - 1e-5) / 0.01)),
             ((0.99, 0.5, 0.0), math.log(0.5 / 0.01)), ((0.999, 0.5, 0.01), math.log(0.49 / 0.001)),
             ((0.6, 0.3, 0.05), math.log(0.55 / 0.3)), ((0.3, 0.3, 1e-5), 0.0), ((0.3005, 0.3, 1e-3), 0.0)]
    for (tpr, fpr, delta), want in cases:
        got = require_number(fn(tpr, fpr, delta), "the epsilon lower bound")
        if abs(got - want) <= 1e-6:
            continue
        require(got >= 0, f"for TPR {tpr}, FPR {fpr}, delta {delta} you returned {got:.4f}: a bound below 0 "
                          f"proves nothing, so return 0")
        if (tpr, fpr) in ((0.99, 0.5), (0.999, 0.5)) and got < want - 1:
            require(False, f"(TPR {tpr}, FPR {fpr}) proves more than you found: also use the other inequality, "
                           f"1 - FPR <= e^eps (1 - TPR) + delta")
        if delta > 0 and tpr == 0.999 and abs(got - math.log(0.5 / 0.001)) < 1e-6:
            require(False, "subtract delta in the other inequality too: 1 - FPR <= e^eps (1 - TPR) + delta gives "
                           "eps >= log((1 - FPR - delta) / (1 - TPR))")
        if delta > 0 and got > want:
            require(False, f"for TPR {tpr}, FPR {fpr}, delta {delta} you returned {got:.6f}, more than the "
                           f"{want:.6f} these rates prove: subtract delta, TPR <= e^eps FPR + delta gives "
                           f"eps >= log((TPR - delta) / FPR)")
        require(False, f"for TPR {tpr}, FPR {fpr}, delta {delta} expected {want:.4f}, got {got:.4f}"
                + (" (an attack no better than guessing proves nothing: return 0)" if want == 0 else ""))
    return "An attack's success can only prove a lower bound: the accountant's epsilon stays the guarantee."


_CHECKS_05 = {"05.1": _tpr_at_low_fpr, "05.2": _epsilon_from_rates}


CHECKS = {**_CHECKS_00, **_CHECKS_01, **_CHECKS_02, **_CHECKS_03, **_CHECKS_04, **_CHECKS_05}
