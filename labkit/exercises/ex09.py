"""Checks for the exercises in ``09-secure-computation.ipynb``."""

from __future__ import annotations

import numpy as np

from labkit.exercises import require


def _reconstruct_fixed_point(fn) -> str:
    from labkit.smpc import share

    rng = np.random.default_rng(9)
    for n in (2, 3, 7):
        x = rng.uniform(-1000, 1000, size=20)
        x[0] = -3.25  # a negative value: the shares must be read as signed
        got = np.asarray(fn(share(x, n, rng)), dtype=np.float64)
        require(got.shape == x.shape, f"return one value per entry, shape {x.shape}; got shape {got.shape}")
        require(bool(np.all(got > -1e9)) and bool(np.all(got < 1e9)),
                "add the shares modulo 2^64 as uint64, then read the sum as int64 (two's complement) before dividing")
        require(np.allclose(got, x, atol=2**-16), f"with {n} parties the result should be x within 2^-16; "
                "add all shares as uint64, view as int64, divide by 2^16")
    return "Shares add up modulo 2^64; the int64 view gives the sign."


def _lagrange(fn) -> str:
    from labkit.smpc import shamir_share

    rng = np.random.default_rng(19)
    prime = 2**61 - 1
    for t, n in ((1, 3), (2, 3), (3, 5), (4, 6)):
        secret = int(rng.integers(0, 2**60))
        points = shamir_share(secret, n, t, rng, prime=prime)
        subset = [points[i] for i in sorted(rng.choice(n, size=t, replace=False))]
        got = fn(subset, prime)
        require(isinstance(got, (int, np.integer)), f"return an int; got {type(got).__name__}")
        require(0 <= int(got) < prime, "reduce the result modulo prime")
        require(int(got) == secret, f"{t} points of a degree-{t - 1} polynomial should give f(0) = {secret}; got {got}. "
                "Divide with the modular inverse pow(den, -1, prime), not with / or //")
    return "Lagrange interpolation at 0 rebuilds the secret from any t shares."


def _average_update(fn) -> str:
    rng = np.random.default_rng(29)
    vectors = [rng.normal(size=6) for _ in range(6)]
    for dropped in ((), (1,), (0, 4)):
        survivors = [v for i, v in enumerate(vectors) if i not in dropped]
        want = np.mean(survivors, axis=0)
        got = np.asarray(fn(vectors, dropped), dtype=np.float64)
        require(got.shape == want.shape, f"return a vector of length {want.shape[0]}; got shape {got.shape}")
        require(np.allclose(got, want, atol=1e-4),
                f"with dropped={dropped} the average is over the {len(survivors)} survivors, not all {len(vectors)} clients")
    return "The server averages over the survivors only, without ever seeing one update."


CHECKS = {"09.1": _reconstruct_fixed_point, "09.2": _lagrange, "09.3": _average_update}
