"""Exercises 05.x: each check rejects the stub and a typical wrong answer, and accepts the solution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercise_proof import assert_check_proven

from labkit.exercises import check


def tpr_at_low_fpr(scores, members, max_fpr):
    best = 0.0
    neg, pos = scores[~members], scores[members]
    for t in np.unique(scores):
        if np.mean(neg >= t) <= max_fpr:
            best = max(best, float(np.mean(pos >= t)))
    return best


def tpr_at_quantile(scores, members, max_fpr):  # wrong: threshold at the (1 - fpr) quantile, off by ties/interp
    t = np.quantile(scores[~members], 1 - max_fpr)
    return float(np.mean(scores[members] > t)) * 0.98


def accuracy_instead(scores, members, max_fpr):  # wrong: reports accuracy at threshold 0
    return float(np.mean((scores > 0) == members))


def epsilon_from_rates(tpr, fpr, delta):
    best = 0.0
    if fpr > 0 and tpr > delta:
        best = max(best, math.log((tpr - delta) / fpr))
    if tpr < 1 and 1 - fpr > delta:
        best = max(best, math.log((1 - fpr - delta) / (1 - tpr)))
    return best


def one_sided(tpr, fpr, delta):  # wrong: forgets the complementary inequality
    return max(0.0, math.log((tpr - delta) / fpr)) if tpr > delta else 0.0


def ignores_delta(tpr, fpr, delta):  # wrong: no delta
    return max(0.0, math.log(tpr / fpr), math.log((1 - fpr) / (1 - tpr)))


@pytest.mark.parametrize("exercise,solution,wrongs", [
    ("05.1", tpr_at_low_fpr, [tpr_at_quantile, accuracy_instead]),
    ("05.2", epsilon_from_rates, [one_sided, ignores_delta]),
])
def test_checks_reject_stub_and_wrong_answers_and_accept_the_solution(exercise, solution, wrongs):
    assert_check_proven(exercise, solution, wrongs)


def test_wrong_answers_get_a_hint_that_names_the_mistake():
    assert "other inequality" in check("05.2", one_sided).feedback
    assert "subtract delta" in check("05.2", ignores_delta).feedback
