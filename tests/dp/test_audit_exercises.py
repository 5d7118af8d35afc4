"""Exercises 05.x: each check rejects the stub, every typical wrong answer (each named for its mistake),
answers that return a constant, None or their input, and accepts the solution and its correct variants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercise_proof import assert_check_proven, assert_accepted, returns_none, returns_first_input

from labkit.exercises import check


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
# 05.2 epsilon_from_rates(tpr, fpr, delta)
# ---------------------------------------------------------------------------------------------


def epsilon_from_rates(tpr, fpr, delta):
    best = 0.0
    if fpr > 0 and tpr > delta:
        best = max(best, math.log((tpr - delta) / fpr))
    if tpr < 1 and 1 - fpr > delta:
        best = max(best, math.log((1 - fpr - delta) / (1 - tpr)))
    return best


def epsilon_from_rates_numpy(tpr, fpr, delta):  # correct variant: NumPy, returns np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.log(np.array([(tpr - delta) / fpr, (1 - fpr - delta) / (1 - tpr)]))
    return np.float32(np.nanmax(np.r_[0.0, bounds]))


def one_sided(tpr, fpr, delta):  # wrong: forgets the complementary inequality
    return max(0.0, math.log((tpr - delta) / fpr)) if tpr > delta else 0.0


def ignores_delta(tpr, fpr, delta):  # wrong: no delta in either inequality
    return max(0.0, math.log(tpr / fpr), math.log((1 - fpr) / (1 - tpr)))


def drops_delta_in_second(tpr, fpr, delta):  # wrong: subtracts delta in the first inequality only
    return max(0.0, math.log((tpr - delta) / fpr), math.log((1 - fpr) / (1 - tpr)))


def adds_delta(tpr, fpr, delta):  # wrong: delta with the wrong sign
    return max(0.0, math.log((tpr + delta) / fpr), math.log((1 - fpr + delta) / (1 - tpr)))


def no_floor_at_zero(tpr, fpr, delta):  # wrong: returns a negative "bound" when the rates prove nothing
    return max(math.log((tpr - delta) / fpr), math.log((1 - fpr - delta) / (1 - tpr)))


def ratio_without_log(tpr, fpr, delta):  # wrong: e^eps instead of eps
    return max(1.0, (tpr - delta) / fpr, (1 - fpr - delta) / (1 - tpr))


EPS_WRONG = [one_sided, ignores_delta, drops_delta_in_second, adds_delta, no_floor_at_zero, ratio_without_log]


# ---------------------------------------------------------------------------------------------
# Answers that cannot be right for any exercise
# ---------------------------------------------------------------------------------------------


def constant_half(*args):
    return 0.5


def constant_log_50(*args):
    return math.log(50)


DEGENERATE = [constant_half, constant_log_50, returns_none, returns_first_input]


@pytest.mark.parametrize("exercise,solution,wrongs", [
    ("05.1", tpr_at_low_fpr, TPR_WRONG + DEGENERATE),
    ("05.2", epsilon_from_rates, EPS_WRONG + DEGENERATE),
])
def test_checks_reject_stub_and_wrong_answers_and_accept_the_solution(exercise, solution, wrongs):
    assert_check_proven(exercise, solution, wrongs)


@pytest.mark.parametrize("exercise,variant", [
    ("05.1", tpr_at_low_fpr_sorted),
    ("05.1", tpr_at_low_fpr_list_members),
    ("05.2", epsilon_from_rates_numpy),
])
def test_checks_accept_correct_variants(exercise, variant):
    assert_accepted(exercise, [variant])


@pytest.mark.parametrize("exercise,wrong,words", [
    ("05.1", quantile_threshold, "quantile"),
    ("05.1", strict_fpr_limit, "including exactly max_fpr"),
    ("05.1", returns_none, "returned None"),
    ("05.1", returns_first_input, "one number"),
    ("05.2", one_sided, "other inequality"),
    ("05.2", ignores_delta, "subtract delta"),
    ("05.2", drops_delta_in_second, "subtract delta in the other inequality too"),
    ("05.2", no_floor_at_zero, "return 0"),
    ("05.2", returns_none, "returned None"),
])
def test_wrong_answers_get_a_hint_that_names_the_mistake(exercise, wrong, words):
    assert words in check(exercise, wrong).feedback
