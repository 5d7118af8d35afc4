"""Checks for the exercises in ``05-auditing.ipynb``.

05.1 ``tpr_at_low_fpr(scores, members, max_fpr)``: the attack's TPR at a low false-positive rate.
05.2 ``epsilon_from_rates(tpr, fpr, delta)``: the epsilon a (TPR, FPR) pair proves.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.exercises import require


def _tpr_at_low_fpr(fn) -> str:
    from labkit.audit import roc_curve, tpr_at_fpr

    rng = np.random.default_rng(5)
    members = rng.random(2000) < 0.5
    scores = rng.normal(size=2000) + 1.5 * members
    for max_fpr in (0.01, 0.1):
        fpr, tpr, _ = roc_curve(scores, members)
        want = tpr_at_fpr(fpr, tpr, max_fpr)
        got = float(fn(scores, members, max_fpr))
        require(0 <= got <= 1, f"a rate lies in [0, 1]; got {got}")
        if abs(got - want) > 1e-9:
            over = float(np.mean(scores[~members] >= np.quantile(scores[~members], 1 - max_fpr)))
            require(False, f"at max_fpr = {max_fpr} expected TPR {want:.4f}, got {got:.4f}. Use thresholds whose "
                           f"false-positive rate (share of non-members scored >= threshold) is at most max_fpr "
                           f"(a quantile threshold gives FPR {over:.4f}), and take the best TPR among them")
    return "At 1% FPR the attack names members with few false alarms: the regime that matters (Carlini et al. 2022)."


def _epsilon_from_rates(fn) -> str:
    cases = [((0.5, 0.01, 0.0), math.log(50)), ((0.5, 0.01, 1e-5), math.log((0.5 - 1e-5) / 0.01)),
             ((0.99, 0.5, 0.0), math.log(0.5 / 0.01)), ((0.3, 0.3, 1e-5), 0.0), ((0.2, 0.4, 0.0), 0.0)]
    for (tpr, fpr, delta), want in cases:
        got = float(fn(tpr, fpr, delta))
        if (tpr, fpr) == (0.99, 0.5) and abs(got - want) > 1e-6:
            require(False, "(TPR 0.99, FPR 0.5) proves epsilon >= log(50) too: also use the other inequality, "
                           "1 - FPR <= e^eps (1 - TPR) + delta")
        if delta > 0 and tpr == 0.5 and abs(got - math.log(50)) < 1e-9:
            require(False, "subtract delta: TPR <= e^eps FPR + delta gives eps >= log((TPR - delta) / FPR)")
        require(abs(got - want) < 1e-6, f"for TPR {tpr}, FPR {fpr}, delta {delta} expected {want:.4f}, got {got:.4f}"
                + (" (an attack no better than guessing proves nothing: return 0)" if want == 0 else ""))
    return "An attack's success can only prove a lower bound: the accountant's epsilon stays the guarantee."


CHECKS = {"05.1": _tpr_at_low_fpr, "05.2": _epsilon_from_rates}
