"""Shamir t-of-n secret sharing over a prime field (Shamir 1979).

The dealer picks a random polynomial f of degree t - 1 with f(0) = secret and gives party i
the point (i, f(i)). Any t points determine f, hence the secret, by Lagrange interpolation;
any t - 1 points are consistent with every possible secret, so they reveal nothing.

Teaching implementation with Python integers; MPyC (used in the same notebook) implements the
same scheme with its own field arithmetic.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import secrets
from typing import Sequence

import numpy as np

PRIME = 2**127 - 1
"""Default field: the Mersenne prime 2^127 - 1 (secrets must lie in [0, PRIME))."""


def _check_prime(prime: int) -> int:
    if isinstance(prime, bool) or not isinstance(prime, (int, np.integer)) or prime < 3:
        raise ValueError(f"prime must be a prime integer >= 3; got {prime!r}")
    return int(prime)


def random_field_element(prime: int, rng: np.random.Generator | None = None) -> int:
    """A uniform element of [0, prime): from ``secrets`` (OS entropy) unless ``rng`` is given."""
    if rng is None:
        return secrets.randbelow(prime)
    nbytes = (prime.bit_length() + 7) // 8 + 8  # 64 extra bits make the modulo bias negligible
    return int.from_bytes(rng.bytes(nbytes), "big") % prime


def shamir_share(
    secret: int,
    n_parties: int,
    threshold: int,
    rng: np.random.Generator | None = None,
    *,
    prime: int = PRIME,
) -> list[tuple[int, int]]:
    """Split an integer into ``n_parties`` Shamir shares, any ``threshold`` of which rebuild it.

    Args:
        secret: an integer in [0, prime).
        n_parties: number of shares (points x = 1..n), at least 1.
        threshold: t, from 1 to ``n_parties``; the polynomial has degree t - 1.
        rng: ``None`` (default) draws the coefficients with ``secrets`` (OS entropy); a seeded
            ``np.random.Generator`` gives a reproducible demonstration.
        prime: the field modulus (default 2^127 - 1); must exceed ``n_parties``.

    Returns:
        ``[(1, f(1)), ..., (n, f(n))]``.

    Raises:
        ValueError: naming the parameter that is out of range.

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = _check_prime(prime)
    if isinstance(n_parties, bool) or not isinstance(n_parties, (int, np.integer)) or not 1 <= n_parties < prime:
        raise ValueError(f"n_parties must be an integer from 1 to {min(prime - 1, 10**6)}; got {n_parties!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 1 <= threshold <= n_parties:
        raise ValueError(f"threshold must be an integer from 1 to n_parties={n_parties}; got {threshold!r}")
    if isinstance(secret, bool) or not isinstance(secret, (int, np.integer)) or not 0 <= secret < prime:
        raise ValueError(f"secret must be an integer in [0, prime) = [0, {prime}); got {secret!r}")
    coeffs = [int(secret)] + [random_field_element(prime, rng) for _ in range(int(threshold) - 1)]
    points = []
    for x in range(1, int(n_parties) + 1):
        y = 0
        for c in reversed(coeffs):  # Horner's rule
            y = (y * x + c) % prime
        points.append((x, y))
    return points


def lagrange_at_zero(xs: Sequence[int], prime: int = PRIME) -> list[int]:
    """Coefficients l_j with f(0) = sum_j l_j f(x_j) for any f of degree < len(xs)."""
    prime = _check_prime(prime)
    xs = [int(x) % prime for x in xs]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError(f"points must have distinct, non-zero x coordinates; got {sorted(xs)}")
    coeffs = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * xm % prime
                den = den * (xm - xj) % prime
        coeffs.append(num * pow(den, -1, prime) % prime)
    return coeffs


def shamir_reconstruct(points: Sequence[tuple[int, int]], *, prime: int = PRIME) -> int:
    """Rebuild the secret f(0) from points (x, f(x)) by Lagrange interpolation.

    Pass at least ``threshold`` points; with fewer, the result is a field element unrelated to
    the secret (every secret is equally consistent with them).

    Introduced in ``09-secure-computation.ipynb``.
    """
    if len(points) == 0:
        raise ValueError("points must hold at least one (x, y) pair; got none")
    xs = [x for x, _ in points]
    coeffs = lagrange_at_zero(xs, prime)
    return sum(c * (int(y) % prime) for c, (_, y) in zip(coeffs, points)) % prime
