"""Bad-input campaign specs for labkit.fl.remedies and the remedies-grid helpers of labkit.fl.sweeps
(see tests/campaign.py). Two tiny clients of 6 examples, 3 features, 3 classes."""

import numpy as np

from campaign import Call, Fresh

R = "labkit.fl.remedies:"
_G = np.random.default_rng(0)
X = _G.normal(size=(12, 3)).astype(np.float32)
Y = np.array([0, 1, 2] * 4, dtype=np.int64)
XT, YT = X[:6], Y[:6]


def _clients():
    return [(X[:6].copy(), Y[:6].copy()), (X[6:].copy(), Y[6:].copy())]


def _flat():
    return np.zeros(12, np.float32)


def _rng():
    return np.random.default_rng(0)


def _softmax():
    from labkit.fl import SoftmaxRegression
    return SoftmaxRegression(3, 3)


def _local():
    from labkit.fl import LocalSGD
    return LocalSGD(0.1, 1, 3)


def _adam():
    from labkit.fl import ServerOptimizer
    return ServerOptimizer("adam", 0.1)


def _grid():
    from labkit import data
    return data.load_arrays("sweeps/fl_noniid.npz")


CALLS = [
    Call(R + "ProxSGD", dict(lr=0.1, epochs=1, batch_size=3, shuffle=True, steps=None, mu=0.1),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}, "steps": {"zero", "none"}, "mu": {"zero", "huge"}},
         kinds={"steps": "count"}),
    # as LocalSGD (None/huge = whole client; lr: divergence reported per run; steps 0 = no step, None = epochs);
    # mu = 0 is FedAvg, any finite mu >= 0 is a proximal weight
    Call(R + "ProxSGD.__call__", dict(model=Fresh(_softmax), params=Fresh(_flat), x=XT, y=YT, rng=Fresh(_rng)),
         self_kwargs=dict(lr=0.1, epochs=1, batch_size=3, mu=0.1), accepts={"rng": {"none"}}),
    # rng None: the stored order (shuffle uses the given generator only)
    Call(R + "Scaffold", dict(model=Fresh(_softmax), clients=Fresh(_clients), lr=0.1, epochs=1, batch_size=3,
                              shuffle=True, steps=None, server_lr=1.0),
         accepts={"batch_size": {"none", "huge"}, "lr": {"huge"}, "steps": {"zero", "none"}, "server_lr": {"huge"}},
         kinds={"steps": "count"}),
    # as LocalSGD; server_lr: any step > 0 (divergence is reported by the run loop)
    Call(R + "Scaffold.client_update", dict(k=0, params=Fresh(_flat), x=XT, y=YT, rng=Fresh(_rng)),
         self_kwargs=dict(model=Fresh(_softmax), clients=Fresh(_clients), lr=0.1, batch_size=3),
         accepts={"k": {"zero"}, "rng": {"none"}}),  # client 0 exists; rng None: the stored order
    Call(R + "Scaffold.round", dict(params=Fresh(_flat), clients=Fresh(_clients), selected=[0, 1],
                                    client_weights=[6.0, 6.0], rng=Fresh(_rng)),
         self_kwargs=dict(model=Fresh(_softmax), clients=Fresh(_clients), lr=0.1, batch_size=3),
         accepts={"client_weights": {"none"}, "rng": {"none"}}),  # None: unweighted sum; the stored order
    Call(R + "ServerOptimizer", dict(kind="adam", lr=0.1, momentum=0.0, beta1=0.9, beta2=0.99, tau=1e-3,
                                     bias_correction=False, initial_v=None),
         accepts={"lr": {"huge"}, "momentum": {"zero"}, "beta1": {"zero"}, "beta2": {"zero"}, "tau": {"huge"},
                  "initial_v": {"none", "zero", "huge"}},
         kinds={"initial_v": "real"}),
    # any step and tau > 0; momentum and the betas in [0, 1); initial_v None = tau^2, any finite value >= 0
    Call(R + "ServerOptimizer.step", dict(params=np.zeros(4), delta=np.array([0.1, -0.2, 0.0, 0.3])),
         self_kwargs=dict(kind="adam", lr=0.1)),
    Call(R + "fedopt_round", dict(model=Fresh(_softmax), params=Fresh(_flat), clients=Fresh(_clients), selected=[0, 1],
                                  update=Fresh(_local), optimizer=Fresh(_adam), client_weights=[6.0, 6.0],
                                  rng=Fresh(_rng)),
         accepts={"client_weights": {"none"}, "rng": {"none"}}),  # None: unweighted sum; OS entropy / stored order
    Call(R + "run_method", dict(clients=Fresh(_clients), test=(XT, YT), method="scaffold", rounds=2, lr=0.1, epochs=1,
                                batch_size=3, clients_per_round=None, seed=0, mu=0.0, server_lr=0.01, beta1=0.9,
                                beta2=0.99, tau=1e-3, target=None, progress=None),
         accepts={"batch_size": {"none", "huge"}, "clients_per_round": {"none"}, "lr": {"huge"},
                  "seed": {"zero", "huge", "none"}, "mu": {"zero", "huge"}, "server_lr": {"huge"}, "beta1": {"zero"},
                  "beta2": {"zero"}, "tau": {"huge"}, "target": {"none"}},
         # as run_federated (None = whole client / all clients; lr: divergence stops the run; any seed >= 0, None = OS
    # entropy);
         # mu, server_lr, betas, tau are ignored by SCAFFOLD but still checked; target None = every round
         kinds={"target": "real", "clients_per_round": "count"}, skip={"progress": "a callback"}, timeout=30),
    Call("labkit.fl.sweeps:remedy_curves", dict(grid=Fresh(_grid), method="SCAFFOLD", alpha=1.0, num_clients=10,
                                                epochs=5),
         accepts={"alpha": {"inf"}}),  # inf = IID, a grid point
    Call("labkit.fl.sweeps:rounds_over_seeds", dict(curves=np.array([[0.1, 0.9], [0.2, 0.3]]), target=0.85),
         kinds={"target": "real"}),
]

EXCLUDED: dict = {}
