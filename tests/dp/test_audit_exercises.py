"""Exercises 05.x: each catalogue lists the typical wrong answers (named for their mistake) that its check
must reject with a fix on request, and correct answers written differently that it must accept
(proven by tests/test_exercises_framework.py). The notebook's Clopper-Pearson interval, loss and LiRA
scores are loaded from the notebook and held equal to labkit.dp.audit's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercise_proof import Catalogue, assert_hints
from notebook_source import notebook_function

from labkit.dp import audit
from labkit.dp.training_checks import AUDIT_CLAIMS


# ---------------------------------------------------------------------------------------------
# 05.1 tpr_at_low_fpr(scores, members, max_fpr)
# ---------------------------------------------------------------------------------------------


def tpr_at_low_fpr(scores, members, max_fpr):
    best = 0.0
    neg, pos = scores[~members], scores[members]
    for t in np.unique(scores):
        if np.mean(neg >= t) <= max_fpr:
            best = max(best, float(np.mean(pos >= t)))
    return best


def tpr_at_low_fpr_sorted(scores, members, max_fpr):  # correct variant: one sort, no loop; returns np.float32
    order = np.argsort(-np.asarray(scores), kind="stable")
    s, m = np.asarray(scores)[order], np.asarray(members)[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # thresholds: the end of each run of ties
    tpr = np.cumsum(m)[last] / m.sum()
    fpr = np.cumsum(~m)[last] / (~m).sum()
    ok = fpr <= max_fpr
    return np.float32(tpr[ok].max()) if ok.any() else np.float32(0.0)


def tpr_at_low_fpr_list_members(scores, members, max_fpr):  # correct variant: plain Python over lists
    pairs = list(zip(scores.tolist(), members.tolist()))
    n_pos = sum(m for _, m in pairs)
    n_neg = len(pairs) - n_pos
    best = 0
    for t in sorted({s for s, _ in pairs}):
        fp = sum(1 for s, m in pairs if s >= t and not m)
        if fp <= max_fpr * n_neg:
            best = max(best, sum(1 for s, m in pairs if s >= t and m) / n_pos)
    return best


def quantile_threshold_strict(scores, members, max_fpr):  # wrong: threshold at the (1 - fpr) quantile, "score > t"
    t = np.quantile(scores[~members], 1 - max_fpr)
    return float(np.mean(scores[members] > t))


def quantile_threshold(scores, members, max_fpr):  # wrong: the quantile is not an admissible threshold under ties
    t = np.quantile(scores[~members], 1 - max_fpr)
    return float(np.mean(scores[members] >= t))


def strict_fpr_limit(scores, members, max_fpr):  # wrong: FPR < max_fpr, so FPR exactly max_fpr is excluded
    best = 0.0
    neg, pos = scores[~members], scores[members]
    for t in np.unique(scores):
        if np.mean(neg >= t) < max_fpr:
            best = max(best, float(np.mean(pos >= t)))
    return best


def fpr_over_all_examples(scores, members, max_fpr):  # wrong: "false positives" counted over every example
    best = 0.0
    for t in np.unique(scores):
        if np.mean(scores >= t) <= max_fpr:
            best = max(best, float(np.mean(scores[members] >= t)))
    return best


def accuracy_instead(scores, members, max_fpr):  # wrong: reports accuracy at threshold 0
    return float(np.mean((scores > 0) == members))


def returns_fpr(scores, members, max_fpr):  # wrong: the false-positive rate, not the true-positive rate
    return float(max_fpr)


TPR_WRONG = [quantile_threshold_strict, quantile_threshold, strict_fpr_limit, fpr_over_all_examples,
             accuracy_instead, returns_fpr]


# ---------------------------------------------------------------------------------------------
# 05.2 loss_attack_epsilon(losses, members, threshold, delta, alpha)
# ---------------------------------------------------------------------------------------------


def _cp(k, n, alpha):  # the notebook's Clopper-Pearson interval, as a learner would call it
    from scipy.stats import beta

    lo = 0.0 if k == 0 else beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else beta.ppf(1 - alpha / 2, k + 1, n - k)
    return lo, hi


def _eps(tpr, fpr, delta):
    best = 0.0
    if tpr > delta and fpr > 0:
        best = max(best, math.log((tpr - delta) / fpr))
    if 1 - fpr > delta and tpr < 1:
        best = max(best, math.log((1 - fpr - delta) / (1 - tpr)))
    return best


def loss_attack_epsilon(losses, members, threshold, delta, alpha):
    guess = losses <= threshold
    tp, fp = np.sum(guess & members), np.sum(guess & ~members)
    tpr_low = _cp(tp, members.sum(), alpha)[0]
    fpr_high = _cp(fp, (~members).sum(), alpha)[1]
    return _eps(tpr_low, fpr_high, delta)


def loss_attack_epsilon_binomtest(losses, members, threshold, delta, alpha):
    # correct variant: scipy's exact binomial interval, plain Python counting over lists, returns np.float32
    from scipy.stats import binomtest

    pairs = list(zip(losses.tolist(), members.tolist()))
    tp = sum(1 for loss, m in pairs if m and loss <= threshold)
    fp = sum(1 for loss, m in pairs if not m and loss <= threshold)
    pos = sum(1 for _, m in pairs if m)
    neg = len(pairs) - pos
    tpr_low = binomtest(tp, pos).proportion_ci(1 - alpha, method="exact").low
    fpr_high = binomtest(fp, neg).proportion_ci(1 - alpha, method="exact").high
    return np.float32(_eps(tpr_low, fpr_high, delta))


def loss_attack_epsilon_labkit_intervals(losses, members, threshold, delta, alpha):
    # correct variant: labkit's clopper_pearson, scores -loss against -threshold
    scores = -np.asarray(losses, dtype=np.float64)
    guess = scores >= -threshold
    tpr_low = audit.clopper_pearson(int(np.sum(guess & members)), int(members.sum()), alpha)[0]
    fpr_high = audit.clopper_pearson(int(np.sum(guess & ~members)), int((~members).sum()), alpha)[1]
    return _eps(tpr_low, fpr_high, delta)


def _bound(losses, members, guess, delta, alpha, *, side=None, swap=False, use_delta=True, both=True, floor=True,
           confidence=True):
    from scipy.stats import beta

    tp, fp = int(np.sum(guess & members)), int(np.sum(guess & ~members))
    pos, neg = int(members.sum()), int((~members).sum())
    a = alpha / 2 if side is None else side
    if not confidence:
        tpr, fpr = tp / pos, fp / neg
    elif swap:
        tpr = 1.0 if tp == pos else beta.ppf(1 - a, tp + 1, pos - tp)
        fpr = 0.0 if fp == 0 else beta.ppf(a, fp, neg - fp + 1)
    else:
        tpr = 0.0 if tp == 0 else beta.ppf(a, tp, pos - tp + 1)
        fpr = 1.0 if fp == neg else beta.ppf(1 - a, fp + 1, neg - fp)
    d = delta if use_delta else 0.0
    out = [0.0] if floor else []
    if tpr > d:
        out.append(math.log((tpr - d) / fpr) if fpr > 0 else math.inf)
    if both and 1 - fpr > d and tpr < 1:
        out.append(math.log((1 - fpr - d) / (1 - tpr)))
    return max(out)


def guessed_member_when_loss_strictly_below(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses < threshold, delta, alpha)


def guessed_member_for_high_loss(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses >= threshold, delta, alpha)


def measured_rates_without_confidence(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, confidence=False)


def optimistic_ends_of_the_intervals(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, swap=True)


def one_sided_at_alpha_each(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, side=alpha)


def forgot_delta(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, use_delta=False)


def one_inequality_only(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, both=False)


def no_floor_at_zero(losses, members, threshold, delta, alpha):
    return _bound(losses, members, losses <= threshold, delta, alpha, floor=False)


def halved_alpha_twice(losses, members, threshold, delta, alpha):  # clopper_pearson(k, n, alpha / 2): alpha / 4 a side
    return _bound(losses, members, losses <= threshold, delta, alpha, side=alpha / 4)


def normal_approximation_interval(losses, members, threshold, delta, alpha):  # Wald, not Clopper-Pearson
    from scipy.stats import norm

    guess = losses <= threshold
    tpr, fpr = np.mean(guess[members]), np.mean(guess[~members])
    z = norm.ppf(1 - alpha / 2)
    tpr_low = tpr - z * math.sqrt(tpr * (1 - tpr) / members.sum())
    fpr_high = max(fpr + z * math.sqrt(fpr * (1 - fpr) / (~members).sum()), 1e-12)
    return _eps(tpr_low, fpr_high, delta)


def returns_the_threshold(losses, members, threshold, delta, alpha):
    return threshold


# ---------------------------------------------------------------------------------------------
# 05.3 audit_claims()
# ---------------------------------------------------------------------------------------------


def audit_claims():
    return {"a": False, "b": True, "c": False, "d": False, "e": False, "f": True}


def audit_claims_numpy_bools_upper_case():  # correct variant: NumPy bools, capital letters, another order
    supported = {"B", "F"}
    return {k: np.bool_(k in supported) for k in "FEDCBA"}


def _claims_with(**flip):
    answer = audit_claims()
    answer.update(flip)
    return answer


def failed_attack_proves_privacy():
    return _claims_with(a=True)


def doubts_the_refutation():
    return _claims_with(b=False)


def audit_catches_subtle_bugs():
    return _claims_with(c=True)


def lower_bound_below_confirms_the_accountant():
    return _claims_with(d=True)


def nominal_confidence_taken_as_exact():
    return _claims_with(e=True)


def doubts_the_dp_cap_on_attacks():
    return _claims_with(f=False)


def supported_letters_as_a_set():
    return {"b", "f"}


def misses_a_statement():
    answer = audit_claims()
    del answer["f"]
    return answer


CATALOGUES = {
    "05.1": Catalogue(
        solution=tpr_at_low_fpr,
        variants=[tpr_at_low_fpr_sorted, tpr_at_low_fpr_list_members],
        mistakes=[quantile_threshold_strict, quantile_threshold, strict_fpr_limit, fpr_over_all_examples,
                  accuracy_instead, returns_fpr]),
    "05.2": Catalogue(
        solution=loss_attack_epsilon,
        variants=[loss_attack_epsilon_binomtest, loss_attack_epsilon_labkit_intervals],
        mistakes=[guessed_member_when_loss_strictly_below, guessed_member_for_high_loss,
                  measured_rates_without_confidence, optimistic_ends_of_the_intervals, one_sided_at_alpha_each,
                  forgot_delta, one_inequality_only, no_floor_at_zero, halved_alpha_twice,
                  normal_approximation_interval],
        degenerate=[returns_the_threshold]),
    "05.3": Catalogue(
        solution=audit_claims,
        variants=[audit_claims_numpy_bools_upper_case],
        mistakes=[failed_attack_proves_privacy, doubts_the_refutation, audit_catches_subtle_bugs,
                  lower_bound_below_confirms_the_accountant, nominal_confidence_taken_as_exact,
                  doubts_the_dp_cap_on_attacks, supported_letters_as_a_set, misses_a_statement]),
}


def test_wrong_answers_get_a_hint_that_names_the_mistake():
    assert_hints([
        ("05.1", quantile_threshold, "quantile"),
        ("05.1", strict_fpr_limit, "including exactly max_fpr"),
        ("05.2", measured_rates_without_confidence, "measured rates"),
        ("05.2", optimistic_ends_of_the_intervals, "optimistic ends"),
        ("05.2", one_sided_at_alpha_each, "alpha / 2"),
        ("05.2", guessed_member_when_loss_strictly_below, "strictly below"),
        ("05.2", halved_alpha_twice, "alpha / 4"),
        ("05.3", failed_attack_proves_privacy, "1 of your 6 answers is wrong: 1 you marked True"),
        ("05.3", doubts_the_refutation, "1 you marked False"),
    ])


def test_the_audit_claims_answer_matches_the_check():
    assert audit_claims() == AUDIT_CLAIMS


def test_epsilon_lower_bound_is_what_empirical_epsilon_reports():
    rng = np.random.default_rng(3)
    members = rng.random(600) < 0.5
    scores = rng.normal(size=600) + 1.2 * members
    result = audit.empirical_epsilon(scores, members, 1e-5, seed=4)
    pick = np.random.default_rng(4).random(600) < 0.5
    s, m = scores[~pick], members[~pick]
    guess = s >= result.threshold
    again = audit.epsilon_lower_bound(int(np.sum(guess & m)), int(m.sum()), int(np.sum(guess & ~m)), int((~m).sum()),
                                      1e-5, 0.05)
    assert again == result.epsilon
    assert again == loss_attack_epsilon(-s, m, -result.threshold, 1e-5, 0.05)


# ---------------------------------------------------------------------------------------------
# Build-then-save: the notebook's own definitions equal labkit's
# ---------------------------------------------------------------------------------------------


def test_the_notebooks_clopper_pearson_equals_labkits():
    from scipy.stats import beta

    cp = notebook_function("05", "clopper_pearson", {"np": np, "beta": beta})
    for k, n, alpha in [(0, 10, 0.05), (3, 10, 0.05), (10, 10, 0.05), (57, 1440, 0.1), (1, 1, 0.2), (500, 900, 0.01)]:
        assert np.allclose(cp(k, n, alpha), audit.clopper_pearson(k, n, alpha), rtol=1e-12, atol=0)


def test_the_notebooks_cross_entropy_equals_labkits():
    cross_entropy = notebook_function("05", "cross_entropy", {"np": np})
    rng = np.random.default_rng(5)
    for shape in [(30, 10), (4, 50, 3), (1, 2)]:
        logits = rng.normal(size=shape) * 20  # large logits: the log-sum-exp must not overflow
        labels = rng.integers(0, shape[-1], size=shape[-2])
        assert np.allclose(cross_entropy(logits, labels), audit.cross_entropy(logits, labels))


@pytest.mark.parametrize("k, n, coverage", [(16, 300, 0.5), (4, 50, 0.5), (3, 40, 0.9)])
def test_the_notebooks_lira_scores_equal_labkits(k, n, coverage):
    lira = notebook_function("05", "lira", {"np": np})
    rng = np.random.default_rng(k * n)
    inn = rng.random((k, n)) < coverage  # with coverage 0.9 some examples are in every shadow model
    conf = rng.normal(size=(k, n)) + 2.0 * inn
    target = rng.normal(size=n)
    assert np.allclose(lira(target, conf, inn), audit.lira_scores(target, conf, inn))
