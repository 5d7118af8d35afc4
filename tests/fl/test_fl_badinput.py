"""labkit.fl refuses bad input at the entry of its privacy code (issue 21): clipping, noise, DP-FedAvg."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import fl
from labkit.fl.models import LogisticRegression

_R = np.random.default_rng(0)
X = _R.normal(size=(12, 3)).astype(np.float32)
Y = np.array([0, 1, 2] * 4, dtype=np.int64)


def _clients():
    return [(X[:6].copy(), Y[:6].copy()), (X[6:].copy(), Y[6:].copy())]


def _weights():
    return [np.zeros((3, 3), np.float32), np.zeros(3, np.float32)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_clip_update_refuses_a_non_finite_update_instead_of_passing_it_unclipped(bad):
    update = [np.ones((2, 2)), np.array([1.0, bad])]
    with pytest.raises(ValueError, match=r"update\[1\] must hold only finite numbers"):
        fl.clip_update(update, 1.0)


def test_clip_update_still_clips_a_finite_update():
    out = fl.clip_update([np.full(4, 3.0, np.float32)], 1.0)
    assert out[0].dtype == np.float32 and math.isclose(float(np.linalg.norm(out[0])), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize("name", ["noise_multiplier", "expected_clients", "clip"])
@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_dp_fedavg_round_refuses_non_finite_privacy_parameters(name, bad):
    kwargs = dict(lr=0.1, epochs=1, batch_size=3, clip=1.0, noise_multiplier=1.0, expected_clients=2.0, rng=0)
    kwargs[name] = bad
    with pytest.raises(ValueError, match=name):
        fl.dp_fedavg_round(_weights(), _clients(), [0, 1], **kwargs)


def test_gaussian_sum_refuses_non_finite_updates():
    agg = fl.GaussianSum(1.0, 1.0, 2.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="updates"):
        agg([np.ones(3), np.array([0.0, math.nan, 0.0])], np.zeros(3))


def test_run_dp_fedavg_refuses_nan_initial_weights_and_nan_client_data():
    test = (X[:6], Y[:6])
    bad = _weights()
    bad[0][1, 1] = math.nan
    with pytest.raises(ValueError, match="initial"):
        fl.run_dp_fedavg(_clients(), test, rounds=1, q=0.5, clip=1.0, noise_multiplier=1.0, lr=0.1, seed=0,
                         initial=bad)
    clients = _clients()
    clients[0][0][0, 0] = math.nan
    with pytest.raises(ValueError, match=r"clients\[0\]"):
        fl.run_dp_fedavg(clients, test, rounds=1, q=0.5, clip=1.0, noise_multiplier=1.0, lr=0.1, seed=0)


def test_run_dp_fedavg_does_not_succeed_with_nan_weights():
    with pytest.raises(ValueError, match="lr"):
        with np.errstate(all="ignore"):
            fl.run_dp_fedavg(_clients(), (X[:6], Y[:6]), rounds=3, q=1.0, clip=1e30, noise_multiplier=1.0,
                             lr=1e300, seed=0)


@pytest.mark.parametrize("seed", ["seed", -1, 2.5, math.nan, True])
def test_seeds_go_through_the_one_rng_helper(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        fl.run_dp_fedavg(_clients(), (X[:6], Y[:6]), rounds=1, q=0.5, clip=1.0, noise_multiplier=1.0, lr=0.1,
                         seed=seed)


def test_logits_name_x_when_x_is_none():
    with pytest.raises(TypeError, match="x must be an array"):
        LogisticRegression(3).logits(np.zeros(4), None)
    with pytest.raises(TypeError, match="x must be an array"):
        fl.SoftmaxRegression(3, 3).logits(np.zeros(12, np.float32), None)


def test_sizes_are_bounded():
    with pytest.raises(ValueError, match="num_clients"):
        fl.poisson_sample(10**9, 0.5, 0)
    with pytest.raises(ValueError, match="num_features"):
        fl.SoftmaxRegression(10**9, 3)
    with pytest.raises(ValueError, match="rounds"):
        fl.user_level_epsilon(0.1, 1.0, 10**9, 1e-5, 100)


# One NaN or inf, anywhere in the inputs of the clipping and noise functions: a ValueError naming the argument.
_layers = st.lists(st.integers(1, 4), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(shapes=_layers, where=st.integers(0, 10**6), bad=st.sampled_from([math.nan, math.inf, -math.inf]),
       target=st.sampled_from(["clip_update", "gaussian_sum", "record_dpsgd"]))
def test_a_non_finite_entry_anywhere_is_refused_naming_the_argument(shapes, where, bad, target):
    layers = [np.ones(n, np.float64) for n in shapes]
    flat = np.concatenate(layers)
    if target == "clip_update":
        i = where % len(flat)
        layer = int(np.searchsorted(np.cumsum(shapes), i, side="right"))
        layers[layer][i - (np.cumsum(shapes)[layer] - shapes[layer])] = bad
        with pytest.raises(ValueError, match="update"):
            fl.clip_update(layers, 1.0)
    elif target == "gaussian_sum":
        updates = [flat.copy(), flat.copy()]
        updates[where % 2][where % len(flat)] = bad
        with pytest.raises(ValueError, match="updates"):
            fl.GaussianSum(1.0, 1.0, 2.0, np.random.default_rng(0))(updates, np.zeros_like(flat))
    else:
        x = np.ones((4, 3))
        params = np.zeros(4)
        if where % 2:
            x.flat[where % x.size] = bad
            name = "x"
        else:
            params[where % 4] = bad
            name = "params"
        update = fl.RecordDPSGD(0.1, 2, 2, 0.5, 1.0)
        with pytest.raises(ValueError, match=name):
            update(LogisticRegression(3), params, x, np.array([0, 1, 0, 1]), np.random.default_rng(0))
