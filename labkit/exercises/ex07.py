"""Checks for the exercises in ``07-private-federated-learning.ipynb``."""

from __future__ import annotations

import numpy as np

from labkit.exercises import require


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


CHECKS = {"07.1": _clip, "07.2": _noise_std}
