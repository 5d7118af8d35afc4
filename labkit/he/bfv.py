"""Exact integer aggregation with BFV (TenSEAL), beside CKKS's approximate sums.

BFV (Brakerski 2012; Fan and Vercauteren 2012) encrypts vectors of integers modulo a *plain
modulus* t; with batching (t prime, t = 1 mod 2N) a ciphertext of polynomial degree N holds N
integers in slots, and adding ciphertexts adds the slots modulo t, exactly. CKKS encrypts real
numbers with an error that grows with every operation. To aggregate model updates with BFV, each
client *quantises* its update to fixed point (round(x * 2^f), :func:`quantise`), the server adds the
ciphertexts, and the key holder decrypts the exact integer sum and divides by 2^f.

Exactness has one condition: the plain modulus must exceed the range of the sum. TenSEAL decrypts a
BFV slot to the centred representative in (-t/2, t/2], so a sum whose magnitude reaches t/2 wraps
around (:func:`wrap`) and decrypts to a wrong value with no warning. :func:`required_plain_bits`
gives the bits t needs for k summands of magnitude at most B: |sum| <= k B < t / 2.

Plain moduli come from :func:`batching_prime` (the largest prime below 2^bits with p = 1 mod 2N,
what SEAL's ``PlainModulus.Batching`` finds); TenSEAL's tutorial uses t = 1032193 (20 bits) at
N = 4096. Keys come from SEAL's own randomness (not seedable): ciphertexts differ on every run,
decrypted sums do not.

Introduced in ``08-homomorphic-encryption.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from labkit import _validate as v

DEGREES = (4096, 8192, 16384)
"""Polynomial degrees N offered (SEAL's coefficient-modulus defaults give 128-bit security)."""
TUTORIAL_PLAIN_MODULUS = 1032193
"""TenSEAL's tutorial plain modulus at N = 4096: a 20-bit prime with t = 1 mod 8192."""
MAX_PLAIN_BITS = 60
"""SEAL's largest plain modulus (60 bits)."""
MAX_SCALE_BITS = 52


def _is_prime(n: int) -> bool:
    from labkit.he.paillier import is_probable_prime

    return is_probable_prime(n, rng=np.random.default_rng(0))


def batching_prime(poly_modulus_degree: int = 4096, bits: int = 20) -> int:
    """The largest prime t < 2^bits with t = 1 mod 2N: a plain modulus that allows batching.

    Args:
        poly_modulus_degree: N, one of :data:`DEGREES`.
        bits: 14 to 60 (a t of that many bits; small t leaves no room for the sum).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    n = v.choice("poly_modulus_degree", poly_modulus_degree, DEGREES)
    bits = v.count("bits", bits, minimum=math.ceil(math.log2(2 * n)) + 1, maximum=MAX_PLAIN_BITS)
    step = 2 * n
    t = ((1 << bits) - 1) // step * step + 1
    while t >= (1 << (bits - 1)):
        if _is_prime(t):
            return t
        t -= step
    raise ValueError(f"bits={bits} has no prime t = 1 mod {step} with that many bits")  # pragma: no cover


@dataclass(frozen=True)
class BfvContext:
    """A TenSEAL BFV context (``ts``, with its secret key) and its parameters N and t.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    ts: Any
    poly_modulus_degree: int
    plain_modulus: int

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree


def make_context(poly_modulus_degree: int = 4096, plain_modulus: int = TUTORIAL_PLAIN_MODULUS) -> BfvContext:
    """A TenSEAL BFV context (with its secret key) for batched integer vectors, with its N and t.

    Args:
        poly_modulus_degree: N, one of :data:`DEGREES`; a ciphertext holds N integers.
        plain_modulus: t, a prime with t = 1 mod 2N (see :func:`batching_prime`).

    Raises:
        ValueError: a degree not offered, or a t that is not a prime = 1 mod 2N.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    n = v.choice("poly_modulus_degree", poly_modulus_degree, DEGREES)
    t = v.integer("plain_modulus", plain_modulus, minimum=3, maximum=(1 << MAX_PLAIN_BITS) - 1)
    if t % (2 * n) != 1 or not _is_prime(t):
        raise ValueError(f"plain_modulus must be a prime with plain_modulus = 1 mod 2N = {2 * n} (batching); got {t}")
    import tenseal as ts

    return BfvContext(ts.context(ts.SCHEME_TYPE.BFV, poly_modulus_degree=n, plain_modulus=t), n, t)


def _check_ctx(ctx: Any) -> None:
    if not isinstance(ctx, BfvContext):
        raise TypeError(f"ctx must be a BfvContext (labkit.he.bfv.make_context); got {type(ctx).__name__}")


def quantise(values: Any, scale_bits: int = 16) -> np.ndarray:
    """Fixed point: round(x * 2^scale_bits) as int64 (rounding error at most 2^-(scale_bits + 1) per value).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    arr = v.finite_array("values", values)
    scale_bits = v.count("scale_bits", scale_bits, minimum=0, maximum=MAX_SCALE_BITS)
    scaled = np.rint(arr * 2.0**scale_bits)
    if np.any(np.abs(scaled) >= 2.0**62):
        raise ValueError(f"values must satisfy |x| * 2^scale_bits < 2^62; got max |x| = {np.max(np.abs(arr)):.3g}")
    return scaled.astype(np.int64)


def dequantise(ints: Any, scale_bits: int = 16) -> np.ndarray:
    """Inverse of :func:`quantise`: ints / 2^scale_bits as float64."""
    arr = np.asarray(ints)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ints must be an integer array; got dtype {arr.dtype}")
    scale_bits = v.count("scale_bits", scale_bits, minimum=0, maximum=MAX_SCALE_BITS)
    return arr.astype(np.float64) / 2.0**scale_bits


def required_plain_bits(max_abs: int, summands: int) -> int:
    """Bits a plain modulus t needs so that k summands of magnitude <= B add exactly: k B < t / 2.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    max_abs = v.integer("max_abs", max_abs, minimum=0)
    summands = v.count("summands", summands)
    return (2 * summands * max_abs + 1).bit_length()


def wrap(values: Any, plain_modulus: int) -> np.ndarray:
    """What a BFV slot holds for the integer x: the representative of x mod t in (-t/2, t/2] (as TenSEAL decrypts).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    t = v.integer("plain_modulus", plain_modulus, minimum=2, maximum=(1 << MAX_PLAIN_BITS) - 1)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"values must be an integer array; got dtype {arr.dtype}")
    r = [int(x) % t for x in arr.ravel().tolist()]
    return np.array([x - t if x > t // 2 else x for x in r], dtype=object if t >= 2**62 else np.int64).reshape(arr.shape)


def encrypt(ctx: Any, ints: Any):
    """Encrypt an integer vector as a TenSEAL ``BFVVector`` (at most N values).

    Raises:
        ValueError: more values than slots, or a value outside (-t/2, t/2].

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    _check_ctx(ctx)
    arr = np.asarray(ints)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"ints must be a non-empty 1-D integer array; got shape {arr.shape}, dtype {arr.dtype}")
    t, slots = ctx.plain_modulus, ctx.slots
    if arr.size > slots:
        raise ValueError(f"ints must fit in {slots} slots; got {arr.size} values")
    if np.any(np.abs(arr.astype(object)) > t // 2):
        raise ValueError(f"ints must lie in (-t/2, t/2] with t = {t}; got max |x| = {int(np.max(np.abs(arr)))}")
    import tenseal as ts

    return ts.bfv_vector(ctx.ts, arr.tolist())


def encrypted_sum(ctx: Any, vectors: Sequence[Any]) -> np.ndarray:
    """Encrypt each integer vector, add the ciphertexts, decrypt: the sum modulo t, centred (int64).

    Equal to the plain integer sum exactly when |sum| < t / 2 in every slot; otherwise equal to
    :func:`wrap` of it.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    if isinstance(vectors, (str, bytes)) or not hasattr(vectors, "__len__") or len(vectors) == 0:
        raise ValueError(f"vectors must be a non-empty list of integer vectors; got {vectors!r}"[:200])
    cts = [encrypt(ctx, x) for x in vectors]
    if len({c.size() for c in cts}) != 1:
        raise ValueError("vectors must all have the same length")
    total = cts[0]
    for c in cts[1:]:
        total = total + c
    return np.array(total.decrypt(), dtype=np.int64)


def ciphertext_bytes(vector: Any) -> int:
    """Serialized size in bytes of a TenSEAL BFV or CKKS vector (what would travel)."""
    if not hasattr(vector, "serialize"):
        raise TypeError(f"vector must be a TenSEAL vector; got {type(vector).__name__}")
    return len(vector.serialize())
