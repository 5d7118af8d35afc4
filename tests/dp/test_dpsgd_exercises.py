"""Exercises 04.x: each check rejects the stub, the typical wrong answers (named for their mistake) and
answers that return a constant, None or their input; it accepts the solution and correct variants."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import assert_accepted, assert_check_proven, assert_hints


# --- 04.1 clip_rows(grads, clip) ------------------------------------------------------------


def clip_rows(grads, clip):
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


def clip_rows_loop_float32(grads, clip):  # correct variant: a loop, float32 rows, a list of lists
    out = []
    for row in np.asarray(grads, dtype=np.float32):
        norm = float(np.linalg.norm(row))
        out.append(list(row * min(1.0, clip / norm)) if norm > 0 else list(row))
    return out


def clip_rows_to_exactly_c(grads, clip):  # wrong: rescales short rows up to norm C
    norms = np.linalg.norm(grads, axis=1, keepdims=True)
    return grads * clip / np.maximum(norms, 1e-12)


def clip_the_whole_batch(grads, clip):  # wrong: clips the matrix, not each row
    return grads * min(1.0, clip / np.linalg.norm(grads))


def clip_each_coordinate(grads, clip):  # wrong: clips values, not the L2 norm of the row
    return np.clip(grads, -clip, clip)


def clip_by_squared_norm(grads, clip):  # wrong: divides by ||g||^2 instead of ||g||
    sq = np.sum(grads**2, axis=1, keepdims=True)
    return grads * np.minimum(1.0, clip / np.maximum(sq, 1e-12))


def clip_rows_forgot_keepdims(grads, clip):  # wrong: norms of shape (n,) broadcast against the columns
    norms = np.linalg.norm(grads, axis=1)
    return grads * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


# --- 04.2 valid_microbatches(num_examples, batch_size) --------------------------------------


def valid_microbatches(num_examples, batch_size):
    last = num_examples % batch_size
    return [m for m in range(1, batch_size + 1) if batch_size % m == 0 and (last == 0 or last % m == 0)]


def valid_microbatches_array(num_examples, batch_size):  # correct variant: an np.int64 array, descending
    last = num_examples % batch_size
    ms = [m for m in range(batch_size, 0, -1) if batch_size % m == 0 and last % m == 0]
    return np.array(ms, dtype=np.int64)


def divisors_of_batch(num_examples, batch_size):  # wrong: forgets the last batch
    return [m for m in range(1, batch_size + 1) if batch_size % m == 0]


def divisors_of_data(num_examples, batch_size):  # wrong: divides the data size instead of each batch
    return [m for m in range(1, batch_size + 1) if num_examples % m == 0]


def only_one_per_example(num_examples, batch_size):  # wrong: only the count that TFP's default uses
    return [batch_size]


# --- 04.3 dp_mean_purchase(amounts, clip, noise_multiplier, rng) ---------------------------


def dp_mean_purchase(amounts, clip, noise_multiplier, rng):
    clipped = np.clip(amounts, 0, clip)
    return (clipped.sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_purchase_loop_float32(amounts, clip, noise_multiplier, rng):  # correct variant: a loop, np.float32
    total = 0.0
    for a in list(amounts):
        total += min(max(float(a), 0.0), clip)
    return np.float32((total + rng.normal(0.0, noise_multiplier * clip)) / len(amounts))


def dp_mean_drop_refunds(amounts, clip, noise_multiplier, rng):  # correct variant: refunds count as 0
    positive = np.minimum([a for a in amounts if a > 0], clip)
    return (np.sum(positive) + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_no_clip(amounts, clip, noise_multiplier, rng):  # wrong: no clipping
    return (np.sum(amounts) + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_clip_from_above_only(amounts, clip, noise_multiplier, rng):  # wrong: refunds unbounded below
    return (np.minimum(amounts, clip).sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_symmetric_clip(amounts, clip, noise_multiplier, rng):  # wrong: [-clip, clip] doubles the sensitivity
    return (np.clip(amounts, -clip, clip).sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def dp_mean_over_kept_rows(amounts, clip, noise_multiplier, rng):  # wrong: drops refunds, divides by fewer rows
    kept = np.minimum([a for a in amounts if a > 0], clip)
    return (np.sum(kept) + rng.normal(0, noise_multiplier * clip)) / len(kept)


def dp_mean_noise_not_divided(amounts, clip, noise_multiplier, rng):  # wrong: noise added after dividing
    return np.clip(amounts, 0, clip).mean() + rng.normal(0, noise_multiplier * clip)


def dp_mean_noise_forgets_clip(amounts, clip, noise_multiplier, rng):  # wrong: noise sd sigma, not sigma * C
    return (np.clip(amounts, 0, clip).sum() + rng.normal(0, noise_multiplier)) / len(amounts)


def dp_mean_noise_variance_as_sd(amounts, clip, noise_multiplier, rng):  # wrong: (sigma C)^2 used as the sd
    return (np.clip(amounts, 0, clip).sum() + rng.normal(0, (noise_multiplier * clip) ** 2)) / len(amounts)


def dp_mean_no_noise(amounts, clip, noise_multiplier, rng):  # wrong: clipped but never noised
    return np.clip(amounts, 0, clip).mean()


# --- answers every check must reject: a constant, None, the input -------------------------


def returns_constant(*args):
    return 0.0


def returns_none(*args):
    return None


def returns_its_input(first, *args):
    return first


DEGENERATE = [returns_constant, returns_none, returns_its_input]


@pytest.mark.parametrize("exercise,solution,wrongs", [
    ("04.1", clip_rows, [clip_rows_to_exactly_c, clip_the_whole_batch, clip_each_coordinate,
                         clip_by_squared_norm, clip_rows_forgot_keepdims] + DEGENERATE),
    ("04.2", valid_microbatches, [divisors_of_batch, divisors_of_data, only_one_per_example] + DEGENERATE),
    ("04.3", dp_mean_purchase, [dp_mean_no_clip, dp_mean_clip_from_above_only, dp_mean_symmetric_clip,
                                dp_mean_over_kept_rows, dp_mean_noise_not_divided, dp_mean_noise_forgets_clip,
                                dp_mean_noise_variance_as_sd, dp_mean_no_noise] + DEGENERATE),
])
def test_checks_reject_stub_and_wrong_answers_and_accept_the_solution(exercise, solution, wrongs):
    assert_check_proven(exercise, solution, wrongs)


@pytest.mark.parametrize("exercise,variant", [
    ("04.1", clip_rows_loop_float32),
    ("04.2", valid_microbatches_array),
    ("04.3", dp_mean_purchase_loop_float32),
    ("04.3", dp_mean_drop_refunds),
])
def test_checks_accept_correct_variants(exercise, variant):
    assert_accepted(exercise, [variant])


HINTS = [
    ("04.1", clip_rows_to_exactly_c, "min(1, C / ||g||)"),
    ("04.2", divisors_of_batch, "last batch"),
    ("04.3", dp_mean_no_clip, "clip each amount"),
    ("04.3", dp_mean_clip_from_above_only, "clip from below too"),
    ("04.3", dp_mean_symmetric_clip, "not [-clip, clip]"),
    ("04.3", returns_none, "returned None"),
]


def test_wrong_answers_get_a_hint_that_names_the_mistake():
    assert_hints(HINTS)
