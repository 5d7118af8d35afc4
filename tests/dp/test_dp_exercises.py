"""Exercises 01.1-03.2: each check rejects the stub, every typical wrong answer (named for its
mistake), answers that return a constant, None or one of their inputs, and accepts the solution
and its variants (other dtypes, another loop)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.special import log_ndtr, ndtr
from scipy.stats import norm

from exercise_proof import assert_accepted, assert_hints, constant_for, returns_input, returns_none
from labkit.exercises import check


def stub(*args):
    raise NotImplementedError


# ---------------------------------------------------------------- 01.1 share of unique records


def unique_share(keys):
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse] == 1))


def unique_share_float32(keys):
    return np.float32(unique_share(keys))


def unique_share_counter(keys):
    counts = Counter(np.asarray(keys).tolist())
    return sum(counts[k] == 1 for k in np.asarray(keys).tolist()) / len(keys)


def distinct_keys_share(keys):  # distinct keys instead of records with a unique key
    return len(np.unique(keys)) / len(keys)


def unique_count_not_share(keys):  # forgot to divide by the number of records
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return int(np.sum(counts[inverse] == 1))


def share_of_distinct_keys_seen_once(keys):  # divided by the number of distinct keys, not of records
    counts = np.unique(keys, return_counts=True)[1]
    return float(np.mean(counts == 1))


def duplicated_share(keys):  # the complement: records that share their key
    return 1.0 - unique_share(keys)


# ---------------------------------------------------------------- 01.2 k-anonymity


def k_anonymity(keys):
    return int(np.unique(keys, return_counts=True)[1].min())


def k_anonymity_int64(keys):
    return np.unique(keys, return_counts=True)[1].min()  # numpy.int64


def k_anonymity_loop(keys):
    return min(Counter(np.asarray(keys).tolist()).values())


def largest_group(keys):  # max instead of min
    return int(np.unique(keys, return_counts=True)[1].max())


def number_of_groups(keys):  # counted the groups, not their sizes
    return int(np.unique(keys).size)


def smallest_key_value(keys):  # the smallest key, not the smallest group
    return int(np.min(keys))


def mean_group_size(keys):  # average group size
    return float(np.unique(keys, return_counts=True)[1].mean())


# ---------------------------------------------------------------- 02.1 the Laplace mechanism


def laplace(value, sensitivity, epsilon, rng):
    return value + rng.laplace(0.0, sensitivity / epsilon)


def laplace_float32(value, sensitivity, epsilon, rng):
    return np.float32(laplace(value, sensitivity, epsilon, rng))


def laplace_from_exponentials(value, sensitivity, epsilon, rng):  # another construction
    b = sensitivity / epsilon
    return value + rng.exponential(b) - rng.exponential(b)


def laplace_wrong_scale(value, sensitivity, epsilon, rng):  # epsilon / sensitivity
    return value + rng.laplace(0.0, epsilon / sensitivity)


def laplace_gaussian(value, sensitivity, epsilon, rng):  # Gaussian noise of the same variance
    return value + rng.normal(0.0, math.sqrt(2) * sensitivity / epsilon)


def laplace_forgot_sensitivity(value, sensitivity, epsilon, rng):  # scale 1 / epsilon
    return value + rng.laplace(0.0, 1 / epsilon)


def laplace_one_sided(value, sensitivity, epsilon, rng):  # only positive noise
    return value + rng.exponential(sensitivity / epsilon)


def laplace_times_epsilon(value, sensitivity, epsilon, rng):  # scale sensitivity * epsilon
    return value + rng.laplace(0.0, sensitivity * epsilon)


# ---------------------------------------------------------------- 02.2 randomized-response estimate


def _p(epsilon):
    return math.exp(epsilon) / (1 + math.exp(epsilon))


def rr(responses, epsilon):
    p = _p(epsilon)
    return (np.mean(responses) - (1 - p)) / (2 * p - 1)  # numpy.float64


def rr_float32(responses, epsilon):
    return np.float32(rr(responses, epsilon))


def rr_from_counts(responses, epsilon):
    p, ones = _p(epsilon), int(np.sum(responses))
    return (ones / len(responses) - (1 - p)) / (2 * p - 1)


def rr_raw_mean(responses, epsilon):  # the share of 1s in the reports
    return float(np.mean(responses))


def rr_forgot_to_rescale(responses, epsilon):  # subtracted 1 - p but did not divide by 2p - 1
    return float(np.mean(responses) - (1 - _p(epsilon)))


def rr_swapped_p(responses, epsilon):  # used the lying probability as the truthful one
    p = 1 - _p(epsilon)
    return float((np.mean(responses) - (1 - p)) / (2 * p - 1))


def rr_p_is_e_to_the_epsilon(responses, epsilon):  # p = e^eps / 2, not e^eps / (1 + e^eps)
    p = math.exp(epsilon) / 2
    return float((np.mean(responses) - (1 - p)) / (2 * p - 1))


# ---------------------------------------------------------------- 02.3 clipped-sum sensitivity


def sum_sensitivity(lower, upper):
    return max(abs(lower), abs(upper))


def sum_sensitivity_int64(lower, upper):
    return np.int64(np.max(np.abs([lower, upper])))


def sum_sensitivity_float(lower, upper):
    return float(max(-lower, upper))


def replace_one_width(lower, upper):  # upper - lower bounds replacing a record
    return upper - lower


def upper_only(lower, upper):  # forgot that negative records move the sum too
    return abs(upper)


def max_without_abs(lower, upper):  # max(lower, upper) without absolute values
    return max(lower, upper)


def sum_of_bounds(lower, upper):  # |lower| + |upper|
    return abs(lower) + abs(upper)


# ---------------------------------------------------------------- 03.1 exact Gaussian delta


def real_delta(sigma, eps):
    a, b = 1 / (2 * sigma), eps * sigma
    return float(norm.cdf(a - b) - math.exp(eps) * norm.cdf(-a - b))


def real_delta_log_space(sigma, eps):
    a, b = 1 / (2 * sigma), eps * sigma
    return np.float64(ndtr(a - b) - np.exp(eps + log_ndtr(-a - b)))


def real_delta_float32(sigma, eps):
    return np.float32(real_delta(sigma, eps))


def classic_bound_delta(sigma, eps):  # the classic bound's delta, not the exact one
    return 1.25 * math.exp(-((eps * sigma) ** 2) / 2)


def forgot_e_to_the_epsilon(sigma, eps):  # dropped the e^eps factor of the second term
    a, b = 1 / (2 * sigma), eps * sigma
    return float(norm.cdf(a - b) - norm.cdf(-a - b))


def first_term_only(sigma, eps):  # Pr[privacy loss > eps] without the correction term
    a, b = 1 / (2 * sigma), eps * sigma
    return float(norm.cdf(a - b))


def sigma_not_inverted(sigma, eps):  # wrote sigma / 2 and eps / sigma
    a, b = sigma / 2, eps / sigma
    return float(norm.cdf(a - b) - math.exp(eps) * norm.cdf(-a - b))


# ---------------------------------------------------------------- 03.2 epochs for a budget


def epochs(target, n, b, sigma, delta):
    from labkit.dp import dpsgd_epsilon

    e = 0
    while dpsgd_epsilon(n, b, sigma, e + 1, delta) <= target:
        e += 1
    return e


def epochs_int64(target, n, b, sigma, delta):  # erratum 16: was rejected
    return np.int64(epochs(target, n, b, sigma, delta))


def epochs_integral_float(target, n, b, sigma, delta):
    return float(epochs(target, n, b, sigma, delta))


def epochs_by_bisection(target, n, b, sigma, delta):
    from labkit.dp import dpsgd_epsilon

    lo, hi = 0, 1
    while dpsgd_epsilon(n, b, sigma, hi, delta) <= target:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if dpsgd_epsilon(n, b, sigma, mid, delta) <= target else (lo, mid)
    return lo


def epochs_off_by_one(target, n, b, sigma, delta):  # the first epoch count that exceeds the budget
    return epochs(target, n, b, sigma, delta) + 1


def epochs_one_short(target, n, b, sigma, delta):  # stopped one epoch early (< instead of <=)
    return max(epochs(target, n, b, sigma, delta) - 1, 0)


def epochs_with_pld(target, n, b, sigma, delta):  # the PLD accountant instead of RDP
    from labkit.dp import dpsgd_epsilon

    e = 0
    while dpsgd_epsilon(n, b, sigma, e + 1, delta, accountant="pld") <= target:
        e += 1
    return e


def epochs_fractional(target, n, b, sigma, delta):  # a fractional number of epochs
    return epochs(target, n, b, sigma, delta) + 0.5


def epochs_linear_in_budget(target, n, b, sigma, delta):  # assumed epsilon grows linearly in epochs
    from labkit.dp import dpsgd_epsilon

    return int(target // dpsgd_epsilon(n, b, sigma, 1, delta))


# ---------------------------------------------------------------- answers every check must reject


# exercise: (solution, correct variants, typical wrong answers, number of inputs, constants)
CASES = {
    "01.1": (unique_share, [unique_share_float32, unique_share_counter],
             [distinct_keys_share, unique_count_not_share, share_of_distinct_keys_seen_once, duplicated_share],
             1, [0.0, 0.5, 1.0]),
    "01.2": (k_anonymity, [k_anonymity_int64, k_anonymity_loop],
             [largest_group, number_of_groups, smallest_key_value, mean_group_size],
             1, [0, 1, 2]),
    "02.1": (laplace, [laplace_float32, laplace_from_exponentials],
             [laplace_wrong_scale, laplace_gaussian, laplace_forgot_sensitivity, laplace_one_sided,
              laplace_times_epsilon],
             4, [0.0, 10.0]),
    "02.2": (rr, [rr_float32, rr_from_counts],
             [rr_raw_mean, rr_forgot_to_rescale, rr_swapped_p, rr_p_is_e_to_the_epsilon],
             2, [0.0, 0.3, 0.5]),
    "02.3": (sum_sensitivity, [sum_sensitivity_int64, sum_sensitivity_float],
             [replace_one_width, upper_only, max_without_abs, sum_of_bounds],
             2, [1, 5, 10]),
    "03.1": (real_delta, [real_delta_log_space, real_delta_float32],
             [classic_bound_delta, forgot_e_to_the_epsilon, first_term_only, sigma_not_inverted],
             2, [0.0, 1e-5]),
    "03.2": (epochs, [epochs_int64, epochs_integral_float, epochs_by_bisection],
             [epochs_off_by_one, epochs_one_short, epochs_with_pld, epochs_fractional, epochs_linear_in_budget],
             5, [0, 1, 10, 60]),
}


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_accepts_the_solution_and_its_variants(exercise):
    solution, variants, _, _, _ = CASES[exercise]
    assert_accepted(exercise, [solution, *variants])


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_rejects_the_stub_and_every_typical_wrong_answer(exercise):
    _, _, wrongs, _, _ = CASES[exercise]
    assert len(wrongs) >= 3
    assert "Not attempted" in check(exercise, stub).feedback
    for wrong in wrongs:
        result = check(exercise, wrong)
        assert not result.passed, f"{exercise} accepted {wrong.__name__}"
        assert result.feedback and "Your code raised" not in result.feedback, (wrong.__name__, result.feedback)


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_rejects_none_its_inputs_and_constants(exercise):
    _, _, _, arity, constants = CASES[exercise]
    for answer in [returns_none, *map(returns_input, range(arity)), *map(constant_for, constants)]:
        result = check(exercise, answer)
        assert not result.passed, f"{exercise} accepted {answer.__name__}"
        assert "Your code raised" not in result.feedback, (answer.__name__, result.feedback)


HINTS = [
    ("01.1", distinct_keys_share, "not distinct keys"),
    ("01.1", unique_count_not_share, "not a count"),
    ("01.2", largest_group, "smallest group"),
    ("02.1", laplace_gaussian, "Gaussian"),
    ("02.2", rr_raw_mean, "share of 1s"),
    ("02.3", replace_one_width, "replacing"),
    ("03.2", epochs_fractional, "whole number"),
    ("03.2", epochs_off_by_one, "spend more than the budget"),
    ("03.2", epochs_one_short, "still fit"),
]


def test_the_hints_name_the_mistake():
    assert_hints(HINTS)
