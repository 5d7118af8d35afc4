"""Multiplying secret-shared values: Beaver triples from a trusted dealer, and truncation.

Beaver (1991): to multiply shared x and y, the parties use a triple (a, b, c = a*b) shared by
a dealer. They open d = x - a and e = y - b, which are uniformly random because a and b are,
and compute shares of

    x*y = c + d*b + e*a + d*e        (d*e is added by party 0 only).

The same identity holds for matrices (c = a @ b). Fixed-point products carry 2f fractional
bits, so they are truncated back to f bits with a second dealer gift, a truncation pair
(r, r >> f) (the truncation-pair method of Mohassel and Rindal 2018, ABY3): the parties open z - r, shift it
in public, and add the shares of r >> f. The result is z / 2^f rounded down, or one unit in the
last place (2^-16) below that when the two shifted parts lose a carry, unless z - r wraps around
the signed range: then it is off by 2^(64 - 2f) (2^32 with f = 16). With r uniform that
happens with probability (|z| + 1) / 2^64 for z >= 0 and (|z| - 1) / 2^64 for z < 0, where
z = round(x 2^f) round(y 2^f) is the encoded product: about |xy| / 2^(64 - 2f) = |xy| / 2^32
(:func:`truncation_failure_probability`).

The dealer is **trusted**: it knows a, b, c and r, so it could read every opened value back
into a secret. Without a dealer the parties make triples themselves with oblivious transfer or
homomorphic encryption (SPDZ, MP-SPDZ), at a much higher cost.

Teaching implementation: all parties are simulated in one process.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from labkit import _validate
from labkit.i18n import tr
from labkit.smpc.additive import MAX_PARTIES, check_shares, reconstruct, reconstruct_encoded, share, share_encoded
from labkit.smpc.ring import FRAC_BITS, MAX_ABS, check_frac_bits, check_shape, random_ring, ring_matmul, rng_or_entropy, to_signed

MAX_PREPARED = 10_000
"""Most triples :meth:`TrustedDealer.prepare_matmul` makes in one call."""

Shares = list[np.ndarray]


@dataclass
class TrustedDealer:
    """Hands out correlated randomness to ``n_parties`` parties: Beaver triples and truncation pairs.

    A *trusted* third party: it must not collude with any party and must not see opened values.

    Args:
        n_parties: number of computing parties (at least 2).
        rng: ``None`` (default) draws everything from OS entropy; a seeded generator (or an
            integer seed) makes a reproducible demonstration.

    Attributes:
        triples_used, pairs_used: how much correlated randomness was consumed (a cost measure).

    Introduced in ``09-secure-computation.ipynb``.
    """

    n_parties: int = 2
    rng: np.random.Generator | int | None = None
    triples_used: int = field(default=0, init=False)
    pairs_used: int = field(default=0, init=False)
    _stock: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.n_parties = _validate.count("n_parties", self.n_parties, minimum=2, maximum=MAX_PARTIES)
        self.rng = rng_or_entropy(self.rng)

    def prepare_matmul(self, shape_a: tuple[int, int], shape_b: tuple[int, int], count: int = 1, frac_bits: int = FRAC_BITS) -> None:
        """Offline phase: make ``count`` matrix triples and truncation pairs for A @ B in advance.

        :func:`beaver_matmul` then uses them first, so its online phase is what is left.
        """
        shape_a, shape_b = check_shape("shape_a", shape_a), check_shape("shape_b", shape_b)
        if len(shape_a) != 2 or len(shape_b) != 2 or shape_a[1] != shape_b[0]:
            raise ValueError(f"shape_a and shape_b must be matrix shapes with matching inner dimensions; got {shape_a} and {shape_b}")
        count = _validate.count("count", count, maximum=MAX_PREPARED)
        frac_bits = check_frac_bits(frac_bits)
        shape_out = (shape_a[0], shape_b[1])
        for _ in range(count):
            self._stock.setdefault(("matmul", tuple(shape_a), tuple(shape_b)), []).append(self._make_triple(shape_a, shape_b, True))
            self._stock.setdefault(("trunc", shape_out, frac_bits), []).append(self._make_pair(shape_out, frac_bits))

    def _share(self, v: np.ndarray) -> Shares:
        return share_encoded(v, self.n_parties, self.rng)

    def triple(self, shape_a: tuple[int, ...], shape_b: tuple[int, ...] | None = None, *, matmul: bool = False) -> tuple[Shares, Shares, Shares]:
        """Shares of a random (a, b, c) with c = a * b (elementwise) or c = a @ b (``matmul=True``)."""
        shape_a = check_shape("shape_a", shape_a)
        shape_b = shape_a if shape_b is None else check_shape("shape_b", shape_b)
        if matmul and (len(shape_a) != 2 or len(shape_b) != 2 or shape_a[1] != shape_b[0]):
            raise ValueError(f"shape_a and shape_b must be matrix shapes with matching inner dimensions; got {shape_a} and {shape_b}")
        if not matmul and shape_a != shape_b:
            raise ValueError(f"shape_a and shape_b must be equal for an elementwise triple; got {shape_a} and {shape_b}")
        self.triples_used += 1
        stock = self._stock.get(("matmul" if matmul else "mul", tuple(shape_a), shape_b))
        return stock.pop() if stock else self._make_triple(shape_a, shape_b, matmul)

    def _make_triple(self, shape_a, shape_b, matmul: bool) -> tuple[Shares, Shares, Shares]:
        a, b = random_ring(shape_a, self.rng), random_ring(shape_b, self.rng)
        c = ring_matmul(a, b) if matmul else a * b
        return self._share(a), self._share(b), self._share(c)

    def truncation_pair(self, shape: tuple[int, ...], frac_bits: int = FRAC_BITS) -> tuple[Shares, Shares]:
        """Shares of a random r and of r >> frac_bits (arithmetic shift of r read as signed)."""
        shape = check_shape("shape", shape)
        frac_bits = check_frac_bits(frac_bits)
        self.pairs_used += 1
        stock = self._stock.get(("trunc", tuple(shape), frac_bits))
        return stock.pop() if stock else self._make_pair(shape, frac_bits)

    def _make_pair(self, shape, frac_bits: int) -> tuple[Shares, Shares]:
        r = random_ring(shape, self.rng)
        r_shift = (to_signed(r) >> np.int64(frac_bits)).view(np.uint64)
        return self._share(r), self._share(r_shift)


def _open(shares: Sequence[np.ndarray], transcript: list | None, label: str) -> np.ndarray:
    value = reconstruct_encoded(shares)
    if transcript is not None:
        transcript.append((label, value.copy()))
    return value


def _check_dealer(dealer: TrustedDealer) -> None:
    if not isinstance(dealer, TrustedDealer):
        raise TypeError(f"dealer must be a TrustedDealer; got {type(dealer).__name__}")


def _check_transcript(transcript: list | None) -> None:
    if transcript is not None and not isinstance(transcript, list):
        raise TypeError(f"transcript must be a list (opened values are appended to it) or None; got {type(transcript).__name__}")


def _check(x_shares: Sequence[np.ndarray], y_shares: Sequence[np.ndarray], dealer: TrustedDealer,
           names: tuple[str, str] = ("x_shares", "y_shares")) -> tuple[list[np.ndarray], list[np.ndarray]]:
    _check_dealer(dealer)
    x = check_shares(names[0], x_shares, dealer.n_parties)
    y = check_shares(names[1], y_shares, dealer.n_parties)
    return x, y


def truncate(z_shares: Sequence[np.ndarray], dealer: TrustedDealer, frac_bits: int = FRAC_BITS, *,
             transcript: list | None = None) -> Shares:
    """Shares of z / 2^frac_bits with a truncation pair: rounded down, or one unit (2^-frac_bits) below.

    The parties open c = z - r (uniform, since r is), and party 0 adds c >> frac_bits to its
    share of r >> frac_bits. Correct unless z - r wraps around the signed range, which happens
    with probability (|z| + 1) / 2^64 (z >= 0) or (|z| - 1) / 2^64 (z < 0) for the ring integer
    z: about |value| / 2^(64 - 2 frac_bits) for a product of two encoded values (|value| / 2^32
    with 16 fractional bits). A failure is off by 2^(64 - frac_bits) units of 2^-frac_bits.
    Without a failure the result is floor(z / 2^frac_bits) or one less (the carry between the
    two shifted parts is lost): less than two units below the exact z / 2^frac_bits.

    Introduced in ``09-secure-computation.ipynb``.
    """
    _check_dealer(dealer)
    z_shares = check_shares("z_shares", z_shares, dealer.n_parties)
    frac_bits = check_frac_bits(frac_bits)
    _check_transcript(transcript)
    shape = z_shares[0].shape
    r, r_shift = dealer.truncation_pair(shape, frac_bits)
    c = _open([np.asarray(z, np.uint64) - ri for z, ri in zip(z_shares, r)], transcript, tr("open z - r"))
    out = [s.copy() for s in r_shift]
    out[0] = out[0] + (to_signed(c) >> np.int64(frac_bits)).view(np.uint64)
    return out


def truncation_failure_probability(x: np.ndarray | float, y: np.ndarray | float, frac_bits: int = FRAC_BITS) -> np.ndarray | float:
    """Probability that the shared truncation of the fixed-point product x * y fails, per entry.

    The encoded product is the ring integer z = round(x 2^f) round(y 2^f) (2f fractional bits).
    :func:`truncate` opens z - r for a uniform r in Z_(2^64); it fails when z - r, read as a
    signed 64-bit integer, wraps around, which happens for z + 1 of the 2^64 values of r when
    z >= 0 and for |z| - 1 of them when z < 0. The result is about |xy| / 2^(64 - 2f), that is
    |xy| / 2^32 with 16 fractional bits: 1e-9 per entry needs |xy| < 4.3, 1e-6 needs |xy| < 4295.

    Raises:
        ValueError: if a product is outside the representable range |xy| < 2^(63 - 2f).

    Introduced in ``09-secure-computation.ipynb``.
    """
    frac_bits = check_frac_bits(frac_bits)
    x = _validate.finite_array("x", x)
    y = _validate.finite_array("y", y)
    try:
        np.broadcast(x, y)
    except ValueError:
        raise ValueError(f"x and y must have shapes that broadcast together; got {x.shape} and {y.shape}") from None
    ex = np.rint(np.multiply(x, float(2**frac_bits), dtype=np.float64))
    ey = np.rint(np.multiply(y, float(2**frac_bits), dtype=np.float64))
    zs = [int(a) * int(b) for a, b in np.broadcast(ex, ey)]
    if any(not abs(z) < 2**63 for z in zs):
        raise ValueError(f"x * y must lie within (-2^{63 - 2 * frac_bits}, 2^{63 - 2 * frac_bits}) with frac_bits={frac_bits}, "
                         "the representable range of a product")
    p = np.array([(z + 1) / 2.0**64 if z >= 0 else (-z - 1) / 2.0**64 for z in zs]).reshape(np.broadcast(ex, ey).shape)
    return float(p) if p.ndim == 0 else p


def beaver_mul(x_shares: Sequence[np.ndarray], y_shares: Sequence[np.ndarray], dealer: TrustedDealer, *,
               frac_bits: int = FRAC_BITS, truncate_result: bool = True, transcript: list | None = None) -> Shares:
    """Shares of the elementwise product x * y, with one Beaver triple and (optionally) truncation.

    Args:
        x_shares, y_shares: additive shares of fixed-point values (same shape).
        dealer: the :class:`TrustedDealer` that supplies the triple.
        frac_bits: fractional bits of both inputs; the product is truncated back to them.
        truncate_result: ``False`` keeps 2 * frac_bits fractional bits (for integers, or to
            add several products before one truncation).
        transcript: a list to which every opened value is appended as ``(label, value)``: what
            all parties see.

    Introduced in ``09-secure-computation.ipynb``.
    """
    x_shares, y_shares = _check(x_shares, y_shares, dealer)
    _check_transcript(transcript)
    frac_bits = check_frac_bits(frac_bits)
    shape = np.shape(x_shares[0])
    if np.shape(y_shares[0]) != shape:
        raise ValueError(f"x_shares and y_shares must have the same shape; got {shape} and {np.shape(y_shares[0])}")
    a, b, c = dealer.triple(shape)
    d = _open([np.asarray(x, np.uint64) - ai for x, ai in zip(x_shares, a)], transcript, tr("open d = x - a"))
    e = _open([np.asarray(y, np.uint64) - bi for y, bi in zip(y_shares, b)], transcript, tr("open e = y - b"))
    z = [ci + d * bi + e * ai for ai, bi, ci in zip(a, b, c)]
    z[0] = z[0] + d * e
    return truncate(z, dealer, frac_bits, transcript=transcript) if truncate_result else z


def beaver_matmul(x_shares: Sequence[np.ndarray], y_shares: Sequence[np.ndarray], dealer: TrustedDealer, *,
                  frac_bits: int = FRAC_BITS, truncate_result: bool = True, transcript: list | None = None) -> Shares:
    """Shares of the matrix product X @ Y with one matrix Beaver triple (c = a @ b).

    Party i computes c_i + d @ b_i + a_i @ e (party 0 also adds d @ e), where d = X - a and
    e = Y - b are opened. Then the product is truncated back to ``frac_bits``.

    Introduced in ``09-secure-computation.ipynb``.
    """
    x_shares, y_shares = _check(x_shares, y_shares, dealer)
    _check_transcript(transcript)
    frac_bits = check_frac_bits(frac_bits)
    sx, sy = np.shape(x_shares[0]), np.shape(y_shares[0])
    if len(sx) != 2 or len(sy) != 2 or sx[1] != sy[0]:
        raise ValueError(f"x_shares and y_shares must be matrices with matching inner dimensions; got {sx} and {sy}")
    a, b, c = dealer.triple(sx, sy, matmul=True)
    d = _open([np.asarray(x, np.uint64) - ai for x, ai in zip(x_shares, a)], transcript, tr("open D = X - A"))
    e = _open([np.asarray(y, np.uint64) - bi for y, bi in zip(y_shares, b)], transcript, tr("open E = Y - B"))
    # Party i computes [d | a_i] @ [b_i ; e] = d @ b_i + a_i @ e as one product; party 0 also adds d @ e.
    z = []
    for i, (ai, bi, ci) in enumerate(zip(a, b, c)):
        left = np.hstack([d, ai])
        right = np.vstack([bi + e if i == 0 else bi, e])
        z.append(ci + ring_matmul(left, right))
    return truncate(z, dealer, frac_bits, transcript=transcript) if truncate_result else z


def secure_dot(x_shares: Sequence[np.ndarray], w_shares: Sequence[np.ndarray], dealer: TrustedDealer, *,
               frac_bits: int = FRAC_BITS, transcript: list | None = None) -> Shares:
    """Shares of the dot product x . w (last axis): elementwise Beaver products, summed locally,
    then truncated once.

    Introduced in ``09-secure-computation.ipynb``.
    """
    x_shares, w_shares = _check(x_shares, w_shares, dealer, ("x_shares", "w_shares"))
    if x_shares[0].shape != w_shares[0].shape:
        raise ValueError(f"x_shares and w_shares must have the same shape; got {x_shares[0].shape} and {w_shares[0].shape}")
    z = beaver_mul(x_shares, w_shares, dealer, frac_bits=frac_bits, truncate_result=False, transcript=transcript)
    summed = [zi.sum(axis=-1, dtype=np.uint64) for zi in z]
    return truncate(summed, dealer, frac_bits, transcript=transcript)


def secure_linear(x_shares: Sequence[np.ndarray], w_shares: Sequence[np.ndarray], b_shares: Sequence[np.ndarray],
                  dealer: TrustedDealer, *, frac_bits: int = FRAC_BITS, transcript: list | None = None) -> Shares:
    """Shares of the linear scores X @ w + b for shared records X (rows), weights w and bias b.

    X (m x k) and w (k,) are multiplied with one matrix Beaver triple; the bias is added locally.
    This is the secret-shared inference of a linear or logistic-regression model: the score
    stays shared until the party entitled to it reconstructs it.

    Introduced in ``09-secure-computation.ipynb``.
    """
    x_shares, w_shares = _check(x_shares, w_shares, dealer, ("x_shares", "w_shares"))
    b_shares = check_shares("b_shares", b_shares, dealer.n_parties)
    k = np.atleast_2d(x_shares[0]).shape[1]
    if w_shares[0].size != k:
        raise ValueError(f"w_shares must hold one weight per column of x_shares ({k}); got shape {w_shares[0].shape}")
    rows = np.atleast_2d(x_shares[0]).shape[0]
    if b_shares[0].shape not in ((), (1,), (rows,)):
        raise ValueError(f"b_shares must be shares of a scalar or of {rows} values; got shape {b_shares[0].shape}")
    x2 = [np.atleast_2d(np.asarray(x, np.uint64)) for x in x_shares]
    w2 = [np.asarray(w, np.uint64).reshape(-1, 1) for w in w_shares]
    z = beaver_matmul(x2, w2, dealer, frac_bits=frac_bits, transcript=transcript)
    return [zi[:, 0] + np.asarray(bi, np.uint64) for zi, bi in zip(z, b_shares)]


def secure_logistic_scores(x: np.ndarray, weights: np.ndarray, bias: float, n_parties: int = 2,
                           rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Share records and a linear model, compute X @ w + b on shares, and reconstruct the scores.

    Returns the reconstructed scores (the logits); apply the sigmoid in the clear to get the
    probability, as the party who receives the score would. Randomness from OS entropy unless
    ``rng`` (a generator or a seed) is given.

    Introduced in ``09-secure-computation.ipynb``.
    """
    rng = rng_or_entropy(rng)  # one generator for the dealer and the shares, even from a seed
    x = np.atleast_2d(_validate.finite_array("x", x))
    if x.ndim != 2:
        raise ValueError(f"x must be one record or a 2-D array of records; got shape {x.shape}")
    w = _validate.finite_array("weights", weights, ndim=1)
    bias = _validate.real("bias", bias)
    if not abs(bias) < MAX_ABS:
        raise ValueError(f"bias must lie in (-{MAX_ABS:.4g}, {MAX_ABS:.4g}), the fixed-point range; got {bias:.4g}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features but weights has {w.shape[0]}; they must match")
    dealer = TrustedDealer(n_parties, rng)
    xs, ws, bs = share(x, n_parties, rng), share(w, n_parties, rng), share(np.full(len(x), float(bias)), n_parties, rng)
    return np.asarray(reconstruct(secure_linear(xs, ws, bs, dealer)))
