"""Exercises 06.1-06.2 and 07.1-07.2: each check rejects the stub, every typical wrong answer
(named for its mistake), answers that return a constant, None or their input, and accepts the
solution and its variants (other dtypes, lists); the non-IID widget builds and its lookup is pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercise_proof import assert_accepted, assert_hints, assert_rejected, constant_for, returns_first_input, returns_none
from labkit.exercises import check


def stub(*args):
    raise NotImplementedError


# ---------------------------------------------------------------- 06.1 the FedAvg server step


def server_average(models, sizes):
    sizes = np.asarray(sizes, dtype=np.float64)
    return np.sum([s * m for s, m in zip(sizes, models)], axis=0) / sizes.sum()


def server_average_float32(models, sizes):
    return server_average(models, sizes).astype(np.float32)


def server_average_list(models, sizes):
    total = sum(sizes)
    return [sum(s * float(m[i]) for s, m in zip(sizes, models)) / total for i in range(len(models[0]))]


def plain_mean(models, sizes):  # averaged without weights
    return np.mean(models, axis=0)


def unnormalised(models, sizes):  # forgot to divide by sum n_k
    return np.sum([s * m for s, m in zip(sizes, models)], axis=0)


def divided_by_clients(models, sizes):  # divided the weighted sum by K instead of sum n_k
    return np.sum([s * m for s, m in zip(sizes, models)], axis=0) / len(models)


def largest_client_only(models, sizes):  # kept the biggest client's model
    return models[int(np.argmax(sizes))]


# ---------------------------------------------------------------- 06.2 bytes to target


def bytes_to_target(p, c, r):
    return 2 * 4 * p * c * r


def bytes_to_target_int64(p, c, r):
    return np.int64(2) * 4 * p * c * r


def bytes_to_target_float(p, c, r):
    return float(2 * 4 * p * c * r)


def one_direction(p, c, r):
    return 4 * p * c * r


def counts_values_not_bytes(p, c, r):
    return 2 * p * c * r


def float64_bytes(p, c, r):  # 8 bytes per parameter
    return 2 * 8 * p * c * r


def forgot_clients(p, c, r):
    return 2 * 4 * p * r


# ---------------------------------------------------------------- 07.1 clipping


def clip_update(update, clip):
    norm = np.linalg.norm(update)
    return update * min(1.0, clip / norm) if norm > 0 else update


def clip_update_float32(update, clip):
    return clip_update(np.asarray(update, np.float32), np.float32(clip))


def clip_update_list(update, clip):
    return clip_update(update, clip).tolist()


def per_coordinate_clip(update, clip):  # np.clip bounds coordinates, not the norm
    return np.clip(update, -clip, clip)


def always_rescale(update, clip):  # scales short updates up to the clip as well
    return update * clip / np.linalg.norm(update)


def clip_by_squared_norm(update, clip):  # used ||u||^2 instead of ||u||
    return update * min(1.0, clip / np.sum(update ** 2))


def clip_by_l1_norm(update, clip):  # the wrong norm
    return update * min(1.0, clip / np.sum(np.abs(update)))


# ---------------------------------------------------------------- 07.2 noise on the average


def noise_std(z, clip, q, k):
    return z * clip / (q * k)


def noise_std_float32(z, clip, q, k):
    return np.float32(z * clip / (q * k))


def forgot_clip(z, clip, q, k):
    return z / (q * k)


def noise_on_the_sum(z, clip, q, k):  # forgot to divide by the expected number of clients
    return z * clip


def divided_by_all_clients(z, clip, q, k):  # divided by K, not the expected count qK
    return z * clip / k


def variance_not_std(z, clip, q, k):
    return (z * clip / (q * k)) ** 2


# ---------------------------------------------------------------- answers every check must reject


CASES = {
    "06.1": (server_average, [server_average_float32, server_average_list],
             [plain_mean, unnormalised, divided_by_clients, largest_client_only],
             [np.zeros(7), np.ones(7)]),
    "06.2": (bytes_to_target, [bytes_to_target_int64, bytes_to_target_float],
             [one_direction, counts_values_not_bytes, float64_bytes, forgot_clients],
             [0, 884_000, 26_000]),
    "07.1": (clip_update, [clip_update_float32, clip_update_list],
             [per_coordinate_clip, always_rescale, clip_by_squared_norm, clip_by_l1_norm],
             [np.zeros(10), np.ones(10) * 0.01]),
    "07.2": (noise_std, [noise_std_float32],
             [forgot_clip, noise_on_the_sum, divided_by_all_clients, variance_not_std],
             [0.015, 0.0, 1.0]),
}


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_accepts_the_solution_and_its_variants(exercise):
    solution, variants, _, _ = CASES[exercise]
    assert_accepted(exercise, [solution, *variants])


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_rejects_the_stub_and_every_typical_wrong_answer(exercise):
    _, _, wrongs, _ = CASES[exercise]
    assert "Not attempted" in check(exercise, stub).feedback
    for wrong in wrongs:
        result = check(exercise, wrong)
        assert not result.passed, f"{exercise} accepted {wrong.__name__}"
        assert result.feedback


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_check_rejects_none_its_input_and_constants(exercise):
    _, _, _, constants = CASES[exercise]
    assert_rejected(exercise, [returns_none, returns_first_input, *map(constant_for, constants)])


HINTS = [
    ("06.1", plain_mean, "plain mean"),
    ("06.2", one_direction, "both directions"),
    ("06.2", counts_values_not_bytes, "4 bytes"),
    ("07.1", per_coordinate_clip, "np.clip"),
    ("07.1", always_rescale, "leave it alone"),
    ("07.2", forgot_clip, "z * clip"),
    ("07.2", noise_on_the_sum, "expected number"),
]


def test_the_hints_name_the_mistake():
    assert_hints(HINTS)


def test_noniid_lookup_is_fast_and_pure():
    from labkit import data, fl

    grid = data.load_arrays("sweeps/fl_noniid.npz")
    curve = fl.noniid_lookup(grid, 0.1, 10, 5)  # its speed is measured in benchmarks/bench_fl.py
    assert curve.shape == (fl.NONIID_GRID["rounds"] + 1,)
    assert np.all((curve >= 0) & (curve <= 1))
    assert np.array_equal(curve, fl.noniid_lookup(grid, 0.1, 10, 5))
    assert fl.noniid_lookup(grid, math.inf, 10, 5)[-1] > curve[-1]


def test_noniid_explorer_builds_with_a_stable_repr():
    from labkit import fl
    from labkit.fl.widgets import noniid_explorer

    view = noniid_explorer()
    assert repr(view).startswith("Non-IID explorer")
    sliders = [view.controls[name] for name in ("alpha", "num_clients", "epochs")]
    assert [s.description for s in sliders] == ["alpha", "clients", "local epochs"]
    assert view.controls["recompute"].description == "recompute live"
    assert view.progress.max == fl.NONIID_GRID["rounds"] and view.output is view.children[-1]
    view.controls["alpha"].value = math.inf  # a slider move redraws from the stored grid without error
    view.controls["num_clients"].value = 50
    assert view.controls["num_clients"].value == 50
