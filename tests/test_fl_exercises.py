"""Exercises 06.1-06.2 and 07.1-07.2: each check rejects the stub and a typical wrong answer,
and accepts the solution; the non-IID widget builds and its lookup is pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.exercises import check


def stub(*args):
    raise NotImplementedError


def server_average(models, sizes):
    sizes = np.asarray(sizes, dtype=np.float64)
    return np.sum([s * m for s, m in zip(sizes, models)], axis=0) / sizes.sum()


def plain_mean(models, sizes):
    return np.mean(models, axis=0)


def unnormalised(models, sizes):
    return np.sum([s * m for s, m in zip(sizes, models)], axis=0)


def bytes_to_target(p, c, r):
    return 2 * 4 * p * c * r


def clip_update(update, clip):
    norm = np.linalg.norm(update)
    return update * min(1.0, clip / norm) if norm > 0 else update


def noise_std(z, clip, q, k):
    return z * clip / (q * k)


CASES = [
    ("06.1", server_average, [(plain_mean, "plain mean"), (unnormalised, "add up to 1")]),
    ("06.2", bytes_to_target, [(lambda p, c, r: 4 * p * c * r, "both directions"),
                               (lambda p, c, r: 2 * p * c * r, "4 bytes")]),
    ("07.1", clip_update, [(lambda u, c: np.clip(u, -c, c), "np.clip"),
                           (lambda u, c: u * c / np.linalg.norm(u), "leave it alone")]),
    ("07.2", noise_std, [(lambda z, c, q, k: z / (q * k), "z * clip"),
                         (lambda z, c, q, k: z * c, "expected number"),
                         (lambda z, c, q, k: z * c / k, "expect")]),
]


@pytest.mark.parametrize("exercise, solution, wrongs", CASES, ids=[c[0] for c in CASES])
def test_check_accepts_the_solution_and_rejects_stub_and_wrong_answers(exercise, solution, wrongs):
    assert check(exercise, solution).passed
    assert not check(exercise, stub).passed
    for wrong, hint in wrongs:
        result = check(exercise, wrong)
        assert not result.passed
        assert hint in result.feedback, result.feedback


def test_noniid_lookup_is_fast_and_pure():
    from labkit import data, fl

    grid = data.load_arrays("sweeps/fl_noniid.npz")
    curve = fl.noniid_lookup(grid, 0.1, 10, 5)  # its speed is measured in benchmarks/bench_fl.py
    assert curve.shape == (fl.NONIID_GRID["rounds"] + 1,)
    assert np.all((curve >= 0) & (curve <= 1))
    assert np.array_equal(curve, fl.noniid_lookup(grid, 0.1, 10, 5))
    assert fl.noniid_lookup(grid, math.inf, 10, 5)[-1] > curve[-1]


def test_noniid_explorer_builds_with_a_stable_repr():
    from labkit.widgets.fl import noniid_explorer

    view = noniid_explorer()
    assert repr(view).startswith("Non-IID explorer")
    sliders = view.children[0].children
    assert [s.description for s in sliders] == ["alpha", "clients", "local epochs"]
    sliders[0].value = math.inf  # a slider move redraws from the stored grid without error
    sliders[1].value = 50
    assert sliders[1].value == 50
