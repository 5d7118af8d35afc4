"""Shamir t-of-n secret sharing over a prime field (Shamir 1979).

The dealer picks a random polynomial f of degree t - 1 with f(0) = secret and gives party i
the point (i, f(i)). Any t points determine f, hence the secret, by Lagrange interpolation;
any t - 1 points are consistent with every possible secret, so they reveal nothing.

Teaching implementation with Python integers; MPyC (used in the same notebook) implements the
same scheme with its own field arithmetic.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import functools

import secrets
from typing import Sequence

import numpy as np

from labkit import _validate
from labkit.smpc.ring import rng_or_entropy

PRIME = 2**127 - 1
"""Default field: the Mersenne prime 2^127 - 1 (secrets must lie in [0, PRIME))."""
MAX_PARTIES = 1_000_000
"""Most shares :func:`shamir_share` makes (x = 1..n, one polynomial evaluation each)."""
MAX_PRIME_BITS = 4096
"""Largest field modulus, in bits."""


def check_prime(prime, name: str = "prime") -> int:
    """``prime`` as an int: a prime from 3 to 2**4096 (Miller-Rabin, error below 4**-40)."""
    prime = _validate.integer(name, prime, minimum=3)
    if prime.bit_length() > MAX_PRIME_BITS:
        raise ValueError(f"{name} must have at most {MAX_PRIME_BITS} bits; got a {prime.bit_length()}-bit number")
    if not _known_prime(prime):
        raise ValueError(f"{name} must be a prime (the shares live in the field of integers mod a prime); got {prime}, "
                         "which is composite")
    return prime


@functools.lru_cache(maxsize=64)
def _known_prime(prime: int) -> bool:
    """Miller-Rabin once per modulus: a 521-bit test takes about 4 ms, and secure aggregation checks the
    same field prime for every share of every round."""
    from labkit.he.paillier import is_probable_prime

    return is_probable_prime(prime)


def random_field_element(prime: int, rng: np.random.Generator | int | None = None) -> int:
    """A uniform element of [0, prime): from ``secrets`` (OS entropy) unless ``rng`` is given.

    ``prime`` may be any modulus from 2 up (secure aggregation draws 256-bit seeds with 2**256).

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = _validate.integer("prime", prime, minimum=2)  # any modulus works here (secagg draws 2**256)
    if prime.bit_length() > MAX_PRIME_BITS + 1:
        raise ValueError(f"prime must have at most {MAX_PRIME_BITS} bits; got a {prime.bit_length()}-bit number")
    rng = rng_or_entropy(rng)
    if rng is None:
        return secrets.randbelow(prime)
    nbytes = (prime.bit_length() + 7) // 8 + 8  # 64 extra bits make the modulo bias negligible
    return int.from_bytes(rng.bytes(nbytes), "big") % prime


def shamir_share(
    secret: int,
    n_parties: int,
    threshold: int,
    rng: np.random.Generator | int | None = None,
    *,
    prime: int = PRIME,
) -> list[tuple[int, int]]:
    """Split an integer into ``n_parties`` Shamir shares, any ``threshold`` of which rebuild it.

    Args:
        secret: an integer in [0, prime).
        n_parties: number of shares (points x = 1..n), at least 1.
        threshold: t, from 1 to ``n_parties``; the polynomial has degree t - 1.
        rng: ``None`` (default) draws the coefficients with ``secrets`` (OS entropy); a seeded
            ``np.random.Generator`` (or an integer seed) gives a reproducible demonstration.
        prime: the field modulus (default 2^127 - 1); must exceed ``n_parties``.

    Returns:
        ``[(1, f(1)), ..., (n, f(n))]``.

    Raises:
        ValueError: naming the parameter that is out of range.
        TypeError: naming the parameter that is not an integer (or ``rng`` of the wrong kind).

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = check_prime(prime)
    n_parties = _validate.count("n_parties", n_parties, maximum=MAX_PARTIES)
    if n_parties >= prime:
        raise ValueError(f"prime must exceed n_parties ({n_parties}): each party needs its own non-zero x mod prime; got {prime}")
    threshold = _validate.count("threshold", threshold, maximum=n_parties)
    secret = _validate.integer("secret", secret, minimum=0, maximum=prime - 1)
    rng = rng_or_entropy(rng)
    coeffs = [secret] + [random_field_element(prime, rng) for _ in range(threshold - 1)]
    points = []
    for x in range(1, n_parties + 1):
        y = 0
        for c in reversed(coeffs):  # Horner's rule
            y = (y * x + c) % prime
        points.append((x, y))
    return points


def lagrange_at_zero(xs: Sequence[int], prime: int = PRIME) -> list[int]:
    """Coefficients l_j with f(0) = sum_j l_j f(x_j) for any f of degree < len(xs).

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = check_prime(prime)
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__iter__"):
        raise TypeError(f"xs must be a sequence of integer x coordinates; got {xs!r}")
    xs = [_validate.integer(f"xs[{i}]", x) % prime for i, x in enumerate(xs)]
    if not xs:
        raise ValueError("xs must hold at least one x coordinate; got none")
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
    if isinstance(points, (str, bytes)) or not hasattr(points, "__len__"):
        raise TypeError(f"points must be a list of (x, y) pairs; got {points!r}")
    if len(points) == 0:
        raise ValueError("points must hold at least one (x, y) pair; got none")
    for i, pt in enumerate(points):
        if isinstance(pt, (str, bytes)) or not hasattr(pt, "__len__") or len(pt) != 2:
            raise TypeError(f"points[{i}] must be an (x, y) pair of integers; got {pt!r}")
    xs = [_validate.integer(f"points[{i}][0]", x) for i, (x, _) in enumerate(points)]
    ys = [_validate.integer(f"points[{i}][1]", y) for i, (_, y) in enumerate(points)]
    coeffs = lagrange_at_zero(xs, prime)
    return sum(c * (y % prime) for c, y in zip(coeffs, ys)) % prime
