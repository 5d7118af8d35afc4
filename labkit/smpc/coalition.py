"""What a coalition of parties can compute from its shares, and which secrets its Shamir shares fit.

The compute side of the widget of notebook 09. Pure computation, no ipywidgets: the view lives
in :mod:`labkit.smpc.widgets`.

Introduced in ``09-secure-computation.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from labkit import _validate
from labkit.i18n import tr
from labkit.smpc.ring import rng_or_entropy
from labkit.smpc.shamir import check_prime, lagrange_at_zero, random_field_element, shamir_reconstruct, shamir_share

SMALL_PRIME = 97
"""A small field so that the widget's shares are readable numbers (real systems use >= 2^61)."""
MAX_ENUMERATED_PRIME = 4096
"""Largest field in which the coalition functions try every secret (p interpolations each)."""
N_CANDIDATES = 5
"""Candidate secrets drawn by default: the true one and four others spread over the field."""


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
            points, counted by :func:`consistent_secrets` (it comes out as 1 when the coalition
            recovers, all ``prime`` of them otherwise).
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
        c = len(self.coalition)
        if not self.coalition:
            add = tr("additive {n}-of-{n}: nobody colludes: no share is seen, nothing is learned.").format(
                n=self.n_parties)
        else:
            add = (tr("additive {n}-of-{n}: parties {parties} add their shares to {total}; that is the secret.")
                   if self.additive_recovers else
                   tr("additive {n}-of-{n}: parties {parties} add their shares to {total}; that number is uniformly "
                      "random: they learn nothing.")).format(
                n=self.n_parties, parties=", ".join(str(i) for i in self.coalition), total=self.additive_partial_sum)
        if self.shamir_recovers:
            sha = tr("Shamir {t}-of-{n}: {c} >= {t} points, interpolation gives {guess}: the secret.").format(
                t=self.threshold, n=self.n_parties, c=c, guess=self.shamir_guess)
        else:
            sha = tr("Shamir {t}-of-{n}: {c} < {t} points; all {k} secrets mod {p} remain equally consistent: they "
                     "learn nothing.").format(t=self.threshold, n=self.n_parties, c=c, k=self.consistent_secrets,
                                              p=self.prime)
        return [add, sha]


def coalition_view(secret: int, n_parties: int, threshold: int, coalition: Iterable[int],
                   rng: np.random.Generator | int | None = None, *, prime: int = SMALL_PRIME) -> CoalitionView:
    """Share ``secret`` both ways and report what ``coalition`` (party indices 0..n-1) can compute.

    Randomness from OS entropy unless ``rng`` (a generator or a seed) is given (the notebook
    passes a seeded one).

    ``consistent_secrets`` is counted by :func:`consistent_secrets` (one interpolation per secret in
    the field), not by formula.

    Raises:
        ValueError: for a prime that is not a prime from 3 to 4096 (every secret is tried), a secret
            outside [0, prime), n_parties outside 2..12, a threshold outside
            1..n_parties, or a party index outside 0..n_parties-1.
        TypeError: for any of them that is not an integer.

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime, n_parties, threshold, secret, members = _check_setting(secret, n_parties, threshold, coalition, prime)
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
        shamir_guess=guess if recovers else None,
        consistent_secrets=len(consistent_secrets([points[i] for i in members], threshold, prime)),
    )


def _check_setting(secret, n_parties, threshold, coalition, prime) -> tuple[int, int, int, int, tuple[int, ...]]:
    """The validated (prime, n_parties, threshold, secret, sorted distinct coalition) of a widget setting."""
    prime = check_prime(prime)
    if prime > MAX_ENUMERATED_PRIME:
        raise ValueError(f"prime must be at most {MAX_ENUMERATED_PRIME} here (every secret in the field is tried); got {prime}")
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
    return prime, n_parties, threshold, secret, members


def _interpolator(xs: list[int], at: range, prime: int) -> list[list[int] | int]:
    """For each x in ``at``: the Lagrange weights giving f(x) from f(xs), or the index of x in ``xs``.

    f(a) is g(0) for g(z) = f(z + a), whose points are (x_j - a, y_j): so
    :func:`labkit.smpc.shamir.lagrange_at_zero` on the shifted x coordinates gives the weights.
    """
    return [xs.index(a) if a in xs else lagrange_at_zero([x - a for x in xs], prime) for a in at]


def _evaluate(rule: list[list[int] | int], ys: list[int], prime: int) -> tuple[int, ...]:
    return tuple(ys[r] if isinstance(r, int) else sum(w * y for w, y in zip(r, ys)) % prime for r in rule)


def _curves(colluder_points, threshold: int, n_parties: int, prime: int, secrets_: Iterable[int]):
    """(secret, values at x = 0..n, fits) for each secret: see :func:`candidate_curves`."""
    known = sorted(colluder_points)
    base = known[:threshold - 1]  # with (0, s): at most t points, so the interpolant has degree <= t - 1
    rule = _interpolator([0] + [x for x, _ in base], range(n_parties + 1), prime)
    for s in secrets_:
        values = _evaluate(rule, [s] + [y for _, y in base], prime)
        yield s, values, all(values[x] == y % prime for x, y in known)


def consistent_secrets(colluder_points, threshold: int, prime: int) -> tuple[int, ...]:
    """Every secret s in [0, prime) that some polynomial of degree <= threshold - 1 through the points fits.

    For each s, interpolate through (0, s) and the first ``threshold - 1`` points (at most t points:
    the interpolant has degree <= t - 1), then check that it also passes through every point. Below
    the threshold that check is empty and every secret fits; at or above it, only one does.

    Args:
        colluder_points: the coalition's Shamir points (x, f(x)), distinct non-zero x below ``prime``.
        threshold: t, at least 1.
        prime: the field, a prime from 3 to :data:`MAX_ENUMERATED_PRIME`.

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime = check_prime(prime)
    if prime > MAX_ENUMERATED_PRIME:
        raise ValueError(f"prime must be at most {MAX_ENUMERATED_PRIME} here (every secret in the field is tried); got {prime}")
    threshold = _validate.count("threshold", threshold, maximum=prime - 1)
    if isinstance(colluder_points, (str, bytes)) or not hasattr(colluder_points, "__iter__"):
        raise TypeError(f"colluder_points must be a list of (x, y) pairs; got {colluder_points!r}")
    points = []
    for i, pt in enumerate(colluder_points):
        if isinstance(pt, (str, bytes)) or not hasattr(pt, "__len__") or len(pt) != 2:
            raise TypeError(f"colluder_points[{i}] must be an (x, y) pair of integers; got {pt!r}")
        x = _validate.integer(f"colluder_points[{i}][0]", pt[0], minimum=1, maximum=prime - 1)
        points.append((x, _validate.integer(f"colluder_points[{i}][1]", pt[1]) % prime))
    if len({x for x, _ in points}) != len(points):
        raise ValueError(f"colluder_points must have distinct x coordinates; got {sorted(x for x, _ in points)}")
    top = max((x for x, _ in points), default=0)
    return tuple(s for s, _, fits in _curves(points, threshold, top, prime, range(prime)) if fits)


@dataclass(frozen=True)
class CandidateCurves:
    """Candidate secrets and, for each, a polynomial of degree <= t - 1 through (0, s) and the colluders' points.

    Attributes:
        secret, prime, n_parties, threshold, coalition: the setting (party i holds x = i + 1).
        shamir_points: all n true Shamir points (x, f(x)); the coalition holds those at its indices.
        candidates: the candidate secrets drawn (the true secret first).
        curves: per candidate, its polynomial's values at x = 0..n (x = 0 is the candidate secret):
            the lowest-degree polynomial through (0, s) and the first t - 1 colluders' points. With
            c < t - 1 colluders, p^(t-1-c) polynomials of degree <= t - 1 pass through those points for
            every s; the lowest-degree one is drawn, so even the true secret's curve need not be the
            dealer's polynomial (it then misses the unseen shares).
        fits: per candidate, whether that polynomial passes through every colluder's point.
        consistent: every secret in the field that fits (from :func:`consistent_secrets`).
    """

    secret: int
    prime: int
    n_parties: int
    threshold: int
    coalition: tuple[int, ...]
    shamir_points: tuple[tuple[int, int], ...]
    candidates: tuple[int, ...]
    curves: tuple[tuple[int, ...], ...]
    fits: tuple[bool, ...]
    consistent: tuple[int, ...]

    def summary(self) -> str:
        """One line: how many secrets fit the coalition's points, and what that means."""
        c, t, p = len(self.coalition), self.threshold, self.prime
        k = len(self.consistent)
        if c < t:
            return tr("{c} colluder(s) < t = {t}: {k} of the {p} secrets mod {p} fit their points "
                      "(each tried by interpolation): they learn nothing.").format(c=c, t=t, k=k, p=p)
        return tr("{c} colluder(s) >= t = {t}: {k} of the {p} secrets mod {p} fits their points, "
                  "{secrets}: they hold the secret.").format(c=c, t=t, k=k, p=p,
                                                             secrets=", ".join(map(str, self.consistent)))


def candidate_curves(secret: int, n_parties: int, threshold: int, coalition: Iterable[int],
                     rng: np.random.Generator | int | None = None, *, prime: int = SMALL_PRIME,
                     n_candidates: int = N_CANDIDATES) -> CandidateCurves:
    """Shamir-share ``secret`` and draw, for candidate secrets, the curves that fit the colluders' points.

    The shares come from :func:`labkit.smpc.shamir.shamir_share` with ``rng`` (OS entropy unless a
    generator or a seed is given; the notebook passes a seed). The candidates are the true secret and
    ``n_candidates - 1`` others spread evenly over the field. Below the threshold every candidate's
    curve passes through every colluder's point; at or above it only the true secret's does.

    Raises:
        ValueError: as :func:`coalition_view`, and for n_candidates outside 1..min(prime, 6).
        TypeError: for any argument that is not an integer (or a coalition that is not a collection).

    Introduced in ``09-secure-computation.ipynb``.
    """
    prime, n_parties, threshold, secret, members = _check_setting(secret, n_parties, threshold, coalition, prime)
    n_candidates = _validate.count("n_candidates", n_candidates, maximum=min(prime, 6))
    points = tuple(shamir_share(secret, n_parties, threshold, rng_or_entropy(rng), prime=prime))
    held = [points[i] for i in members]
    candidates = [(secret + k * prime // n_candidates) % prime for k in range(n_candidates)]
    drawn = list(_curves(held, threshold, n_parties, prime, candidates))
    return CandidateCurves(
        secret=secret, prime=prime, n_parties=n_parties, threshold=threshold, coalition=members,
        shamir_points=points, candidates=tuple(candidates), curves=tuple(v for _, v, _ in drawn),
        fits=tuple(f for _, _, f in drawn), consistent=consistent_secrets(held, threshold, prime),
    )
