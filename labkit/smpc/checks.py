"""Checks for the exercises in ``09-secure-computation.ipynb``."""

from __future__ import annotations

import numpy as np

from labkit.exercises import Exercise, Hint, require


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


def _masked_round(rng: np.random.Generator, n: int, d: int, dropped: tuple[int, ...]):
    """A secure-aggregation round as the server sees it after round 3 (Bonawitz et al. 2017).

    Returns the clients' true inputs (kept by the check, never passed to the answer) and what
    the server holds: the survivors' masked vectors, their self-mask seeds rebuilt from shares,
    and the pairwise seeds of (survivor, dropped client) pairs rebuilt from the dropped
    clients' key shares.
    """
    from labkit.smpc import encode, expand_mask

    x = rng.normal(size=(n, d))
    self_seed = {u: int.from_bytes(rng.bytes(32), "big") for u in range(n)}
    pair_seed = {(u, v): int.from_bytes(rng.bytes(32), "big") for u in range(n) for v in range(u + 1, n)}
    survivors = [u for u in range(n) if u not in dropped]
    masked = {}
    for u in survivors:
        y = encode(x[u]) + expand_mask(self_seed[u], d)
        for v in range(n):
            if v != u:
                m = expand_mask(pair_seed[min(u, v), max(u, v)], d)
                y = y + m if v > u else y - m
        masked[u] = y
    seeds = {u: self_seed[u] for u in survivors}
    dangling = [(v, u, pair_seed[min(u, v), max(u, v)]) for u in dropped for v in survivors]
    return x, masked, seeds, dangling


def _server_average(fn) -> str:
    rng = np.random.default_rng(29)
    for n, d, dropped in ((6, 8, ()), (6, 8, (1,)), (6, 5, (0, 4)), (3, 4, (2,))):
        x, masked, seeds, dangling = _masked_round(rng, n, d, dropped)
        survivors = [u for u in range(n) if u not in dropped]
        want = x[survivors].mean(axis=0)
        got = fn({u: y.copy() for u, y in masked.items()}, dict(seeds), list(dangling))
        require(got is not None, "return the average vector; got None")
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Hint(f"return one vector of {d} floats (the average); got {type(got).__name__}") from None
        require(got.shape == want.shape, f"return a vector of length {d}; got shape {got.shape}")
        require(bool(np.all(np.isfinite(got))) and float(np.max(np.abs(got))) < 1e6,
                "the result is as large as a masked vector: remove the masks before you decode. Add the y_u as "
                "uint64 (modulo 2^64), subtract expand_mask(b_u, d) of every survivor, undo each dangling pairwise "
                "mask, then decode once and divide")
        if len(dropped) and np.allclose(got, want * len(survivors) / n, atol=1e-4):
            raise Hint(f"with dropped={dropped} the average is over the {len(survivors)} survivors, not all {n} clients")
        require(np.allclose(got, want, atol=1e-4),
                f"with {len(dropped)} dropped client(s) the average of the survivors is off by up to "
                f"{float(np.max(np.abs(got - want))):.3g}: subtract PRG(b_u) once for each survivor u (its own seed), "
                "and for each dangling (v, u, s) subtract expand_mask(s, d) when u > v and add it when u < v")
    return "The server removed every mask and read only the survivors' average: it never held one update in the clear."


CHECKS = {"09.1": Exercise(_reconstruct_fixed_point, "build", "warm-up", 10), "09.2": Exercise(_lagrange, "build", "core", 15),
          "09.3": Exercise(_server_average, "build", "stretch", 20)}
