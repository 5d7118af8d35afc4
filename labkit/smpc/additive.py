"""Additive secret sharing over Z_(2^64) with fixed-point encoding.

A value x is encoded as an integer v = round(x * 2^16) mod 2^64 and split into n shares that
add up to v modulo 2^64. The first n - 1 shares are uniformly random, so any n - 1 of them
are uniformly distributed whatever x is: only all n together reveal anything.

Teaching implementation: production frameworks (MP-SPDZ, CrypTen, MPyC) add authenticated
channels, malicious security and careful randomness handling.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labkit import _validate
from labkit.smpc.ring import FRAC_BITS, _encode, check_frac_bits, decode, encode, random_ring, ring_array, rng_or_entropy

MAX_PARTIES = 10_000
"""The most parties a sharing here accepts (n_parties from 2 to this)."""


def check_shares(name: str, shares, n_parties: int | None = None) -> list[np.ndarray]:
    """``shares`` as a list of at least 2 ``uint64`` arrays of one shape (``n_parties`` of them if given).

    A TypeError or ValueError naming ``name`` otherwise.
    """
    if n_parties is not None:
        n_parties = _validate.count("n_parties", n_parties, minimum=2, maximum=MAX_PARTIES)
    if isinstance(shares, (np.ndarray, str, bytes)) or not isinstance(shares, Sequence):
        raise TypeError(f"{name} must be a list of share arrays (one per party); got {type(shares).__name__}")
    if len(shares) < 2:
        raise ValueError(f"{name} must be a list of at least 2 share arrays (one per party); got {len(shares)}")
    if n_parties is not None and len(shares) != n_parties:
        raise ValueError(f"{name} must hold one share per party ({n_parties}); got {len(shares)}")
    out = [ring_array(f"{name}[{i}]", s) for i, s in enumerate(shares)]
    for i, s in enumerate(out[1:], 1):
        if s.shape != out[0].shape:
            raise ValueError(f"{name} must all have the same shape; got {out[0].shape} and {s.shape} ({name}[{i}])")
    return out


def share_encoded(v: np.ndarray, n_parties: int, rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """Split ring elements ``v`` (``uint64``) into ``n_parties`` additive shares.

    Randomness comes from OS entropy unless ``rng`` (a generator or a seed) is given
    (reproducible demonstrations only).

    Introduced in ``09-secure-computation.ipynb``.
    """
    n = _validate.count("n_parties", n_parties, minimum=2, maximum=MAX_PARTIES)
    rng = rng_or_entropy(rng)
    v = ring_array("v", v)
    shares = [random_ring(v.shape, rng) for _ in range(n - 1)]
    last = v.copy()
    for s in shares:
        last -= s
    return shares + [last]


def share(
    x: np.ndarray | float, n_parties: int, rng: np.random.Generator | int | None = None, *, frac_bits: int = FRAC_BITS
) -> list[np.ndarray]:
    """Secret-share real numbers additively among ``n_parties`` parties.

    The value is encoded with ``frac_bits`` fractional bits (default 16: resolution 2^-16,
    about 1.5e-5; representable range |x| < 2^47, about 1.4e14), then split into shares
    s_1 + ... + s_n = encode(x) mod 2^64.

    Args:
        x: a number or array of numbers.
        n_parties: number of shares, at least 2.
        rng: ``None`` (default) draws the shares from OS entropy (``os.urandom``), as a real
            deployment must; pass a seeded ``np.random.Generator`` (or an integer seed) only
            for a reproducible demonstration.
        frac_bits: fractional bits of the fixed-point encoding (0 shares integers exactly).

    Returns:
        A list of ``n_parties`` ``uint64`` arrays with the shape of ``x``.

    Raises:
        ValueError: if ``n_parties`` is outside 2..10000 or a value is outside the representable range.
        TypeError: if ``n_parties`` is not an integer or ``rng`` is neither a generator, a seed nor None.

    Introduced in ``09-secure-computation.ipynb``.
    """
    return share_encoded(encode(x, frac_bits), n_parties, rng)


def reconstruct_encoded(shares: Sequence[np.ndarray]) -> np.ndarray:
    """Add shares modulo 2^64 (the ring element, not decoded).

    Introduced in ``09-secure-computation.ipynb``.
    """
    shares = check_shares("shares", shares)
    total = shares[0].copy()
    for s in shares[1:]:
        total += s
    return total


def reconstruct(shares: Sequence[np.ndarray], *, frac_bits: int = FRAC_BITS) -> np.ndarray | float:
    """Add all shares modulo 2^64 and decode the fixed-point result.

    Returns:
        A float for scalar shares, otherwise a float64 array.

    Introduced in ``09-secure-computation.ipynb``.
    """
    frac_bits = check_frac_bits(frac_bits)
    out = decode(reconstruct_encoded(shares), frac_bits)
    return float(out) if out.ndim == 0 else out


def add(x_shares: Sequence[np.ndarray], y_shares: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Shares of x + y: each party adds its two shares locally (no communication).

    Introduced in ``09-secure-computation.ipynb``.
    """
    x_shares, y_shares = check_shares("x_shares", x_shares), check_shares("y_shares", y_shares)
    _validate.same_length(x_shares=x_shares, y_shares=y_shares)
    return [a + b for a, b in zip(x_shares, y_shares)]


def add_public(x_shares: Sequence[np.ndarray], c: np.ndarray | float, *, frac_bits: int = FRAC_BITS) -> list[np.ndarray]:
    """Shares of x + c for a public c: only the first party adds the encoded constant.

    Introduced in ``09-secure-computation.ipynb``.
    """
    out = [s.copy() for s in check_shares("x_shares", x_shares)]
    enc = _encode(c, frac_bits, None, "c")
    try:
        shape = np.broadcast_shapes(out[0].shape, enc.shape)
    except ValueError:
        shape = None
    if shape != out[0].shape:
        raise ValueError(f"c must be a number or have the shares' shape {out[0].shape}; got shape {enc.shape}")
    out[0] = out[0] + enc
    return out


def scale_public_int(x_shares: Sequence[np.ndarray], k: int) -> list[np.ndarray]:
    """Shares of k * x for a public integer k: every party multiplies its share locally.

    Introduced in ``09-secure-computation.ipynb``.
    """
    kk = np.asarray(_validate.integer("k", k, minimum=-(2**63), maximum=2**63 - 1), dtype=np.int64).view(np.uint64)
    return [s * kk for s in check_shares("x_shares", x_shares)]

