"""Every check of notebooks 01-03 rejects the stub and a typical wrong answer, and accepts the solution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from labkit.exercises import check


def stub(*args, **kwargs):
    raise NotImplementedError


def unique_share(keys):
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse] == 1))


def unique_share_wrong(keys):  # distinct keys instead of records with a unique key
    return len(np.unique(keys)) / len(keys)


def k_anon(keys):
    return int(np.unique(keys, return_counts=True)[1].min())


def k_anon_wrong(keys):
    return int(np.unique(keys, return_counts=True)[1].max())


def laplace(value, sensitivity, epsilon, rng):
    return value + rng.laplace(0.0, sensitivity / epsilon)


def laplace_wrong_scale(value, sensitivity, epsilon, rng):
    return value + rng.laplace(0.0, epsilon / sensitivity)


def laplace_gaussian(value, sensitivity, epsilon, rng):
    return value + rng.normal(0.0, math.sqrt(2) * sensitivity / epsilon)


def rr(responses, epsilon):
    p = math.exp(epsilon) / (1 + math.exp(epsilon))
    return (np.mean(responses) - (1 - p)) / (2 * p - 1)


def rr_wrong(responses, epsilon):
    return float(np.mean(responses))


def sum_sens(lower, upper):
    return max(abs(lower), abs(upper))


def sum_sens_wrong(lower, upper):
    return upper - lower


def real_delta(sigma, eps):
    a, b = 1 / (2 * sigma), eps * sigma
    return float(norm.cdf(a - b) - math.exp(eps) * norm.cdf(-a - b))


def real_delta_wrong(sigma, eps):  # the classic bound's delta, not the exact one
    return 1.25 * math.exp(-((eps * sigma) ** 2) / 2)


def epochs(target, n, b, sigma, delta):
    from labkit.dp import dpsgd_epsilon

    e = 0
    while dpsgd_epsilon(n, b, sigma, e + 1, delta) <= target:
        e += 1
    return e


def epochs_off_by_one(target, n, b, sigma, delta):
    return epochs(target, n, b, sigma, delta) + 1


CASES = [
    ("01.1", unique_share, [unique_share_wrong]),
    ("01.2", k_anon, [k_anon_wrong]),
    ("02.1", laplace, [laplace_wrong_scale, laplace_gaussian]),
    ("02.2", rr, [rr_wrong]),
    ("02.3", sum_sens, [sum_sens_wrong]),
    ("03.1", real_delta, [real_delta_wrong]),
    ("03.2", epochs, [epochs_off_by_one]),
]


@pytest.mark.parametrize("exercise, solution, wrongs", CASES, ids=[c[0] for c in CASES])
def test_check_rejects_stub_and_wrong_and_accepts_solution(exercise, solution, wrongs):
    assert not check(exercise, stub)
    for wrong in wrongs:
        result = check(exercise, wrong)
        assert not result, f"{exercise} accepted {wrong.__name__}"
        assert "not yet" in repr(result)
    result = check(exercise, solution)
    assert result, repr(result)
