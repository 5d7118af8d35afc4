"""Exercise checks of notebook 10 reject the stub, typical wrong answers, constants, ``None`` and answers that
return their input, and accept the solutions and correct variants (other dtypes, a list, another loop)."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import assert_check_proven, assert_hints, returns_first_input, returns_none

from labkit.exercises import check


# -- 10.1 encrypted default risk (CKKS) ---------------------------------------------------------


def risk_solution(columns, weights, bias, sigmoid_coef):
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias).polyval([float(c) for c in sigmoid_coef])


def risk_scores_only(columns, weights, bias, sigmoid_coef):  # wrong: forgot the sigmoid
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias)


def risk_reversed(columns, weights, bias, sigmoid_coef):  # wrong: coefficients from the highest power down
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias).polyval([float(c) for c in sigmoid_coef[::-1]])


def risk_no_bias(columns, weights, bias, sigmoid_coef):  # wrong: bias left out of the sigmoid
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, 0.0).polyval([float(c) for c in sigmoid_coef])


def risk_plaintext(columns, weights, bias, sigmoid_coef):  # wrong: a plaintext constant, nothing encrypted
    return np.zeros(40)


def risk_first_column(columns, weights, bias, sigmoid_coef):  # wrong: returns one encrypted input unchanged
    return columns[0]


@pytest.mark.slow
def test_10_1_accepts_solution_and_rejects_wrong_answers():
    assert_check_proven("10.1", risk_solution,
                        [risk_scores_only, risk_reversed, risk_no_bias, risk_plaintext, risk_first_column,
                         returns_none, returns_first_input])
    assert "polyval" in check("10.1", risk_scores_only).feedback
    assert "wrong order" in check("10.1", risk_reversed).feedback
    assert "bias" in check("10.1", risk_no_bias).feedback
    assert "CKKS vector" in check("10.1", risk_plaintext).feedback


# -- 10.2 DP counts of purchases by category ------------------------------------------------------


def _clipped_counts(user_ids, categories, num_categories, max_per_user):
    """Purchases per category, keeping each user's first ``max_per_user`` (the solution's clipping)."""
    seen, counts = {}, np.zeros(num_categories)
    for u, c in zip(np.asarray(user_ids).tolist(), np.asarray(categories).tolist()):
        if seen.get(u, 0) < max_per_user:
            counts[c] += 1
            seen[u] = seen.get(u, 0) + 1
    return counts


def counts_solution(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    from labkit.dp import laplace_mechanism

    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return laplace_mechanism(counts, max_per_user, epsilon, rng)


def counts_list_float32(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # right: a list, float32
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user).astype(np.int64)
    return [np.float32(c + rng.laplace(0.0, max_per_user / epsilon)) for c in counts]


def counts_vectorised_exponentials(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    # Right: another loop (rank of each purchase within its user, vectorised) and Laplace noise drawn as the
    # difference of two exponentials, a different random stream with the same distribution.
    users = np.asarray(user_ids)
    rank = np.zeros(len(users), dtype=np.int64)
    for u in np.unique(users):
        where = np.flatnonzero(users == u)
        rank[where] = np.arange(len(where))
    counts = np.bincount(np.asarray(categories)[rank < max_per_user], minlength=num_categories)
    scale = max_per_user / epsilon
    return counts + rng.exponential(scale, num_categories) - rng.exponential(scale, num_categories)


def counts_unclipped(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # wrong: no clipping
    counts = np.bincount(categories, minlength=num_categories).astype(float)
    return counts + rng.laplace(0, max_per_user / epsilon, num_categories)


def counts_sensitivity_one(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # wrong: scale 1/eps
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts + rng.laplace(0, 1 / epsilon, num_categories)


def counts_noiseless(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # wrong: no noise
    return _clipped_counts(user_ids, categories, num_categories, max_per_user)


def counts_gaussian_same_std(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    # Wrong: Gaussian noise with the Laplace standard deviation sqrt(2) * k / eps; no pure epsilon-DP.
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts + rng.normal(0, np.sqrt(2) * max_per_user / epsilon, num_categories)


def counts_one_shared_draw(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    # Wrong: one Laplace draw added to every count (rng.laplace without size); the noise cannot hide a user
    # who moves one count up and another down.
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts + rng.laplace(0, max_per_user / epsilon)


def counts_scale_inverted(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # wrong: eps / k
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts + rng.laplace(0, epsilon / max_per_user, num_categories)


def counts_constant(user_ids, categories, num_categories, max_per_user, epsilon, rng):  # wrong: a constant
    return np.full(num_categories, 10.0)


COUNTS_WRONG = [counts_unclipped, counts_sensitivity_one, counts_noiseless, counts_gaussian_same_std,
                counts_one_shared_draw, counts_scale_inverted, counts_constant, returns_none, returns_first_input]


@pytest.mark.parametrize("solution", [counts_solution, counts_list_float32, counts_vectorised_exponentials])
def test_10_2_accepts_solutions_and_rejects_wrong_answers(solution):
    assert_check_proven("10.2", solution, COUNTS_WRONG)


HINTS_10_2 = [
    ("10.2", counts_unclipped, "cut to"),
    ("10.2", counts_sensitivity_one, "sensitivity is 3"),
    ("10.2", counts_noiseless, "noisy"),
    # Erratum 16: Gaussian noise with the Laplace spread used to pass.
    ("10.2", counts_gaussian_same_std, "Gaussian noise gives no pure epsilon-DP"),
    ("10.2", counts_one_shared_draw, "independent noise for every count"),
    ("10.2", returns_first_input, "shape (5,)"),
]


def test_10_2_hints_name_the_mistake():
    assert_hints(HINTS_10_2)


# -- 10.3 the worst patient's epsilon -------------------------------------------------------------


def eps_solution(sizes, batch_size, noise_multipliers, epochs, delta):
    from labkit.dp import dpsgd_epsilon

    return max(dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers))


def eps_numpy_float32(sizes, batch_size, noise_multipliers, epochs, delta):  # right: np.max, float32
    from labkit.dp import dpsgd_epsilon

    per = [dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(list(sizes), list(noise_multipliers))]
    return np.float32(np.max(np.asarray(per)))


def eps_pooled(sizes, batch_size, noise_multipliers, epochs, delta):  # wrong: q = batch / all records
    from labkit.dp import dpsgd_epsilon

    return dpsgd_epsilon(sum(sizes), batch_size, min(noise_multipliers), epochs, delta)


def eps_mean(sizes, batch_size, noise_multipliers, epochs, delta):  # wrong: the average hides the worst
    from labkit.dp import dpsgd_epsilon

    return float(np.mean([dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers)]))


def eps_sum(sizes, batch_size, noise_multipliers, epochs, delta):  # wrong: composes across hospitals
    from labkit.dp import dpsgd_epsilon

    return sum(dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers))


def eps_constant(sizes, batch_size, noise_multipliers, epochs, delta):  # wrong: the capstone's target
    return 3.0


@pytest.mark.parametrize("solution", [eps_solution, eps_numpy_float32])
def test_10_3_accepts_solutions_and_rejects_wrong_answers(solution):
    assert_check_proven("10.3", solution, [eps_pooled, eps_mean, eps_sum, eps_constant, returns_none,
                                           returns_first_input])


HINTS_10_3 = [
    ("10.3", eps_pooled, "pooled"),
    ("10.3", eps_mean, "average"),
    ("10.3", eps_sum, "do not add"),
]


def test_10_3_hints_name_the_mistake():
    assert_hints(HINTS_10_3)
