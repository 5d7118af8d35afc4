"""Checks for the exercises in ``06-federated-averaging.ipynb``."""

from __future__ import annotations

import numpy as np

from labkit.exercises import require


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


CHECKS = {"06.1": _server_average, "06.2": _bytes_to_target}
