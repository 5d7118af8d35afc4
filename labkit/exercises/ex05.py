"""Checks for the exercises in ``05-auditing.ipynb``.

05.1 ``tpr_at_low_fpr(scores, members, max_fpr)``: the attack's TPR at a low false-positive rate.
05.2 ``epsilon_from_rates(tpr, fpr, delta)``: the epsilon a (TPR, FPR) pair proves.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises import require, require_number




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
    from labkit.audit import roc_curve, tpr_at_fpr

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


CHECKS = {"05.1": _tpr_at_low_fpr, "05.2": _epsilon_from_rates}
