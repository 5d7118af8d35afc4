"""Secure computation (notebook 09): secure aggregation against a plain NumPy sum, Beaver matrix
products against NumPy, how secure aggregation grows with the number of clients (all pairs vs a
SecAgg+ neighbour graph), and the widget's update time. Secure aggregation: 10 clients x 100k
float32 values, no dropouts, keys and seeds from OS entropy, masks expanded with ChaCha20, shares
encrypted with ChaCha20-Poly1305. Beaver: 2 parties, 100 x 100 float64 matrices, 16 fractional
bits, shares from OS entropy."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds


def _expand_like_secagg(n: int, d: int) -> None:
    """The PRG work secure aggregation cannot avoid: n self-masks and n(n-1) pairwise masks expanded by
    the clients (each pairwise mask by both ends), and the n self-masks again by the server."""
    import secrets

    from labkit.smpc.secagg import expand_mask

    for _ in range(n * (n - 1) + 2 * n):
        expand_mask(secrets.randbits(256), d)


def rows() -> list:
    from labkit import smpc
    from labkit.smpc.widgets import coalition_outputs

    rng = np.random.default_rng(0)
    vectors = [rng.normal(size=100_000).astype(np.float32) for _ in range(10)]
    x, y = rng.normal(size=(100, 100)), rng.normal(size=(100, 100))
    xs, ys = smpc.share(x, 2), smpc.share(y, 2)
    full_dealer = smpc.TrustedDealer(2)
    online_dealer = smpc.TrustedDealer(2)
    online_dealer.prepare_matmul((100, 100), (100, 100), 30)  # offline phase, before any timing
    xe, ye = smpc.encode(x), smpc.encode(y)

    out: list = [
        Comparison("secure aggregation, 10 clients x 100k float32 (all pairs)", lambda: smpc.secure_aggregate(vectors),
                   lambda: np.sum(vectors, axis=0), "np.sum", repeats=7, note="budget <= 50x, stretch 20x"),
        Comparison("secure aggregation, 10 clients x 100k, against its floor", lambda: smpc.secure_aggregate(vectors),
                   lambda: _expand_like_secagg(10, 100_000), "the same 110 ChaCha20 mask expansions", repeats=7,
                   note="each client expands its self-mask and 9 pairwise masks; the server re-expands 10 self-masks"),
        Comparison("secure aggregation, same, 2 of 10 dropped", lambda: smpc.secure_aggregate(vectors, dropped=[3, 7]),
                   lambda: np.sum(vectors[:8], axis=0), "np.sum of 8", repeats=7),
        Comparison("Beaver matmul 100x100, dealer included", lambda: smpc.beaver_matmul(xs, ys, full_dealer),
                   lambda: x @ y, "x @ y float64", repeats=21, note="budget <= 50x; CrypTen reports ~400x"),
        Comparison("Beaver matmul 100x100, online phase (triples prepared)", lambda: smpc.beaver_matmul(xs, ys, online_dealer),
                   lambda: x @ y, "x @ y float64", repeats=21),
        Comparison("Beaver matmul 100x100, dealer included, vs the same ring product in the clear",
                   lambda: smpc.beaver_matmul(xs, ys, full_dealer), lambda: xe @ ye, "uint64 x @ y", repeats=21,
                   note="fixed-point product mod 2^64 without secrecy"),
        Comparison("one uint64 ring matmul 100x100 (no protocol)", lambda: smpc.ring_matmul(xe, ye),
                   lambda: x @ y, "x @ y float64", repeats=21, note="the floor: integer ring vs float BLAS"),
    ]
    for n in (10, 50, 100):
        for k, label in ((None, "all pairs"), (8, "8 neighbours")):
            vecs = rng.normal(size=(n, 10_000)).astype(np.float32)
            out.append(Measurement(
                f"secure aggregation, {n} clients x 10k, {label}",
                lambda vecs=vecs, k=k: median_seconds(
                    [lambda: smpc.secure_aggregate(vecs, dropped=[0], neighbours=k)] * 3, warmup=True) * 1e3,
                "ms", "", "1 dropout; keys, Shamir shares and masks included"))
    out.append(Measurement("coalition widget update (figure + verdict)",
                           lambda: median_seconds([lambda: coalition_outputs(42, 5, 3, (0, 1), 0)] * 5, warmup=True) * 1e3,
                           "ms",
                           "<= 100 ms median"))
    return out
