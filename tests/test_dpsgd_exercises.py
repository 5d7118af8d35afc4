"""Exercises 04.x: each check rejects the stub and a typical wrong answer, and accepts the solution."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import assert_check_proven

from labkit.exercises import check


def clip_rows(grads, clip):
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


def clip_rows_to_exactly_c(grads, clip):  # wrong: rescales short rows up to norm C
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * clip / np.maximum(norms, 1e-12)


def clip_the_whole_batch(grads, clip):  # wrong: clips the matrix, not each row
    return grads * min(1.0, clip / np.linalg.norm(grads))


def valid_microbatches(num_examples, batch_size):
    last = num_examples % batch_size
    return [m for m in range(1, batch_size + 1) if batch_size % m == 0 and (last == 0 or last % m == 0)]


def divisors_of_batch(num_examples, batch_size):  # wrong: forgets the last batch
    return [m for m in range(1, batch_size + 1) if batch_size % m == 0]


def dp_mean_purchase(amounts, clip, noise_multiplier, rng):
    clipped = np.clip(amounts, 0, clip)
    return (clipped.sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_no_clip(amounts, clip, noise_multiplier, rng):  # wrong: no clipping
    return (np.sum(amounts) + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_noise_not_divided(amounts, clip, noise_multiplier, rng):  # wrong: noise added after dividing
    return np.clip(amounts, 0, clip).mean() + rng.normal(0, noise_multiplier * clip)


@pytest.mark.parametrize("exercise,solution,wrongs", [
    ("04.1", clip_rows, [clip_rows_to_exactly_c, clip_the_whole_batch]),
    ("04.2", valid_microbatches, [divisors_of_batch]),
    ("04.3", dp_mean_purchase, [dp_mean_no_clip, dp_mean_noise_not_divided]),
])
def test_checks_reject_stub_and_wrong_answers_and_accept_the_solution(exercise, solution, wrongs):
    assert_check_proven(exercise, solution, wrongs)


def test_wrong_answers_get_a_hint_that_names_the_mistake():
    assert "min(1, C / ||g||)" in check("04.1", clip_rows_to_exactly_c).feedback
    assert "last batch" in check("04.2", divisors_of_batch).feedback
    assert "clip each amount" in check("04.3", dp_mean_no_clip).feedback
