"""labkit.capstone refuses bad input (issue 21): lengths that must agree, non-finite or fractional settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit import capstone

_R = np.random.default_rng(0)
X = _R.normal(size=(40, 3))
Y = np.array([0, 1] * 20)


@pytest.fixture(scope="module")
def hospitals():
    return capstone.make_hospitals(X, Y, capstone.HOSPITALS, seed=0)


def test_hospital_epsilons_refuses_fewer_noise_multipliers_than_hospitals(hospitals):
    training = capstone.LocalTraining(1.0, 4, 0.1)
    with pytest.raises(ValueError, match="noise_multipliers"):
        capstone.hospital_epsilons(hospitals, training, [1.0, 1.0], 1e-5, [5, 5, 5, 5])
    with pytest.raises(ValueError, match="steps"):
        capstone.hospital_epsilons(hospitals, training, [1.0] * 4, 1e-5, [5, 5])
    with pytest.raises(ValueError, match=r"noise_multipliers\[2\]"):
        capstone.hospital_epsilons(hospitals, training, [1.0, 1.0, math.nan, 1.0], 1e-5, [5] * 4)
    assert len(capstone.hospital_epsilons(hospitals, training, [1.0] * 4, 1e-5, [5] * 4)) == 4


@pytest.mark.parametrize("kwargs, name", [
    (dict(epochs=math.inf), "epochs"), (dict(epochs=math.nan), "epochs"), (dict(batch_size=2.5), "batch_size"),
    (dict(learning_rate=math.inf), "learning_rate"), (dict(epochs=True), "epochs"),
])
def test_local_training_refuses_bad_settings(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        capstone.LocalTraining(**kwargs)


@pytest.mark.parametrize("value", [math.inf, math.nan, 0.0, -1.0])
def test_record_dp_refuses_a_non_finite_target_epsilon(value):
    with pytest.raises(ValueError, match="target_epsilon"):
        capstone.RecordDP(target_epsilon=value)


@pytest.mark.parametrize("rounds", [2.5, 0, -1, True, 10**9])
def test_rounds_are_named_rounds(hospitals, rounds):
    training = capstone.LocalTraining(1.0, 4, 0.1)
    with pytest.raises((TypeError, ValueError), match="rounds"):
        capstone.hospital_noise_multipliers(hospitals, training, capstone.RecordDP(), rounds)
    with pytest.raises((TypeError, ValueError), match="rounds"):
        capstone.run_federation(hospitals, capstone.CONFIGURATIONS[0], X[:10], Y[:10], rounds=rounds, seed=0)


def test_two_class_logits_names_x_when_x_is_none():
    with pytest.raises(TypeError, match="x must be an array"):
        capstone.two_class_logits(np.zeros(4), None)


def test_run_federation_refuses_nan_test_records(hospitals):
    x = X[:10].copy()
    x[3, 1] = math.nan
    with pytest.raises(ValueError, match="x_test"):
        capstone.run_federation(hospitals, capstone.CONFIGURATIONS[0], x, Y[:10], rounds=1, seed=0)


def test_hospital_refuses_nan_records():
    x = X[:4].copy()
    x[0, 0] = math.inf
    with pytest.raises(ValueError, match="x must hold only finite"):
        capstone.Hospital("h", x, Y[:4])
