"""Bad-input campaign specs for labkit.fl.distributed_dp (see tests/campaign.py)."""

import numpy as np

from campaign import Call, Fresh

_U = [np.linspace(-1, 1, 8), np.linspace(1, -1, 8), np.zeros(8)]
_SIGNS = np.ones(8)


def _rng():
    return np.random.default_rng(0)


def _updates():
    return [u.copy() for u in _U]


def _clients():
    r = np.random.default_rng(0)
    x = r.normal(size=(12, 3)).astype(np.float32)
    y = np.array([0, 1, 2] * 4, dtype=np.int64)
    return [(x[:6].copy(), y[:6].copy()), (x[6:].copy(), y[6:].copy())]


_M = "labkit.fl.distributed_dp"
CALLS = [
    Call(f"{_M}:sample_discrete_gaussian", dict(sigma=2.0, size=10, rng=Fresh(_rng)),
         accepts={"sigma": {"zero"}, "size": {"zero"}, "rng": {"none"}}),  # sigma 0: zeros; size 0: empty; rng None: OS entropy
    Call(f"{_M}:discrete_gaussian_pmf", dict(sigma=2.0, k=np.arange(-3, 4)),
         accepts={"k": {"empty", "scalar", "extra_axis"}}),  # any shape of integers, as NumPy broadcasting
    Call(f"{_M}:rotation_signs", dict(dim=5, seed=0), accepts={"seed": {"zero", "huge"}}),  # any seed >= 0
    Call(f"{_M}:rotate", dict(x=np.arange(5.0), signs=np.ones(8))),
    Call(f"{_M}:unrotate", dict(y=np.arange(8.0), signs=np.ones(8), dim=5)),
    Call(f"{_M}:clip_l2", dict(x=np.arange(5.0), clip=1.0)),
    Call(f"{_M}:stochastic_round", dict(x=np.arange(5.0) / 3, rng=Fresh(_rng)), accepts={"rng": {"none"}}),
    Call(f"{_M}:client_message", dict(update=np.linspace(-1, 1, 8), clip=1.0, gamma=0.01, sigma=2.0, bits=16,
                                      signs=_SIGNS, rng=Fresh(_rng)),
         accepts={"sigma": {"zero"}, "rng": {"none"}}),  # sigma 0: no noise (documented)
    Call(f"{_M}:to_signed", dict(total=np.array([0.0, 5.0, 65535.0]), bits=16),
         accepts={"total": {"scalar", "extra_axis", "empty"}}),  # elementwise: any shape
    Call(f"{_M}:choose_gamma", dict(bits=16, clip=0.3, noise_multiplier=1.0, n_clients=20, dim=650, k_stddevs=3.9),
         accepts={"noise_multiplier": {"zero"}}),  # z = 0: the rounding alone sets gamma
    Call(f"{_M}:ddg_tau", dict(sigma=0.5, n_clients=5)),
    Call(f"{_M}:ddg_rdp", dict(orders=[2.0, 4.0], noise_multiplier=1.0, clip=0.3, gamma=0.001, n_clients=20, dim=650)),
    Call(f"{_M}:ddg_epsilon", dict(noise_multiplier=1.0, clip=0.3, gamma=0.001, n_clients=20, dim=650, rounds=10,
                                   delta=1e-5)),
    Call(f"{_M}:distributed_dp_sum", dict(updates=Fresh(_updates), clip=1.0, noise_multiplier=1.0, bits=16,
                                          expected_clients=3, gamma=None, rotation_seed=0, rng=Fresh(_rng),
                                          secure=False),
         accepts={"noise_multiplier": {"zero"}, "rng": {"none"}, "expected_clients": {"none"}, "gamma": {"none"},
                  "rotation_seed": {"zero", "huge"}},  # any seed >= 0
         kinds={"gamma": "real", "expected_clients": "count"}),
    Call(f"{_M}:DistributedDPSum", dict(noise_multiplier=1.0, clip=1.0, expected_clients=3, bits=16, rng=Fresh(_rng),
                                        secure=False),
         accepts={"noise_multiplier": {"zero"}, "rng": {"none"}}),
    Call(f"{_M}:DistributedDPSum.__call__", dict(updates=Fresh(_updates), params=np.zeros(8, np.float32)),
         self_kwargs=dict(noise_multiplier=1.0, clip=1.0, expected_clients=3, bits=16, rng=Fresh(_rng), secure=False)),
    Call(f"{_M}:run_distributed_dp", dict(clients=Fresh(_clients), test=(np.zeros((2, 3), np.float32),
                                                                           np.array([0, 1])),
                                          rounds=1, cohort=2, clip=1.0, noise_multiplier=1.0, bits=16, lr=0.1,
                                          epochs=1, batch_size=2, seed=0, secure=False),
         accepts={"noise_multiplier": {"zero"}, "bits": {"none"}, "batch_size": {"none", "huge"},
                  "seed": {"none", "zero", "huge"}},  # bits None: central DP; batch larger than the data: full batch
         kinds={"bits": "count"}, timeout=60.0),
]

def _ax():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots()[1]


_SWEEP = {"bits": np.array([8, 16]), "auto": np.full((2, 3), 0.9), "fixed": np.full((2, 3), 0.5),
          "central": np.array([0.9, 0.91, 0.89])}

CALLS += [
    Call(f"{_M}:plot_bits_sweep", dict(ax=Fresh(_ax), sweep=_SWEEP), kinds={"sweep": "object"}),
    Call(f"{_M}:mean_interval", dict(values=np.array([[0.1, 0.2, 0.3]]), confidence=0.95),
         accepts={"values": {"nan_entry", "extra_axis"}}, nonfinite_ok={"values"}),  # NaN: a missing run, its row
    # stays NaN (documented); any leading axes, the seeds on the last
]

EXCLUDED = {
    f"{_M}:load_bits_sweep": "no arguments: reads the verified data/sweeps/fl_distributed_dp.npz",
    f"{_M}:DistributedSum": "a result dataclass (returned by distributed_dp_sum)",
    f"{_M}:bits_sweep": "the make-data sweep of notebook 07 (45 training runs); its settings are SWEEP_SETTINGS",
    f"{_M}:sweep_clients": "no arguments: loads the digits clients of the sweep",
}
