"""Arithmetic in the ring Z_(2^64) and the fixed-point encoding of real numbers.

NumPy ``uint64`` addition, subtraction and multiplication wrap around modulo 2^64, which is
exactly the ring that additive secret sharing uses here. Real numbers are stored as
fixed-point integers with :data:`FRAC_BITS` fractional bits, read as two's-complement signed
values.

Ranges with the default 16 fractional bits in Z_(2^64):

- a value is representable when |x| < 2^47 (:data:`MAX_ABS`);
- a product xy of two encoded values carries 32 fractional bits, so it is representable when
  |xy| < 2^31 (:data:`MAX_PRODUCT_ABS`). That is only the *representable* range. The shared
  (probabilistic) truncation that brings the product back to 16 bits
  (:func:`labkit.smpc.truncate`, ABY3's truncation pair) fails, with an error of 2^32, with
  probability (z + 1) / 2^64 (z >= 0) or (|z| - 1) / 2^64 (z < 0) per entry, where z = xy * 2^32
  is the encoded product: about |xy| / 2^32 (:func:`labkit.smpc.truncation_failure_probability`).
  The *practical* range follows from the failure rate you accept: |xy| < 4.3 for 1e-9 per
  entry, |xy| < 4295 for 1e-6; over m entries the expected number of failures is about
  m * mean|xy| / 2^32.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import os

import numpy as np

from labkit import _validate

RING_BITS = 64
FRAC_BITS = 16
"""Fractional bits of the fixed-point encoding: the resolution is 2^-16 (about 1.5e-5)."""
MAX_ABS = float(2 ** (RING_BITS - 1 - FRAC_BITS))
"""Largest magnitude (exclusive) a value may have: 2^47, about 1.4e14, with 16 fractional bits."""
MAX_PRODUCT_ABS = float(2 ** (RING_BITS - 1 - 2 * FRAC_BITS))
"""Largest magnitude a product of two encoded values may have before truncation: 2^31 (about 2.1e9).

The representable range only: the shared truncation of a product xy fails with probability
about |xy| / 2^32 per entry (1/2 at this bound), so keep |xy| far below it (see the module
docstring)."""

# float64 holds integers exactly below 2^53: limbs of 22 bits give products below 2^44, so a
# matrix product over up to 2^9 = 512 terms is still exact.
_LIMB_BITS = 22
_LIMB_MASK = np.uint64((1 << _LIMB_BITS) - 1)
_MAX_EXACT_INNER = 512


def check_frac_bits(frac_bits: int) -> int:
    """``frac_bits`` as an int from 0 to 30 (the fixed-point encodings of this package)."""
    return _validate.integer("frac_bits", frac_bits, minimum=0, maximum=30)


def rng_or_entropy(rng: np.random.Generator | int | None) -> np.random.Generator | None:
    """``None`` stays ``None``: draw from OS entropy (``os.urandom``, ``secrets``), as keys, masks and
    shares must. A Generator or an integer seed becomes a Generator for a reproducible demonstration
    (no privacy against anyone who knows the seed).

    Convert once per public call, before any loop: an integer seed turned into a fresh Generator at
    each draw would repeat the same numbers.
    """
    return None if rng is None else _validate.generator(rng)


MAX_ELEMENTS = 100_000_000
"""Most ring elements one array here may hold (800 MB of ``uint64``)."""


def check_shape(name: str, shape) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints >= 0) as a tuple, with at most :data:`MAX_ELEMENTS` entries."""
    if _validate.is_integer(shape):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{name} must be an int or a tuple of ints; got {shape!r} ({type(shape).__name__})")
    dims = tuple(_validate.integer(f"{name}[{i}]", d, minimum=0) for i, d in enumerate(shape))
    size = 1
    for d in dims:
        size *= d
    if size > MAX_ELEMENTS:
        raise ValueError(f"{name} must describe at most {MAX_ELEMENTS:,} elements; got {dims} ({size:,})")
    return dims


def ring_array(name: str, value) -> np.ndarray:
    """``value`` as a ``uint64`` array of ring elements; a TypeError naming ``name`` for anything else."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be ring elements (a uint64 array); got {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be ring elements (a uint64 array, see encode); got dtype {arr.dtype}")
    return arr.astype(np.uint64, copy=False)


def random_ring(shape: tuple[int, ...] | int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Uniformly random elements of Z_(2^64) as a ``uint64`` array.

    Args:
        shape: the array shape.
        rng: a generator or seed for a reproducible demonstration; ``None`` (the default) draws
            from the operating system's entropy (``os.urandom``), as shares and masks must.

    Introduced in ``09-secure-computation.ipynb``.
    """
    shape = check_shape("shape", shape)
    size = int(np.prod(shape, dtype=np.int64))
    rng = rng_or_entropy(rng)
    if rng is None:
        return np.frombuffer(os.urandom(8 * size), dtype=np.uint64).reshape(shape).copy()
    return rng.integers(0, np.iinfo(np.uint64).max, size=shape, dtype=np.uint64, endpoint=True)


def encode(x: np.ndarray | float, frac_bits: int = FRAC_BITS, *, max_abs: float | None = None) -> np.ndarray:
    """Encode real numbers as fixed-point elements of Z_(2^64): round(x * 2^frac_bits) mod 2^64.

    Args:
        x: a number or array; every entry must be finite with magnitude below
            ``2 ** (63 - frac_bits)`` (2^47 for the default 16 fractional bits).
        frac_bits: fractional bits, 0 (integers) to 30.
        max_abs: a tighter bound on the magnitude (for example so that a sum of n values
            stays in range); default ``2 ** (63 - frac_bits)``.

    Raises:
        ValueError: for a non-finite value or one outside the representable range.

    Introduced in ``09-secure-computation.ipynb``.
    """
    return _encode(x, frac_bits, max_abs, "x")


def _encode(x, frac_bits: int, max_abs: float | None, name: str) -> np.ndarray:
    """:func:`encode`, with errors about ``x`` naming ``name``."""
    frac_bits = check_frac_bits(frac_bits)
    if max_abs is not None:
        max_abs = _validate.positive("max_abs", max_abs)  # None, not inf, says "no tighter bound"
    arr = _validate.number_array(name, x, what="a number or an array of numbers")
    scaled = np.asarray(np.multiply(arr, float(2**frac_bits), dtype=np.float64))
    bound = float(2 ** (RING_BITS - 1 - frac_bits)) if max_abs is None else min(max_abs, 2.0 ** (RING_BITS - 1 - frac_bits))
    if scaled.size:
        biggest = float(np.max(np.abs(scaled))) / 2**frac_bits
        if not biggest < bound:  # also catches NaN and infinity
            if not np.isfinite(biggest):
                raise ValueError(f"{name} must be finite; got NaN or infinity")
            which = "max_abs" if max_abs is not None and max_abs < 2.0 ** (RING_BITS - 1 - frac_bits) else f"frac_bits={frac_bits}"
            raise ValueError(
                f"{name} must lie in (-{bound:.4g}, {bound:.4g}) (set by {which}); "
                f"got a value of magnitude {biggest:.4g}"
            )
    return np.rint(scaled, out=scaled).astype(np.int64).view(np.uint64)


def decode(v: np.ndarray, frac_bits: int = FRAC_BITS) -> np.ndarray:
    """Read ring elements as signed fixed-point numbers: the inverse of :func:`encode`.

    Introduced in ``09-secure-computation.ipynb``.
    """
    frac_bits = check_frac_bits(frac_bits)
    signed = ring_array("v", v).view(np.int64)
    return signed.astype(np.float64) / float(2**frac_bits)


def to_signed(v: np.ndarray) -> np.ndarray:
    """Ring elements as signed 64-bit integers (two's complement).

    Introduced in ``09-secure-computation.ipynb``.
    """
    return ring_array("v", v).view(np.int64)


def _limbs(a: np.ndarray) -> list[np.ndarray]:
    return [((a >> np.uint64(_LIMB_BITS * i)) & _LIMB_MASK).astype(np.float64) for i in range(3)]


def ring_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product modulo 2^64 of two ``uint64`` arrays.

    NumPy's ``uint64`` matmul wraps correctly but does not use BLAS. Here each operand is split
    into three 22-bit limbs held exactly in float64, the six limb products that reach below
    bit 64 go through BLAS, and the results are recombined modulo 2^64. Inner dimensions above
    512 (where float64 would lose exactness) fall back to NumPy's integer matmul.

    Introduced in ``09-secure-computation.ipynb``.
    """
    a = ring_array("a", a)
    b = ring_array("b", b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"a and b must be 2-D with matching inner dimensions; got {a.shape} and {b.shape}")
    if a.shape[1] > _MAX_EXACT_INNER:
        return a @ b
    la, lb = _limbs(a), _limbs(b)
    out = (la[0] @ lb[0]).astype(np.uint64)
    mid = (la[0] @ lb[1]).astype(np.uint64) + (la[1] @ lb[0]).astype(np.uint64)
    top = (la[0] @ lb[2]).astype(np.uint64) + (la[1] @ lb[1]).astype(np.uint64) + (la[2] @ lb[0]).astype(np.uint64)
    return out + (mid << np.uint64(_LIMB_BITS)) + (top << np.uint64(2 * _LIMB_BITS))
