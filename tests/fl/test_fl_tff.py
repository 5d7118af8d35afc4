"""labkit.fl against TensorFlow Federated: same model, same data order, same weights to 1e-5.

TFF runs in a child process; every helper must leave no worker behind, on success or error.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import data, fl
from labkit.fl import tff as tff_runtime

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup():
    import labkit

    labkit.setup(seed=0)
    d = data.load("digits")
    parts = data.partition(d.y_train, 8, "dirichlet", alpha=0.5, seed=0)
    clients = fl.client_arrays(d.x_train, d.y_train, parts)
    return d, clients, fl.init_weights(64, 10, np.random.default_rng(0))


def test_fedavg_from_scratch_equals_tff_build_weighted_fed_avg(setup):
    """Several rounds, sampled clients, shuffled local epochs: max |w_ours - w_tff| <= 1e-5."""
    _, clients, w0 = setup
    rounds, lr, epochs, batch = 4, 0.3, 2, 16
    pick = np.random.default_rng(5)
    selections = [sorted(pick.choice(len(clients), 4, replace=False).tolist()) for _ in range(rounds)]
    ours = w0
    shuffle = np.random.default_rng(11)
    for selected in selections:
        ours = fl.fedavg_round(ours, clients, selected, lr, epochs, batch, shuffle)
    theirs = fl.tff_fedavg(clients, w0, rounds=rounds, lr=lr, epochs=epochs, batch_size=batch,
                           selections=selections, shuffle_seed=11)
    moved = fl.max_abs_difference(ours, w0)
    assert moved > 0.1  # the models really trained
    assert fl.max_abs_difference(ours, theirs) <= 1e-5
    assert tff_runtime.live_workers() == []


def test_fedavgm_from_scratch_equals_tff_server_sgd_with_momentum(setup):
    """FedAvgM (exercise 06.1's reference): TFF's server SGDM holds -velocity; the weights agree to 1e-5."""
    _, clients, w0 = setup
    selections = [[0, 2, 5], [1, 3, 4, 7], [2, 6]]
    ours, velocity = w0, None
    shuffle = np.random.default_rng(3)
    for selected in selections:
        ours, velocity = fl.fedavgm_round(ours, velocity, clients, selected, 0.3, 1, 16, server_lr=0.7,
                                          momentum=0.9, rng=shuffle)
    theirs = fl.tff_fedavg(clients, w0, rounds=3, lr=0.3, epochs=1, batch_size=16, selections=selections,
                           shuffle_seed=3, server_lr=0.7, server_momentum=0.9)
    plain, shuffle = w0, np.random.default_rng(3)
    for selected in selections:
        plain = fl.fedavg_round(plain, clients, selected, 0.3, 1, 16, shuffle)
    assert fl.max_abs_difference(ours, plain) > 0.05  # momentum really changed the path
    assert fl.max_abs_difference(ours, theirs) <= 1e-5
    assert tff_runtime.live_workers() == []


def test_dp_fedavg_without_noise_equals_tff_gaussian_fixed(setup):
    _, clients, w0 = setup
    selections = [[0, 2, 5], [1, 3, 4, 7], [6]]
    ours = w0
    for selected in selections:
        ours = fl.dp_fedavg_round(ours, clients, selected, lr=0.3, epochs=1, batch_size=16, clip=0.3,
                                  noise_multiplier=0.0, expected_clients=3.0, rng=np.random.default_rng(0))
    theirs = fl.tff_dp_fedavg(clients, w0, selections=selections, lr=0.3, clip=0.3, noise_multiplier=0.0,
                              expected_clients=3.0, batch_size=16)
    assert fl.max_abs_difference(ours, theirs) <= 1e-5
    assert tff_runtime.live_workers() == []


def test_tff_secure_sum_is_a_plain_sum_in_simulation():
    result = fl.tff_secure_sum_demo([3, 1000, 42, 7])
    assert result == {"secure_sum": 1052, "plain_sum": 1052}
    with pytest.raises(ValueError, match="values must be integers"):
        fl.tff_secure_sum_demo([2**16], bitwidth=16)


def test_a_failing_tff_helper_still_ends_its_worker(setup):
    _, clients, w0 = setup
    with pytest.raises(RuntimeError, match="a learner's bug"):  # not Exception: a failed assert inside must fail
        with tff_runtime.session() as tff:
            import tensorflow as tf

            @tff.tensorflow.computation(tf.int32)
            def one(x):
                return x + 1

            assert one(1) == 2
            assert len(tff_runtime.live_workers()) == 1
            raise RuntimeError("a learner's bug")
    assert tff_runtime.live_workers() == []


def test_tff_helpers_reject_bad_input_before_starting_tff(setup):
    _, clients, w0 = setup
    with pytest.raises(ValueError, match="shape mismatch"):
        fl.tff_fedavg([(c[0][:, :32], c[1]) for c in clients], w0, rounds=1, lr=0.1)
    with pytest.raises(ValueError, match="selections must list"):
        fl.tff_fedavg(clients, w0, rounds=2, lr=0.1, selections=[[0]])
    with pytest.raises(ValueError, match="empty round"):
        fl.tff_dp_fedavg(clients, w0, selections=[[]], lr=0.1, clip=1.0, noise_multiplier=1.0, expected_clients=2)


def test_adaptive_clipping_noise_matches_tff_and_pays_for_the_quantile():
    """fl.adaptive_clip_value_noise is TFF's rule: the update noise is raised so that, together
    with the noisy clipped count, the pair costs exactly one Gaussian mechanism at the total z."""
    from labkit._compat import tff_adaptive_clip_noise_params as adaptive_clip_noise_params

    for z, m in [(1.0, 20.0), (0.5, 100.0), (1.5, 40.0)]:
        ours = fl.adaptive_clip_value_noise(z, m)
        theirs, stddev = adaptive_clip_noise_params(z, m)
        assert ours == pytest.approx(theirs, rel=1e-12)
        assert ours > z  # more noise on the updates than the total multiplier
        assert (ours**-2 + (2 * stddev) ** -2) ** -0.5 == pytest.approx(z, rel=1e-12)
    with pytest.raises(ValueError, match="clipped_count_stddev"):
        fl.adaptive_clip_value_noise(1.0, 10.0)  # 0.05 * 10 = 0.5 is too small for z = 1
