"""Exercises 04.x: each catalogue lists the typical wrong answers (named for their mistake) that its check
must reject with a fix on request, and correct answers written differently that it must accept
(proven by tests/test_exercises_framework.py). The four DP-SGD steps of 04.2 are loaded from the notebook
and checked against the broken/correct labels its check relies on."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_proof import Catalogue, assert_hints, returns_second_input
from notebook_source import notebook_function

from labkit.dp import dpsgd
from labkit.dp.training_checks import BROKEN_STEPS, SUSPECT_STEPS


# --- 04.1 dpsgd_gradient(per_example, clip, noise_multiplier, expected_batch_size, rng): a Poisson step --


def dpsgd_gradient(per_example, clip, noise_multiplier, expected_batch_size, rng):
    n, d = per_example.shape
    batch = per_example[rng.random(n) < expected_batch_size / n]
    norms = np.linalg.norm(batch, axis=1, keepdims=True)
    clipped = batch * np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    noisy_sum = clipped.sum(axis=0) + rng.normal(0.0, noise_multiplier * clip, size=d)
    return noisy_sum / expected_batch_size


def dpsgd_gradient_loop_lists(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # correct variant: a Python loop over rows, a list result, one standard-normal draw scaled afterwards
    n, d = per_example.shape
    joins = rng.random(n) < expected_batch_size / n
    total = [0.0] * d
    for row, joined in zip(per_example.tolist(), joins):
        if not joined:
            continue
        norm = sum(x * x for x in row) ** 0.5
        scale = min(1.0, clip / norm) if norm > 0 else 1.0
        total = [t + scale * x for t, x in zip(total, row)]
    noise = rng.standard_normal(d) * noise_multiplier * clip
    return [(t + z) / expected_batch_size for t, z in zip(total, noise)]


def dpsgd_gradient_float32_per_coordinate_noise(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # correct variant: float32 arithmetic, clip factors of 0 for rows left out, noise one coordinate at a time
    g = np.asarray(per_example, dtype=np.float32)
    joined = rng.random(len(g)) < expected_batch_size / len(g)
    factors = np.minimum(np.float32(1), np.float32(clip) / np.maximum(np.linalg.norm(g, axis=1), 1e-12)) * joined
    total = (factors[:, None] * g).sum(axis=0)
    noise = np.array([rng.normal(0.0, noise_multiplier * clip) for _ in range(g.shape[1])], dtype=np.float32)
    return (total + noise) / np.float32(expected_batch_size)


def dpsgd_gradient_labkit_stages(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # correct variant: sample, then labkit's noisy_gradient on the batch (a list of one variable)
    batch = per_example[rng.random(len(per_example)) < expected_batch_size / len(per_example)]
    return dpsgd.noisy_gradient([batch], clip, noise_multiplier, expected_batch_size, rng)[0]


def dpsgd_gradient_row_by_row_draws(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # correct variant: one rng.random() per row (the same numbers as rng.random(n)), noise of sd sigma C / B added
    # after dividing (the same numbers as noise sigma C on the sum, divided), a tuple result
    n, d = per_example.shape
    rows = [row for row in per_example if rng.random() < expected_batch_size / n]
    total = np.zeros(d)
    for row in rows:
        total += row * min(1.0, clip / max(float(np.linalg.norm(row)), 1e-12))
    return tuple(total / expected_batch_size + rng.normal(0.0, noise_multiplier * clip / expected_batch_size, size=d))


def _clip(per_example, clip):
    norms = np.linalg.norm(per_example, axis=1, keepdims=True)
    return per_example * np.minimum(1.0, clip / np.maximum(norms, 1e-12))


def _sample(per_example, expected_batch_size, rng):
    return per_example[rng.random(len(per_example)) < expected_batch_size / len(per_example)]


def used_every_row(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = _clip(per_example, clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / expected_batch_size


def fixed_size_batch(per_example, clip, noise_multiplier, expected_batch_size, rng):
    batch = per_example[rng.choice(len(per_example), expected_batch_size, replace=False)]
    total = _clip(batch, clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / expected_batch_size


def noise_drawn_before_the_batch(per_example, clip, noise_multiplier, expected_batch_size, rng):
    noise = rng.normal(0.0, noise_multiplier * clip, size=per_example.shape[1])
    batch = _sample(per_example, expected_batch_size, rng)
    return (_clip(batch, clip).sum(axis=0) + noise) / expected_batch_size


def no_clipping(per_example, clip, noise_multiplier, expected_batch_size, rng):
    batch = _sample(per_example, expected_batch_size, rng)
    return (batch.sum(axis=0) + rng.normal(0.0, noise_multiplier * clip, size=batch.shape[1])) / expected_batch_size


def clipped_the_sum_not_each_example(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = _sample(per_example, expected_batch_size, rng).sum(axis=0)
    total = total * min(1.0, clip / max(np.linalg.norm(total), 1e-12))
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / expected_batch_size


def clipped_each_coordinate(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = np.clip(_sample(per_example, expected_batch_size, rng), -clip, clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / expected_batch_size


def scaled_every_row_to_exactly_c(per_example, clip, noise_multiplier, expected_batch_size, rng):
    batch = _sample(per_example, expected_batch_size, rng)
    norms = np.linalg.norm(batch, axis=1, keepdims=True)
    total = (batch * clip / np.maximum(norms, 1e-12)).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / expected_batch_size


def drew_the_batch_with_binomial(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # a Poisson batch too, but from other numbers than the rng.random(n) the exercise asks for
    n, d = per_example.shape
    batch = per_example[rng.binomial(1, expected_batch_size / n, size=n).astype(bool)]
    return (_clip(batch, clip).sum(axis=0) + rng.normal(0.0, noise_multiplier * clip, size=d)) / expected_batch_size


def divided_by_the_dataset_size(per_example, clip, noise_multiplier, expected_batch_size, rng):
    n, d = per_example.shape
    total = _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=d)) / n


def divided_by_the_rows(per_example, clip, noise_multiplier, expected_batch_size, rng):
    batch = _sample(per_example, expected_batch_size, rng)
    total = _clip(batch, clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / max(len(batch), 1)


def forgot_to_divide(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0)
    return total + rng.normal(0.0, noise_multiplier * clip, size=len(total))


def noise_added_after_averaging(per_example, clip, noise_multiplier, expected_batch_size, rng):
    mean = _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0) / expected_batch_size
    return mean + rng.normal(0.0, noise_multiplier * clip, size=len(mean))


def sigma_not_multiplied_by_clip(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0)
    return (total + rng.normal(0.0, noise_multiplier, size=len(total))) / expected_batch_size


def variance_used_as_standard_deviation(per_example, clip, noise_multiplier, expected_batch_size, rng):
    total = _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0)
    return (total + rng.normal(0.0, (noise_multiplier * clip) ** 2, size=len(total))) / expected_batch_size


def no_noise(per_example, clip, noise_multiplier, expected_batch_size, rng):
    return _clip(_sample(per_example, expected_batch_size, rng), clip).sum(axis=0) / expected_batch_size


def clipped_after_noise(per_example, clip, noise_multiplier, expected_batch_size, rng):
    batch = _sample(per_example, expected_batch_size, rng)
    noisy = batch.sum(axis=0) + rng.normal(0.0, noise_multiplier * clip, size=batch.shape[1])
    return noisy * min(1.0, clip / max(np.linalg.norm(noisy), 1e-12)) / expected_batch_size


def noise_drawn_per_example(per_example, clip, noise_multiplier, expected_batch_size, rng):
    # noise on every row before summing: a different draw, and sqrt(batch) times the noise
    batch = _sample(per_example, expected_batch_size, rng)
    noisy = _clip(batch, clip) + rng.normal(0.0, noise_multiplier * clip, size=batch.shape)
    return noisy.sum(axis=0) / expected_batch_size


def returns_mean_of_rows(per_example, clip, noise_multiplier, expected_batch_size, rng):
    return np.mean(per_example, axis=0)


# --- 04.2 find_the_bugs() -------------------------------------------------------------------------


def find_the_bugs():
    def fixed_step_a(per_example, clip, noise_multiplier, expected_batch_size, rng):
        clipped = _clip(per_example, clip)
        noisy_sum = clipped.sum(axis=0) + rng.normal(0.0, noise_multiplier * clip, size=per_example.shape[1])
        return noisy_sum / expected_batch_size

    return {"step_a", "step_c", "step_d"}, fixed_step_a


def step_by_rows(per_example, clip, noise_multiplier, expected_batch_size, rng):  # a correct batch step, as a loop
    d = per_example.shape[1]
    total = np.zeros(d)
    for row in per_example:
        total += row * min(1.0, clip / max(float(np.linalg.norm(row)), 1e-12))
    return (total + rng.normal(0.0, noise_multiplier * clip, size=d)) / expected_batch_size


def step_from_labkit(per_example, clip, noise_multiplier, expected_batch_size, rng):
    return dpsgd.noisy_gradient(per_example, clip, noise_multiplier, expected_batch_size, rng)[0]


def find_the_bugs_list_and_loop():  # correct variant: a list of names, a fix written as a loop
    return ["step_d", "step_a", "step_c"], step_by_rows


def find_the_bugs_frozenset():  # correct variant: a frozenset, labkit's stages as the fix
    return frozenset(("step_c", "step_a", "step_d")), step_from_labkit


def trusts_sigma_without_clip():  # misses step_d (noise sigma, not sigma * C)
    return {"step_a", "step_c"}, step_by_rows


def misses_clipping_after_noise():
    return {"step_a", "step_d"}, step_by_rows


def misses_noise_after_averaging():  # a over-noises: private, but not DP-SGD's step
    return {"step_c", "step_d"}, step_by_rows


def calls_every_step_broken():
    return set(SUSPECT_STEPS), step_by_rows


def fix_still_noises_the_average():
    def fixed(per_example, clip, noise_multiplier, expected_batch_size, rng):
        mean = _clip(per_example, clip).sum(axis=0) / expected_batch_size
        return mean + rng.normal(0.0, noise_multiplier * clip, size=len(mean))

    return {"step_a", "step_c", "step_d"}, fixed


def fix_divides_by_the_rows():
    def fixed(per_example, clip, noise_multiplier, expected_batch_size, rng):
        total = _clip(per_example, clip).sum(axis=0)
        return (total + rng.normal(0.0, noise_multiplier * clip, size=len(total))) / max(len(per_example), 1)

    return {"step_a", "step_c", "step_d"}, fixed


def fix_samples_a_batch_again():  # the 04.1 Poisson step used where the batch is already drawn
    return {"step_a", "step_c", "step_d"}, dpsgd_gradient


def names_without_a_fix():
    return {"step_a", "step_c", "step_d"}


def letters_instead_of_names():
    return {"a", "c", "d"}, step_by_rows


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


def no_clipping_of_amounts(amounts, clip, noise_multiplier, rng):
    return (np.sum(amounts) + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def clipped_from_above_only(amounts, clip, noise_multiplier, rng):
    return (np.minimum(amounts, clip).sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def clipped_symmetrically(amounts, clip, noise_multiplier, rng):  # [-clip, clip] doubles the sensitivity
    return (np.clip(amounts, -clip, clip).sum() + rng.normal(0, noise_multiplier * clip)) / len(amounts)


def divided_by_kept_rows(amounts, clip, noise_multiplier, rng):  # drops refunds, divides by fewer rows
    kept = np.minimum([a for a in amounts if a > 0], clip)
    return (np.sum(kept) + rng.normal(0, noise_multiplier * clip)) / len(kept)


def mean_noise_not_divided(amounts, clip, noise_multiplier, rng):  # noise added after dividing
    return np.clip(amounts, 0, clip).mean() + rng.normal(0, noise_multiplier * clip)


def mean_noise_forgets_clip(amounts, clip, noise_multiplier, rng):  # noise sd sigma, not sigma * C
    return (np.clip(amounts, 0, clip).sum() + rng.normal(0, noise_multiplier)) / len(amounts)


def mean_noise_variance_as_sd(amounts, clip, noise_multiplier, rng):  # (sigma C)^2 used as the sd
    return (np.clip(amounts, 0, clip).sum() + rng.normal(0, (noise_multiplier * clip) ** 2)) / len(amounts)


def mean_without_noise(amounts, clip, noise_multiplier, rng):
    return np.clip(amounts, 0, clip).mean()


CATALOGUES = {
    "04.1": Catalogue(
        solution=dpsgd_gradient,
        variants=[dpsgd_gradient_loop_lists, dpsgd_gradient_float32_per_coordinate_noise, dpsgd_gradient_labkit_stages,
                  dpsgd_gradient_row_by_row_draws],
        mistakes=[used_every_row, fixed_size_batch, noise_drawn_before_the_batch, drew_the_batch_with_binomial,
                  divided_by_the_dataset_size, no_clipping,
                  clipped_the_sum_not_each_example, clipped_each_coordinate, scaled_every_row_to_exactly_c,
                  divided_by_the_rows, forgot_to_divide, noise_added_after_averaging, sigma_not_multiplied_by_clip,
                  variance_used_as_standard_deviation, no_noise, clipped_after_noise, noise_drawn_per_example],
        degenerate=[returns_mean_of_rows, returns_second_input]),
    "04.2": Catalogue(
        solution=find_the_bugs,
        variants=[find_the_bugs_list_and_loop, find_the_bugs_frozenset],
        mistakes=[trusts_sigma_without_clip, misses_clipping_after_noise, misses_noise_after_averaging,
                  calls_every_step_broken, fix_still_noises_the_average, fix_divides_by_the_rows,
                  fix_samples_a_batch_again, names_without_a_fix,
                  letters_instead_of_names]),
    "04.3": Catalogue(
        solution=dp_mean_purchase,
        variants=[dp_mean_purchase_loop_float32, dp_mean_drop_refunds],
        mistakes=[no_clipping_of_amounts, clipped_from_above_only, clipped_symmetrically, divided_by_kept_rows,
                  mean_noise_not_divided, mean_noise_forgets_clip, mean_noise_variance_as_sd, mean_without_noise]),
}


def test_wrong_answers_get_a_hint_that_names_the_mistake():
    assert_hints([
        ("04.1", used_every_row, "you used every row"),
        ("04.1", divided_by_the_rows, "number of rows in the batch"),
        ("04.1", drew_the_batch_with_binomial, "rng.binomial"),
        ("04.1", divided_by_the_dataset_size, "whole dataset"),
        ("04.1", noise_added_after_averaging, "after averaging"),
        ("04.1", sigma_not_multiplied_by_clip, "not noise_multiplier * clip"),
        ("04.1", clipped_after_noise, "you clipped the sum"),
        ("04.2", trusts_sigma_without_clip, "missed 1 broken step"),
        ("04.2", calls_every_step_broken, "correct step broken"),
        ("04.2", fix_still_noises_the_average, "your fixed step is still wrong"),
        ("04.3", no_clipping_of_amounts, "no amount was clipped"),
        ("04.3", clipped_from_above_only, "from above only"),
        ("04.3", clipped_symmetrically, "[-clip, clip]"),
    ])


# --- the notebook's four steps are broken exactly as 04.2's check says -----------------------------


@pytest.mark.parametrize("name", SUSPECT_STEPS)
def test_the_notebooks_suspect_steps_are_broken_as_labelled(name):
    step = notebook_function("04", name, {"np": np})
    rng = np.random.default_rng(7)
    same = []
    for seed, (n, d, b, clip, sigma) in enumerate([(16, 5, 16, 0.5, 1.1), (9, 3, 12, 0.5, 0.7), (20, 4, 16, 2.0, 1.0)]):
        grads = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, size=(n, 1))
        got = np.asarray(step(grads.copy(), clip, sigma, b, np.random.default_rng(seed)))
        want = dpsgd.noisy_gradient(grads, clip, sigma, b, np.random.default_rng(seed))[0]
        same.append(got.shape == want.shape and np.allclose(got, want))
    assert all(same) == (name not in BROKEN_STEPS), (name, same)
    if name in BROKEN_STEPS:
        assert not any(same), f"{name} is broken on some inputs only: {same}"


def test_the_notebooks_dpsgd_step_stages_equal_labkits():
    """Build-then-save: the notebook's clip_and_sum, add_noise and noisy_gradient equal labkit's on seeded inputs."""
    clip_and_sum = notebook_function("04", "clip_and_sum", {"np": np})
    add_noise = notebook_function("04", "add_noise", {"np": np})
    step_gradient = notebook_function("04", "step_gradient", {"np": np, "clip_and_sum": clip_and_sum,
                                                              "add_noise": add_noise})
    rng = np.random.default_rng(11)
    for seed, (n, shapes, clip, sigma, b) in enumerate([(8, [(3, 4), (4,)], 0.5, 1.0, 8), (5, [(2,)], 2.0, 0.0, 7),
                                                        (12, [(6, 2), (2,), (2, 3)], 1.0, 3.0, 10)]):
        per_example = [rng.normal(size=(n, *s)) * rng.uniform(0.1, 2.0) for s in shapes]
        got_sum, got_norms = clip_and_sum(per_example, clip)
        want_sum, want_norms = dpsgd.clip_and_sum(per_example, clip)
        assert np.allclose(got_norms, want_norms) and all(np.allclose(a, w) for a, w in zip(got_sum, want_sum))
        got = add_noise(want_sum, clip, sigma, np.random.default_rng(seed))
        want = dpsgd.add_gaussian_noise(want_sum, clip, sigma, np.random.default_rng(seed))
        assert all(np.allclose(a, w) for a, w in zip(got, want))
        got = step_gradient(per_example, clip, sigma, b, np.random.default_rng(seed))
        want = dpsgd.noisy_gradient(per_example, clip, sigma, b, np.random.default_rng(seed))
        assert all(np.allclose(a, w) for a, w in zip(got, want))
