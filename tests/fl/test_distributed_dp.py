"""The distributed discrete Gaussian under secure aggregation (labkit.fl.distributed_dp, notebook 07).

Identities: with the noise off, the securely aggregated sum equals the plain sum of the quantised
client vectors mod 2^bits exactly, and the decoded sum is within the rounding bound of the un-quantised
sum; the sampler follows the discrete Gaussian's pmf (and TF Privacy's sampler); the accounting reduces
to dp-accounting's Gaussian mechanism when the discreteness terms vanish; the rotation is TFF's/SciPy's
orthonormal Hadamard transform; gamma is TFF's heuristic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from labkit.fl import distributed_dp as ddp


def _chi2_pvalue(samples: np.ndarray, sigma: float) -> float:
    ks, counts = np.unique(samples, return_counts=True)
    span = np.arange(ks.min() - 3, ks.max() + 4)
    expected = ddp.discrete_gaussian_pmf(sigma, span) * samples.size
    observed = np.zeros(span.size)
    observed[np.searchsorted(span, ks)] = counts
    # pool the tails so every bin expects at least 5
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], samples.size - expected[keep].sum())
    return float(stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("sigma", [0.5, 2.0, 7.3, 40.0])
def test_sampler_follows_the_discrete_gaussian_pmf(sigma):
    samples = ddp.sample_discrete_gaussian(sigma, 200_000, rng=np.random.default_rng(int(sigma * 10)))
    assert samples.dtype == np.int64 and samples.shape == (200_000,)
    assert _chi2_pvalue(samples, sigma) > 1e-3
    # the discrete Gaussian's variance is below sigma^2 (CKS 2020, Corollary 9) and close to it for sigma >= 1
    se = math.sqrt(2 / samples.size) * sigma**2
    var = float(np.var(samples))
    assert var < sigma**2 + 4 * se
    if sigma >= 2:
        assert abs(var - sigma**2) < 4 * se


def test_a_wrong_sampler_is_rejected_by_the_same_check():
    """The chi-square check can fail: a continuous Gaussian rounded to integers has the wrong pmf."""
    rounded = np.rint(np.random.default_rng(1).normal(0, 0.5, 200_000)).astype(np.int64)
    assert _chi2_pvalue(rounded, 0.5) < 1e-6


def test_sampler_agrees_with_tf_privacy():
    tf = pytest.importorskip("tensorflow")
    from tensorflow_privacy.privacy.dp_query import discrete_gaussian_utils

    tf.random.set_seed(0)
    theirs = discrete_gaussian_utils.sample_discrete_gaussian(scale=3, shape=(100_000,), dtype=tf.int64).numpy()
    ours = ddp.sample_discrete_gaussian(3.0, 100_000, rng=np.random.default_rng(5))
    span = np.arange(-15, 16)
    table = np.array([[np.sum(np.clip(s, -15, 15) == k) for k in span] for s in (ours, theirs)])
    table = table[:, table.sum(axis=0) >= 10]
    assert stats.chi2_contingency(table)[1] > 1e-3


def test_sampler_uses_os_entropy_by_default(monkeypatch):
    import os

    calls = []
    real = os.urandom

    def counting(n):
        calls.append(n)
        return real(n)

    monkeypatch.setattr(ddp.os, "urandom", counting)
    a = ddp.sample_discrete_gaussian(3.0, 1000)
    assert calls and a.shape == (1000,)
    calls.clear()
    ddp.sample_discrete_gaussian(3.0, 1000, rng=0)
    assert not calls
    assert np.array_equal(ddp.sample_discrete_gaussian(3.0, 50, rng=7), ddp.sample_discrete_gaussian(3.0, 50, rng=7))


def test_rotation_is_the_orthonormal_hadamard_transform():
    from scipy.linalg import hadamard

    x = np.random.default_rng(0).normal(size=100)
    signs = ddp.rotation_signs(100, seed=3)
    assert signs.shape == (128,) and set(np.unique(signs)) == {-1.0, 1.0}
    padded = np.concatenate([x, np.zeros(28)])
    assert np.allclose(ddp.rotate(x, signs), hadamard(128) @ (signs * padded) / math.sqrt(128))
    assert np.allclose(ddp.unrotate(ddp.rotate(x, signs), signs, 100), x)
    assert math.isclose(np.linalg.norm(ddp.rotate(x, signs)), np.linalg.norm(x))


def test_stochastic_rounding_is_unbiased_and_moves_less_than_one():
    x = np.full(100_000, 2.3)
    r = ddp.stochastic_round(x, rng=0)
    assert set(np.unique(r)) == {2, 3}
    assert abs(r.mean() - 2.3) < 4 * math.sqrt(0.3 * 0.7 / x.size)
    y = np.random.default_rng(1).normal(size=1000) * 50
    assert np.all(np.abs(ddp.stochastic_round(y, rng=2) - y) < 1)


def _updates(n=6, d=50, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=d) * s for s in np.linspace(0.05, 2.0, n)]


@pytest.mark.parametrize("bits", [12, 20])
def test_without_noise_the_secure_sum_is_the_plain_quantised_sum(bits):
    """Identity: noise off, the server's ring sum equals the plain sum of the clients' quantised vectors mod
    2^bits, exactly (same seed, so the same random rounding); the decoded sum is within gamma n sqrt(d') of
    the un-quantised sum of the clipped updates."""
    updates, clip = _updates(), 0.5
    out = ddp.distributed_dp_sum(updates, clip=clip, noise_multiplier=0.0, bits=bits, rng=11)
    rng = np.random.default_rng(11)
    signs = ddp.rotation_signs(50, 0)
    messages = [ddp.client_message(u, clip=clip, gamma=out.gamma, sigma=0.0, bits=bits, signs=signs, rng=rng)
                for u in updates]
    assert out.sigma == 0.0
    assert np.array_equal(out.ring_sum, np.mod(np.sum(messages, axis=0), 2**bits))
    plain = ddp.distributed_dp_sum(updates, clip=clip, noise_multiplier=0.0, bits=bits, rng=11, secure=False)
    assert np.array_equal(plain.ring_sum, out.ring_sum) and np.array_equal(plain.total, out.total)
    exact = np.sum([ddp.clip_l2(u, clip) for u in updates], axis=0)
    assert out.wrapped == 0
    bound = out.gamma * len(updates) * math.sqrt(signs.size)
    assert np.linalg.norm(out.total - exact) <= bound
    assert np.linalg.norm(out.total - exact) > 0  # rounding happened: the check is not vacuous


def test_the_server_gets_only_the_secure_aggregate(monkeypatch):
    from labkit import smpc

    seen = []
    real = smpc.secure_aggregate

    def spy(vectors, *args, **kwargs):
        seen.append(np.array(vectors))
        return real(vectors, *args, **kwargs)

    monkeypatch.setattr(smpc, "secure_aggregate", spy)
    out = ddp.distributed_dp_sum(_updates(), clip=0.5, noise_multiplier=1.0, bits=16, rng=0)
    assert len(seen) == 1 and seen[0].shape == (6, 64)
    assert np.all((seen[0] >= 0) & (seen[0] < 2**16))  # each message is already noised and reduced mod 2^bits
    assert out.sigma == pytest.approx(1.0 * 0.5 / (out.gamma * math.sqrt(6)))


def test_too_few_bits_wrap_around_and_the_simulation_sees_it():
    updates = [np.full(16, 0.25) for _ in range(8)]  # all clients agree: the sum is large
    ok = ddp.distributed_dp_sum(updates, clip=1.0, noise_multiplier=0.0, bits=16, gamma=1e-3, rng=0, secure=False)
    bad = ddp.distributed_dp_sum(updates, clip=1.0, noise_multiplier=0.0, bits=8, gamma=1e-3, rng=0, secure=False)
    assert ok.wrapped == 0 and bad.wrapped > 0
    assert np.allclose(ok.total, 2.0, atol=8 * 1e-3 * 4)
    assert not np.allclose(bad.total, 2.0, atol=0.5)


def test_accounting_reduces_to_the_gaussian_mechanism_of_dp_accounting():
    """With sigma large (tau underflows to 0) the RDP is alpha s^2 / 2 with s = (clip + gamma sqrt(d)) /
    (z clip): dp-accounting's Gaussian mechanism with noise multiplier 1/s, composed over the rounds."""
    import dp_accounting

    z, clip, gamma, n, dim, rounds, delta = 1.1, 0.3, 1e-4, 20, 650, 50, 1e-5
    sigma = z * clip / (gamma * math.sqrt(n))
    assert ddp.ddg_tau(sigma, n) == 0.0
    s = (clip + gamma * math.sqrt(1024)) / (z * clip)
    acc = dp_accounting.rdp.RdpAccountant(list(ddp.RDP_ORDERS))
    acc.compose(dp_accounting.GaussianDpEvent(1 / s), rounds)
    ours = ddp.ddg_epsilon(noise_multiplier=z, clip=clip, gamma=gamma, n_clients=n, dim=dim, rounds=rounds,
                           delta=delta)
    assert ours == pytest.approx(acc.get_epsilon(delta), rel=1e-9)
    # coarser gamma inflates the sensitivity by sqrt(d) gamma: epsilon grows
    coarse = ddp.ddg_epsilon(noise_multiplier=z, clip=clip, gamma=3e-3, n_clients=n, dim=dim, rounds=rounds,
                             delta=delta)
    assert coarse > ours * 1.05


def test_tau_is_theorem_1s_sum_and_penalises_small_noise():
    sigma, n = 0.3, 3
    expected = 10 * (math.exp(-2 * math.pi**2 * 0.09 / 2) + math.exp(-2 * math.pi**2 * 0.09 * 2 / 3))
    assert ddp.ddg_tau(sigma, n) == pytest.approx(expected, rel=1e-12)
    assert ddp.ddg_tau(sigma, 1) == 0.0  # one client: its noise is one discrete Gaussian
    # sigma = 1 / (0.5 sqrt(10)) = 0.63 >= 1/2; s = (1 / 0.5 + sqrt(4)) / (sqrt(10) sigma) = 2
    r_small = ddp.ddg_rdp([2.0], noise_multiplier=1.0, clip=1.0, gamma=0.5, n_clients=10, dim=4)
    assert r_small[0] > 2.0 * 2.0**2 / 2 + 0.1  # the tau terms add to the Gaussian-limit value
    with pytest.raises(ValueError, match="at least 1/2"):  # sigma = 0.32: outside the proved range
        ddp.ddg_rdp([2.0], noise_multiplier=1.0, clip=1.0, gamma=1.0, n_clients=10, dim=4)


def test_rdp_is_the_authors_bound_where_tau_matters():
    """Against the formula of the authors' accounting code (google-research/federated, distributed_dp,
    ``ddgauss_epsilon`` with beta = 0 and ``compute_rdp_dgaussian`` at q = 1), transcribed here in their
    variables: local_stddev in model units, scale = 1 / gamma, l2_sens inflated by the rounding. At
    sigma = 0.8 tau is far from 0, so the tau terms are checked, not only the Gaussian limit."""
    z, clip, n, dim, padded = 1.0, 1.0, 50, 1000, 1024
    gamma = z * clip / (0.8 * math.sqrt(n))  # sigma = 0.8 in integer units
    local_stddev = z * clip / math.sqrt(n)
    scale = 1 / gamma
    l2_sens = (clip * scale + math.sqrt(padded)) / scale  # rounded_l2_norm_bound at beta = 0
    tau = 10 * sum(math.exp(-2 * (math.pi * local_stddev * scale) ** 2 * (k / (k + 1))) for k in range(1, n))
    assert tau > 1e-2
    l2_scale = l2_sens / (math.sqrt(n) * local_stddev)
    orders = np.array([2.0, 3.0, 8.0, 32.0])
    term_1 = orders / 2 * l2_scale**2 + tau * padded
    term_3 = orders / 2 * (l2_scale + math.sqrt(padded) * tau) ** 2
    ours = ddp.ddg_rdp(orders, noise_multiplier=z, clip=clip, gamma=gamma, n_clients=n, dim=dim)
    assert np.allclose(ours, np.minimum(term_1, term_3), rtol=1e-12)
    assert np.any(term_1 < term_3) and np.any(term_3 < term_1)  # both branches of the minimum are used


def test_dropouts_remove_their_noise_shares():
    """Threat model: noise shares are sized for the expected n; the clients that drop out (or collude and
    subtract theirs) take their shares with them. 15 of 20 expected clients leave noise of standard deviation
    z C sqrt(15/20) on the sum, not z C; the accounting of 15 shares is the Gaussian mechanism at that
    smaller multiplier (tau = 0 here)."""
    import dp_accounting

    z, clip, d, bits = 1.0, 1.0, 4096, 20
    zeros = [np.zeros(d) for _ in range(15)]  # no signal: the decoded sum is the noise (and the rounding of 0: none)
    out = ddp.distributed_dp_sum(zeros, clip=clip, noise_multiplier=z, bits=bits, expected_clients=20, rng=3,
                                 secure=False)
    std, half = float(np.std(out.total)), 4 * z * clip / math.sqrt(2 * d)  # ~4 standard errors
    assert abs(std - z * clip * math.sqrt(15 / 20)) < half * math.sqrt(15 / 20)
    assert std < z * clip - half  # clearly less than the noise the 20 shares were sized for
    assert out.wrapped == 0
    gamma = ddp.choose_gamma(bits=16, clip=0.3, noise_multiplier=1.0, n_clients=20, dim=650)
    eps15 = ddp.ddg_epsilon(noise_multiplier=math.sqrt(15 / 20), clip=0.3, gamma=gamma, n_clients=15, dim=650,
                            rounds=50, delta=1e-5)
    acc = dp_accounting.rdp.RdpAccountant(list(ddp.RDP_ORDERS))
    acc.compose(dp_accounting.GaussianDpEvent(math.sqrt(15 / 20) * 0.3 / (0.3 + gamma * 32)), 50)
    assert eps15 == pytest.approx(acc.get_epsilon(1e-5), rel=1e-9)


def test_gamma_is_tffs_heuristic():
    pytest.importorskip("tensorflow")
    from tensorflow_federated.python.aggregators import distributed_dp as tff_ddp

    for bits, z, n in ((16, 1.0, 20), (10, 0.5, 50), (20, 2.0, 5)):
        local = z * 0.3 / math.sqrt(n)
        theirs = 1 / float(tff_ddp._heuristic_scale_factor(local, 0.3, bits, n, 1024, 3.9))
        assert ddp.choose_gamma(bits=bits, clip=0.3, noise_multiplier=z, n_clients=n, dim=650,
                                k_stddevs=3.9) == pytest.approx(theirs, rel=1e-6)


def test_aggregator_without_noise_matches_the_clipped_fedavg_round():
    """One round on the same clients: DistributedDPSum with z = 0 moves the model as the clipped sum over
    the expected count (GaussianSum with z = 0) does, up to the rounding bound gamma sqrt(d') per client."""
    from labkit import data, fl
    from labkit.fl.dp_fedavg import ClippedUpdate

    digits = data.load("digits")
    clients = fl.client_arrays(digits.x_train, digits.y_train, data.partition(digits.y_train, 20, "iid", seed=0))
    model = fl.SoftmaxRegression(64, 10)
    params = model.init(np.random.default_rng(0))
    update = ClippedUpdate(fl.LocalSGD(0.3, 1, 10, shuffle=False), 0.3)
    selected = list(range(0, 20, 2))
    central = fl.federated_round(model, params, clients, selected, update, aggregator=fl.GaussianSum(0.0, 0.3, 10.0))
    agg = fl.DistributedDPSum(0.0, 0.3, 10, 20, np.random.default_rng(1))
    ours = fl.federated_round(model, params, clients, selected, update, aggregator=agg)
    gamma = ddp.choose_gamma(bits=20, clip=0.3, noise_multiplier=0.0, n_clients=10, dim=650)
    diff = np.linalg.norm(ours.params.astype(np.float64) - central.params.astype(np.float64))
    assert diff <= gamma * math.sqrt(1024) + 1e-5  # 10 clients' rounding error, divided by the 10 expected
    assert np.linalg.norm(central.params - params) > 100 * diff  # the round moved the model far more than that


def test_notebook_client_message_equals_labkits():
    from notebook_source import notebook_function

    ns = {"np": np, "ddp": ddp}
    built = notebook_function("07", "client_message", ns)
    signs = ddp.rotation_signs(40, 4)
    for scale, sigma, bits in ((0.01, 0.0, 16), (5.0, 3.5, 12), (0.0, 2.0, 8), (100.0, 40.0, 20)):
        update = np.random.default_rng(int(scale * 7)).normal(size=40) * scale
        ours = built(update, clip=1.0, gamma=0.01, sigma=sigma, bits=bits, signs=signs, rng=np.random.default_rng(9))
        ref = ddp.client_message(update, clip=1.0, gamma=0.01, sigma=sigma, bits=bits, signs=signs,
                                 rng=np.random.default_rng(9))
        assert np.array_equal(ours, ref)


@pytest.mark.slow
def test_tff_distributed_dp_sum_factory_agrees():
    """TFF 0.87's DistributedDpSumFactory (mechanism distributed_dgauss, Hadamard rotation, 20 bits; not
    exported under tff.aggregators, imported from its module) run in simulation beside ours on the same
    10 clients: without noise both land within the rounding of the plain clipped sum; with z = 2 both
    sums carry noise of standard deviation z * C (each within its 99.9% interval from 256 coordinates)."""
    pytest.importorskip("tensorflow_federated")
    from tensorflow_federated.python.aggregators.distributed_dp import DistributedDpSumFactory

    from labkit.fl import tff as tff_runtime

    rng = np.random.default_rng(0)
    d, n, clip = 256, 10, 1.0
    vals = [rng.normal(size=d).astype(np.float32) * 0.2 for _ in range(n)]
    clipped = np.sum([ddp.clip_l2(x.astype(np.float64), clip) for x in vals], axis=0)
    # tensorflow-privacy's discrete Gaussian draws unseeded noise, which TF op determinism (labkit.setup, or
    # an earlier test) forbids: lift it for this run, as labkit's own TFF helpers do.
    with tff_runtime.session(n, simulate_secure_sum=True) as tff, tff_runtime._unseeded_random_ops_allowed():
        for z in (0.0, 2.0):
            factory = DistributedDpSumFactory(noise_multiplier=z, expected_clients_per_round=n, bits=20, l2_clip=clip,
                                              mechanism="distributed_dgauss", rotation_type="hd")
            process = factory.create(tff.TensorType(np.float32, [d]))
            theirs = np.asarray(process.next(process.initialize(), vals).result, np.float64)
            ours = ddp.distributed_dp_sum([x.astype(np.float64) for x in vals], clip=clip, noise_multiplier=z,
                                          bits=20, rng=1, secure=False).total
            if z == 0:
                assert np.max(np.abs(theirs - clipped)) < 1e-4 and np.max(np.abs(ours - clipped)) < 1e-4
            else:
                half = 3.3 * z * clip / math.sqrt(2 * d)
                for total in (theirs, ours):
                    assert abs(np.std(total - clipped) - z * clip) < half
