"""Exercise checks of notebooks 04 (DP-SGD) and 05 (auditing), the training half of the DP track.

Each check calls the learner's answer with property tests and raises :class:`labkit.exercises.Hint`
naming what went wrong (see :mod:`labkit.exercises`). ``CHECKS`` maps exercise ids to exercises:

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

from labkit.dp.audit import roc_curve, tpr_at_fpr
from labkit._validate import is_integer
from labkit.exercises import Exercise, require, require_number


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


_CHECKS_04 = {"04.1": Exercise(_clip_rows, "build", "core", 10), "04.2": Exercise(_valid_microbatches, "warm-up", "warm-up", 10),
              "04.3": Exercise(_dp_mean_purchase, "build", "core", 15)}


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


_CHECKS_05 = {"05.1": Exercise(_tpr_at_low_fpr, "build", "core", 15), "05.2": Exercise(_epsilon_from_rates, "build", "core", 15)}


CHECKS = {**_CHECKS_04, **_CHECKS_05}
