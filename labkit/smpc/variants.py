"""Six variants of secure aggregation over two rounds, for the "find the bug" exercise 09.3.

Each variant sums the same n clients' vectors in round 1 and round 2 (nobody drops out) and returns
what the server holds afterwards (:class:`ServerView`): every masked vector y_u of both rounds, the
seeds the unmasking round revealed to it, and the sum it decoded. Client u sends in round r

    y_u = x_u + PRG(b_u) + sum over v > u of PRG(s_uv) - sum over v < u of PRG(s_uv)   (mod 2^64)

unless its variant says otherwise. The key agreement and the Shamir shares of the full protocol
(:func:`labkit.smpc.secure_aggregate_run`) are left out: the seeds are drawn directly, and the
server's view after the unmasking round is what the full protocol would give it.

- ``"A"``: fresh self-mask seeds b_u and fresh pairwise seeds s_uv in every round.
- ``"B"``: fresh b_u every round; the pairwise seeds are agreed once, and round r masks with
  PRG(H(s_uv, r)), H being SHA-256 of the seed and the round number.
- ``"C"``: fresh b_u every round; the pairwise seeds are agreed once, and every round masks with
  PRG(s_uv).
- ``"D"``: fresh seeds every round; client u *subtracts* PRG(s_uv) for v > u and *adds* it for v < u.
- ``"E"``: fresh seeds every round; both u and v *add* PRG(s_uv).
- ``"F"``: fresh seeds every round; in round 1 the server reports client 0 as late (dropped), and
  the survivors answer with the shares of client 0's masking key as well as those of b_0, so the
  server rebuilds b_0 and every pairwise seed s_0v.

In every variant the unmasking round reveals each survivor's self-mask seed of that round, and the
server decodes sum_u y_u - sum_u PRG(b_u).

Teaching material: three of the six variants are broken on purpose. Introduced in
``09-secure-computation.ipynb``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from labkit import _validate
from labkit.smpc.ring import decode, encode, rng_or_entropy
from labkit.smpc.secagg import SEED_BITS, expand_mask
from labkit.smpc.shamir import random_field_element

VARIANT_NAMES = ("A", "B", "C", "D", "E", "F")
"""The six variants, in the order of the module docstring."""


@dataclass(frozen=True)
class ServerView:
    """What the server holds after two rounds of one variant.

    Attributes:
        masked: two ``(n, d)`` ``uint64`` arrays, the masked vectors y_u of round 1 and round 2
            (row u is client u's).
        self_seeds: two dicts ``client -> b_u``, the self-mask seeds the unmasking round revealed.
        pair_seeds: two dicts ``(u, v) -> s_uv`` (u < v), the pairwise seeds the server rebuilt
            (empty unless the variant reveals some).
        sums: two float arrays, the sums the server decoded.
    """

    masked: tuple[np.ndarray, np.ndarray]
    self_seeds: tuple[dict[int, int], dict[int, int]]
    pair_seeds: tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]
    sums: tuple[np.ndarray, np.ndarray]


def _round_seed(seed: int, r: int) -> int:
    """H(s, r): SHA-256 of the 32-byte seed and the round number, as a 256-bit integer."""
    return int.from_bytes(hashlib.sha256(seed.to_bytes(32, "big") + r.to_bytes(4, "big")).digest(), "big")


def _one_variant(name: str, x: tuple[np.ndarray, np.ndarray], rng: np.random.Generator | None) -> ServerView:
    n, d = x[0].shape

    def draw() -> int:
        return random_field_element(2**SEED_BITS, rng)

    def draw_pairs() -> dict[tuple[int, int], int]:
        return {(u, v): draw() for u in range(n) for v in range(u + 1, n)}

    agreed_once = draw_pairs()  # B and C agree on their pairwise seeds once, before round 1
    masked, self_seeds, pair_seeds, sums = [], [], [], []
    for r in (1, 2):
        b = {u: draw() for u in range(n)}  # every variant draws fresh self-mask seeds each round
        if name == "B":
            s = {pair: _round_seed(seed, r) for pair, seed in agreed_once.items()}
        elif name == "C":
            s = agreed_once
        else:
            s = draw_pairs()
        y = np.zeros((n, d), dtype=np.uint64)
        for u in range(n):
            y[u] = encode(x[r - 1][u]) + expand_mask(b[u], d)
            for v in range(n):
                if v == u:
                    continue
                mask = expand_mask(s[min(u, v), max(u, v)], d)
                if name == "E":
                    y[u] += mask  # both ends add: the masks never cancel
                elif (v > u) != (name == "D"):  # D flips the convention on both ends
                    y[u] += mask
                else:
                    y[u] -= mask
        revealed = {pair: seed for pair, seed in s.items() if name == "F" and r == 1 and 0 in pair}
        total = y.sum(axis=0, dtype=np.uint64)
        for u in range(n):
            total -= expand_mask(b[u], d)
        masked.append(y)
        self_seeds.append(b)
        pair_seeds.append(revealed)
        sums.append(decode(total))
    return ServerView(tuple(masked), tuple(self_seeds), tuple(pair_seeds), tuple(sums))


def secagg_variants(x_round1: np.ndarray, x_round2: np.ndarray,
                    rng: np.random.Generator | int | None = None) -> dict[str, ServerView]:
    """Run the six variants of the module docstring on two rounds of client vectors.

    Args:
        x_round1, x_round2: ``(n, d)`` arrays, one vector per client (n >= 2), each entry with
            magnitude below 2^47 / n so that the sum stays in the fixed-point range.
        rng: ``None`` (default) draws every seed from OS entropy; a generator or an integer seed
            gives a reproducible demonstration.

    Returns:
        A dict from variant name (``"A"`` to ``"F"``) to its :class:`ServerView`.

    Raises:
        ValueError: the two rounds differ in shape, there are fewer than 2 clients or no entries,
            or a value is out of range.
        TypeError: an argument of the wrong kind.

    Introduced in ``09-secure-computation.ipynb`` (exercise 09.3).
    """
    x1 = _validate.finite_array("x_round1", x_round1, ndim=2)
    x2 = _validate.finite_array("x_round2", x_round2, ndim=2)
    if x1.shape != x2.shape:
        raise ValueError(f"x_round1 and x_round2 must have the same shape (n clients, d entries); got {x1.shape} and {x2.shape}")
    n, d = x1.shape
    if n < 2 or d < 1:
        raise ValueError(f"x_round1 must hold at least 2 clients and 1 entry (shape (n, d)); got shape {x1.shape}")
    bound = 2.0**47 / n
    for name, arr in (("x_round1", x1), ("x_round2", x2)):
        if not float(np.max(np.abs(arr))) < bound:
            raise ValueError(f"{name} must lie in (-{bound:.4g}, {bound:.4g}) (2^47 / n, so the sum fits); "
                             f"got a value of magnitude {float(np.max(np.abs(arr))):.4g}")
    rng = rng_or_entropy(rng)
    return {name: _one_variant(name, (x1, x2), rng) for name in VARIANT_NAMES}
