"""What a coalition of parties can compute from its shares (the widget of notebook 09).

Pure computation, no ipywidgets: the view lives in :mod:`labkit.smpc.widgets`.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from labkit import _validate
from labkit.smpc.ring import rng_or_entropy
from labkit.smpc.shamir import check_prime, random_field_element, shamir_reconstruct, shamir_share

SMALL_PRIME = 257
"""A small field so that the widget's shares are readable numbers (real systems use >= 2^61)."""


@dataclass(frozen=True)
class CoalitionView:
    """The shares a coalition holds under additive n-of-n and Shamir t-of-n sharing of one secret.

    Attributes:
        secret, prime, n_parties, threshold, coalition: the setting.
        additive_shares: all n additive shares (mod prime); the coalition holds those at its indices.
        shamir_points: all n Shamir points (x, f(x)) with x = party index + 1.
        additive_partial_sum: the sum of the coalition's additive shares (uniform unless it is everyone).
        additive_recovers: True only when the coalition is every party.
        shamir_recovers: True when the coalition holds at least ``threshold`` points.
        shamir_guess: the Lagrange interpolation of the coalition's points (the secret if it recovers).
        consistent_secrets: how many secrets in the field are consistent with the coalition's Shamir
            points: 1 when it recovers, all ``prime`` of them otherwise.
    """

    secret: int
    prime: int
    n_parties: int
    threshold: int
    coalition: tuple[int, ...]
    additive_shares: tuple[int, ...]
    shamir_points: tuple[tuple[int, int], ...]
    additive_partial_sum: int
    additive_recovers: bool
    shamir_recovers: bool
    shamir_guess: int | None
    consistent_secrets: int

    def lines(self) -> list[str]:
        """Plain-language statements of what the coalition can and cannot compute."""
        who = "nobody" if not self.coalition else "parties " + ", ".join(str(i) for i in self.coalition)
        c = len(self.coalition)
        add = (f"additive {self.n_parties}-of-{self.n_parties}: {who} add their shares to "
               f"{self.additive_partial_sum}; " + ("that is the secret." if self.additive_recovers else
                                                  "that number is uniformly random: they learn nothing."))
        if self.shamir_recovers:
            sha = f"Shamir {self.threshold}-of-{self.n_parties}: {c} >= {self.threshold} points, interpolation gives {self.shamir_guess}: the secret."
        else:
            sha = (f"Shamir {self.threshold}-of-{self.n_parties}: {c} < {self.threshold} points; all "
                   f"{self.consistent_secrets} secrets mod {self.prime} remain equally consistent: they learn nothing.")
        return [add, sha]


def coalition_view(secret: int, n_parties: int, threshold: int, coalition: Iterable[int],
                   rng: np.random.Generator | int | None = None, *, prime: int = SMALL_PRIME) -> CoalitionView:
    """Share ``secret`` both ways and report what ``coalition`` (party indices 0..n-1) can compute.

    Randomness from OS entropy unless ``rng`` (a generator or a seed) is given (the notebook
    passes a seeded one).

    Raises:
        ValueError: for a secret outside [0, prime), n_parties outside 2..12, a threshold outside
            1..n_parties, or a party index outside 0..n_parties-1.
        TypeError: for any of them that is not an integer.

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = check_prime(prime)
    n_parties = _validate.count("n_parties", n_parties, minimum=2, maximum=12)
    if n_parties >= prime:
        raise ValueError(f"prime must exceed n_parties ({n_parties}); got {prime}")
    threshold = _validate.count("threshold", threshold, maximum=n_parties)
    secret = _validate.integer("secret", secret, minimum=0)
    if secret >= prime:
        raise ValueError(f"secret must be in [0, prime) = [0, {prime}); got {secret} (a larger prime would hold it)")
    if isinstance(coalition, (str, bytes)) or not hasattr(coalition, "__iter__"):
        raise TypeError(f"coalition must be a collection of party indices; got {coalition!r}")
    members = tuple(sorted({_validate.integer(f"coalition[{k}]", i, minimum=0, maximum=n_parties - 1)
                            for k, i in enumerate(coalition)}))
    rng = rng_or_entropy(rng)
    extra = [random_field_element(prime, rng) for _ in range(n_parties - 1)]
    additive = tuple(extra + [(secret - sum(extra)) % prime])
    points = tuple(shamir_share(secret, n_parties, threshold, rng, prime=prime))
    partial = sum(additive[i] for i in members) % prime
    recovers = len(members) >= threshold
    guess = shamir_reconstruct([points[i] for i in members], prime=prime) if members else None
    return CoalitionView(
        secret=secret, prime=prime, n_parties=n_parties, threshold=threshold, coalition=members,
        additive_shares=additive, shamir_points=points, additive_partial_sum=partial,
        additive_recovers=len(members) == n_parties, shamir_recovers=recovers,
        shamir_guess=guess if recovers else None, consistent_secrets=1 if recovers else prime,
    )
