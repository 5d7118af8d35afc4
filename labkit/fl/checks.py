"""Exercise checks of the federated-learning track: notebooks 06 and 07.

``CHECKS`` maps exercise ids to checks (see :mod:`labkit.exercises`).
"""

from __future__ import annotations

import numpy as np

from labkit.exercises import Exercise, require

def _server_average(fn) -> str:
    """06.1: the FedAvg server step, sum_k n_k w_k / sum_k n_k, on flat vectors."""
    from labkit.fl import weighted_average

    rng = np.random.default_rng(6)
    for trial in range(5):
        k = int(rng.integers(2, 6))
        models = [rng.normal(size=7).astype(np.float32) for _ in range(k)]
        sizes = [int(s) for s in rng.integers(1, 200, size=k)]
        got = np.asarray(fn(models, sizes), dtype=np.float64)
        require(got.shape == (7,), f"return one vector of the models' shape (7,); got shape {got.shape}")
        want = weighted_average([[m] for m in models], sizes)[0]
        if np.allclose(got, np.mean(models, axis=0), atol=1e-5) and not np.allclose(want, np.mean(models, axis=0), atol=1e-5):
            require(False, "you took the plain mean: weight each client's model by its number of examples n_k")
        require(np.allclose(got, want, atol=1e-5),
                "the result should be sum_k n_k * w_k divided by sum_k n_k (the weights must add up to 1)")
    return "The server's model is the data-weighted average of the client models."


def _bytes_to_target(fn) -> str:
    """06.2: bytes a run moves until it reaches the target (both directions, float32)."""
    cases = [(650, 5, 34), (650, 5, 5), (1000, 10, 3), (12, 1, 1)]
    for params, clients, rounds in cases:
        got = fn(params, clients, rounds)
        want = 2 * 4 * params * clients * rounds
        require(isinstance(got, (int, float, np.integer, np.floating)), f"return a number; got {type(got).__name__}")
        require(got != want / 2, "count both directions: the model goes down to each client and an update comes back")
        require(got != want / 4, "each float32 parameter takes 4 bytes")
        require(got == want, f"for {params} parameters, {clients} clients a round and {rounds} rounds expect {want} bytes; got {got}")
    return "Fewer rounds means proportionally fewer bytes: that is FedAvg's saving."


_CHECKS_06 = {"06.1": Exercise(_server_average, "build", "core", 10), "06.2": Exercise(_bytes_to_target, "warm-up", "warm-up", 5)}


def _clip(fn) -> str:
    """07.1: scale an update so its L2 norm is at most clip (never per coordinate)."""
    rng = np.random.default_rng(7)
    for _ in range(6):
        v = rng.normal(size=10) * rng.choice([0.01, 1.0, 10.0])
        c = float(rng.choice([0.1, 1.0, 5.0]))
        got = np.asarray(fn(v.copy(), c), dtype=np.float64)
        require(got.shape == v.shape, f"return an update of the same shape {v.shape}; got {got.shape}")
        norm = np.linalg.norm(v)
        want = v * min(1.0, c / norm)
        if np.allclose(got, np.clip(v, -c, c)) and not np.allclose(want, np.clip(v, -c, c)):
            require(False, "np.clip bounds each coordinate, not the L2 norm of the whole update")
        require(np.linalg.norm(got) <= c * (1 + 1e-6), f"the clipped update's L2 norm must be at most {c}")
        require(np.allclose(got, want, atol=1e-9),
                "scale the update by min(1, clip / ||update||): keep its direction, and leave it alone when it is short")
    return "Each client's influence on the sum is now at most clip."


def _noise_std(fn) -> str:
    """07.2: per-coordinate noise std of the released average, z * clip / (q * K)."""
    for z, clip, q, k in [(1.0, 0.3, 0.2, 100), (2.0, 1.0, 0.1, 1000), (0.5, 2.0, 0.5, 10)]:
        got = float(fn(z, clip, q, k))
        want = z * clip / (q * k)
        if np.isclose(got, want, rtol=1e-9):
            continue
        require(not np.isclose(got, z / (q * k)), "the noise on the sum has standard deviation z * clip, not z")
        require(not np.isclose(got, z * clip), "the sum is divided by the expected number of clients q * K")
        require(False,
                f"for z={z}, clip={clip}, q={q}, K={k} expect {want:.6g}; got {got:.6g}")
    return "More clients per round dilute the same noise: user-level DP needs many users."


_CHECKS_07 = {"07.1": Exercise(_clip, "build", "warm-up", 5), "07.2": Exercise(_noise_std, "warm-up", "warm-up", 5)}


CHECKS = {**_CHECKS_06, **_CHECKS_07}
