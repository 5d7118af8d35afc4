"""Exercise checks of notebook 10 reject the stub and typical wrong answers, and accept the solutions."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.exercises import check


def stub(*args, **kwargs):
    raise NotImplementedError


# -- 10.1 encrypted default risk (CKKS) ---------------------------------------------------------


def risk_solution(columns, weights, bias, sigmoid_coef):
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias).polyval([float(c) for c in sigmoid_coef])


def risk_scores_only(columns, weights, bias, sigmoid_coef):
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias)


def risk_reversed(columns, weights, bias, sigmoid_coef):
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, bias).polyval([float(c) for c in sigmoid_coef[::-1]])


def risk_no_bias(columns, weights, bias, sigmoid_coef):
    from labkit.he.ckks import encrypted_logits

    return encrypted_logits(columns, weights, 0.0).polyval([float(c) for c in sigmoid_coef])


def risk_plaintext(columns, weights, bias, sigmoid_coef):
    return np.zeros(40)


@pytest.mark.slow
def test_10_1_accepts_solution_and_rejects_wrong_answers():
    assert check("10.1", risk_solution).passed
    assert "Not attempted" in check("10.1", stub).feedback
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


def counts_unclipped(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    counts = np.bincount(categories, minlength=num_categories).astype(float)
    return counts + rng.laplace(0, max_per_user / epsilon, num_categories)


def counts_sensitivity_one(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts + rng.laplace(0, 1 / epsilon, num_categories)


def counts_noiseless(user_ids, categories, num_categories, max_per_user, epsilon, rng):
    counts = _clipped_counts(user_ids, categories, num_categories, max_per_user)
    return counts


def test_10_2_accepts_solution_and_rejects_wrong_answers():
    assert check("10.2", counts_solution).passed
    assert "Not attempted" in check("10.2", stub).feedback
    assert "cut to" in check("10.2", counts_unclipped).feedback
    assert "sensitivity is 3" in check("10.2", counts_sensitivity_one).feedback
    assert "noisy" in check("10.2", counts_noiseless).feedback


# -- 10.3 the worst patient's epsilon -------------------------------------------------------------


def eps_solution(sizes, batch_size, noise_multipliers, epochs, delta):
    from labkit.dp import dpsgd_epsilon

    return max(dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers))


def eps_pooled(sizes, batch_size, noise_multipliers, epochs, delta):
    from labkit.dp import dpsgd_epsilon

    return dpsgd_epsilon(sum(sizes), batch_size, min(noise_multipliers), epochs, delta)


def eps_mean(sizes, batch_size, noise_multipliers, epochs, delta):
    from labkit.dp import dpsgd_epsilon

    return float(np.mean([dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers)]))


def eps_sum(sizes, batch_size, noise_multipliers, epochs, delta):
    from labkit.dp import dpsgd_epsilon

    return sum(dpsgd_epsilon(n, batch_size, s, epochs, delta) for n, s in zip(sizes, noise_multipliers))


def test_10_3_accepts_solution_and_rejects_wrong_answers():
    assert check("10.3", eps_solution).passed
    assert "Not attempted" in check("10.3", stub).feedback
    assert "pooled" in check("10.3", eps_pooled).feedback
    assert "average" in check("10.3", eps_mean).feedback
    assert "do not add" in check("10.3", eps_sum).feedback
