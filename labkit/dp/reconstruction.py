"""Exact aggregates leak: a differencing attack and a reconstruction attack from subset sums (01, 02).

Notebook ``01-deidentification`` runs both attacks on exact answers; ``02-dp-from-scratch`` answers
the same queries with the Laplace mechanism and watches them fail as the noise grows.

* The **differencing attack**: two counts that differ by one person (all patients with a diagnosis,
  and the same count without the target) reveal the target's bit. With Laplace noise of scale
  b = 1 / epsilon on each count (only the first depends on the target, so the pair is epsilon-DP
  for the target and 2 epsilon-DP for everyone else), the attacker guesses "1" when the difference
  exceeds 1/2;
  :func:`differencing_success` is that guess's exact success probability, and
  :func:`simulate_differencing` checks it by simulation.
* The **reconstruction attack** of Dinur and Nissim (2003, *Revealing information while preserving
  privacy*, Section 3): a curator answers many random subset-sum queries on a hidden bit column; the
  attacker solves for the column by least squares (:func:`reconstruct_least_squares`) or by a linear
  programme minimising the L1 error with 0 <= x <= 1 (:func:`reconstruct_lp`), then rounds.
  :func:`reconstruct_brute_force` searches all 2^n columns of a tiny table, for the tests.
* :func:`reconstruction_point` and :func:`reconstruction_curve` are the compute functions of the
  reconstruction widget and its figure: the share of bits recovered over a few seeds, beside the
  majority-guess baseline and the epsilon the answers spent.

Every random draw comes from a ``np.random.Generator`` or a seed passed in: these are seeded
demonstrations, not privacy mechanisms to deploy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

MAX_PEOPLE = 5_000
MAX_QUERIES = 50_000
MAX_BRUTE_FORCE_PEOPLE = 16
MAX_NOISE_SCALE = 1e6
MAX_SEEDS = 100
MAX_TRIALS = 10**8
NORMS = ("l1", "l2")


# --------------------------------------------------------------------------------------------
# The differencing attack
# --------------------------------------------------------------------------------------------


def differencing_success(epsilon: float) -> float:
    """Exact chance that the differencing attack guesses the target's bit right.

    Each of the two counts gets independent Laplace noise of scale b = 1 / ``epsilon`` (a count has
    sensitivity 1). The attacker guesses 1 when (first count - second count) > 1/2. The difference of
    two Laplace(b) draws has density (1 + |z| / b) e^(-|z| / b) / (4 b), so the guess is right with
    probability 1 - (2 + s) e^(-s) / 4 with s = 1 / (2 b) = epsilon / 2, whatever the prior on the bit.
    ``epsilon = inf`` means exact counts (success 1).

    Introduced in ``02-dp-from-scratch.ipynb`` (the exact attack is in ``01-deidentification.ipynb``).
    """
    eps = v.positive("epsilon", epsilon, finite=False)
    if math.isinf(eps):
        return 1.0
    s = eps / 2
    return float(1.0 - (2.0 + s) * math.exp(-s) / 4.0)


def simulate_differencing(epsilon: float, trials: int, rng=None, others: int = 37) -> tuple[float, float]:
    """Run the differencing attack ``trials`` times; return (share of right guesses, its standard error).

    Each trial draws the target's bit (0 or 1 with probability 1/2), answers "how many patients have
    the diagnosis" (``others`` + bit) and "how many other than the target" (``others``), each with
    Laplace noise of scale 1 / ``epsilon``, and guesses 1 when the difference exceeds 1/2.

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    eps = v.positive("epsilon", epsilon, finite=False)
    trials = v.count("trials", trials, minimum=2, maximum=MAX_TRIALS)
    others = v.count("others", others, minimum=0, maximum=10**9)
    rng = v.generator(rng)
    bit = rng.integers(0, 2, size=trials)
    scale = 0.0 if math.isinf(eps) else 1.0 / eps
    with_target = others + bit + rng.laplace(0.0, scale, size=trials) if scale else (others + bit).astype(float)
    without = others + rng.laplace(0.0, scale, size=trials) if scale else np.full(trials, float(others))
    right = ((with_target - without) > 0.5) == (bit == 1)
    share = float(right.mean())
    return share, float(np.sqrt(share * (1 - share) / trials))


# --------------------------------------------------------------------------------------------
# The reconstruction attack
# --------------------------------------------------------------------------------------------


def hidden_bits(num_people: int, prevalence: float = 0.3, rng=None) -> np.ndarray:
    """A hidden column of 0/1 values (a diagnosis), each 1 with probability ``prevalence``.

    Introduced in ``01-deidentification.ipynb``.
    """
    n = v.count("num_people", num_people, maximum=MAX_PEOPLE)
    p = v.probability("prevalence", prevalence)
    rng = v.generator(rng)
    return (rng.random(n) < p).astype(np.int64)


def subset_queries(num_people: int, num_queries: int, rng=None) -> np.ndarray:
    """``num_queries`` random subsets of the people, as a 0/1 matrix (one row per query).

    Each person is in each subset independently with probability 1/2, as in Dinur and Nissim (2003).
    Introduced in ``01-deidentification.ipynb``.
    """
    n = v.count("num_people", num_people, maximum=MAX_PEOPLE)
    m = v.count("num_queries", num_queries, maximum=MAX_QUERIES)
    rng = v.generator(rng)
    return rng.integers(0, 2, size=(m, n), dtype=np.int8)


def _queries(queries) -> np.ndarray:
    arr = v.finite_array("queries", queries, ndim=2)
    if arr.shape[0] > MAX_QUERIES or arr.shape[1] > MAX_PEOPLE:
        raise ValueError(f"queries must have at most {MAX_QUERIES} rows and {MAX_PEOPLE} columns; got shape {arr.shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("queries must hold only 0 and 1 (row j marks the people in subset j)")
    return arr


def _answers(answers, num_queries: int) -> np.ndarray:
    arr = v.finite_array("answers", answers, ndim=1)
    if arr.size != num_queries:
        raise ValueError(f"answers must hold one value per query ({num_queries}); got {arr.size}")
    return arr


def _bits(name: str, bits, length: int | None = None) -> np.ndarray:
    arr = v.finite_array(name, bits, ndim=1)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold only 0 and 1")
    if length is not None and arr.size != length:
        raise ValueError(f"{name} must hold one value per person ({length}); got {arr.size}")
    return arr.astype(np.int64)


def answer_queries(queries, bits, noise_scale: float = 0.0, rng=None) -> np.ndarray:
    """The curator's answers: each subset sum of ``bits``, plus Laplace noise of scale ``noise_scale``.

    ``noise_scale = 0`` answers exactly. Each subset sum has sensitivity 1, so one answer with scale b
    is (1 / b)-DP and m answers are (m / b)-DP under basic composition. That is an upper bound: a
    person in c of the m subsets moves c answers by at most 1 each, so the answers are exactly
    (max c / b)-DP, about m / (2 b) for random subsets.
    Introduced in ``01-deidentification.ipynb`` (exact) and ``02-dp-from-scratch.ipynb`` (noisy).
    """
    q = _queries(queries)
    x = _bits("bits", bits, q.shape[1])
    b = v.real("noise_scale", noise_scale, low=0.0, high=MAX_NOISE_SCALE)
    exact = q @ x
    if b == 0:
        return exact.astype(float)
    rng = v.generator(rng)
    return exact + rng.laplace(0.0, b, size=exact.size)


def reconstruct_least_squares(queries, answers) -> np.ndarray:
    """The bit column that the answers suggest: the least-squares solution, rounded at 1/2.

    Introduced in ``01-deidentification.ipynb``.
    """
    q = _queries(queries)
    a = _answers(answers, q.shape[0])
    estimate = np.linalg.lstsq(q, a, rcond=None)[0]
    return (estimate > 0.5).astype(np.int64)


def reconstruct_lp(queries, answers) -> np.ndarray:
    """Dinur and Nissim's linear programme: the x in [0, 1]^n with the least total |q x - a|, rounded at 1/2.

    Solved with SciPy's HiGHS (``scipy.optimize.linprog``) over x and one slack e_j >= |q_j x - a_j|
    per query. Introduced in ``01-deidentification.ipynb``.
    """
    from scipy.optimize import linprog

    q = _queries(queries)
    a = _answers(answers, q.shape[0])
    m, n = q.shape
    cost = np.concatenate([np.zeros(n), np.ones(m)])
    eye = np.eye(m)
    a_ub = np.block([[q, -eye], [-q, -eye]])
    b_ub = np.concatenate([a, -a])
    bounds = [(0.0, 1.0)] * n + [(0.0, None)] * m
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if result.status != 0:  # pragma: no cover - the programme is always feasible and bounded
        raise RuntimeError(f"linprog failed: {result.message}")
    return (result.x[:n] > 0.5).astype(np.int64)


def reconstruct_brute_force(queries, answers, norm: str = "l1") -> np.ndarray:
    """The 0/1 column with the least error (L1 or L2) on the answers, found by trying all 2^n (n <= 16).

    Ties go to the column that comes first in binary order. A reference for the tests of the two
    polynomial-time attacks; introduced in ``tests/dp/test_reconstruction.py`` (not in a notebook).
    """
    q = _queries(queries)
    a = _answers(answers, q.shape[0])
    norm = v.choice("norm", norm, NORMS)
    n = q.shape[1]
    if n > MAX_BRUTE_FORCE_PEOPLE:
        raise ValueError(f"queries must have at most {MAX_BRUTE_FORCE_PEOPLE} columns for a brute-force search; got {n}")
    candidates = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1  # row k: the bits of k
    residual = candidates @ q.T - a[None, :]
    error = np.abs(residual).sum(axis=1) if norm == "l1" else (residual**2).sum(axis=1)
    return candidates[int(np.argmin(error))].astype(np.int64)


def recovered_share(guess, bits) -> float:
    """Share of the entries of ``guess`` equal to ``bits``. Introduced in ``01-deidentification.ipynb``."""
    x = _bits("bits", bits)
    g = _bits("guess", guess, x.size)
    return float(np.mean(g == x))


def majority_share(bits) -> float:
    """Share of ``bits`` that guessing the majority value for everyone gets right (the baseline).

    Introduced in ``01-deidentification.ipynb``.
    """
    x = _bits("bits", bits)
    ones = float(x.mean())
    return max(ones, 1.0 - ones)


# --------------------------------------------------------------------------------------------
# The widget's compute functions (02)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _instance(num_people: int, num_queries: int, prevalence: float, seed: int):
    """One seeded table and its queries: (bits, exact estimate, noise direction, majority share).

    The Laplace noise is b times one standard draw per query, so the least-squares estimate at any
    scale b is ``exact + b * direction``: a slider move costs one rounding, not a solve. The draws are
    those of ``answer_queries`` on the same generator (``rng.laplace(0, b)`` is b times
    ``rng.laplace(0, 1)``).
    """
    rng = np.random.default_rng(seed)
    bits = hidden_bits(num_people, prevalence, rng)
    q = subset_queries(num_people, num_queries, rng).astype(float)
    unit_noise = rng.laplace(0.0, 1.0, size=num_queries)
    pinv = np.linalg.pinv(q)
    return bits, pinv @ (q @ bits), pinv @ unit_noise, majority_share(bits)


def _check_setting(num_people, num_queries, num_seeds, prevalence):
    n = v.count("num_people", num_people, maximum=MAX_PEOPLE)
    m = v.count("num_queries", num_queries, maximum=MAX_QUERIES)
    k = v.count("num_seeds", num_seeds, minimum=2, maximum=MAX_SEEDS)
    p = v.probability("prevalence", prevalence)
    if n * m > 2_000_000:
        raise ValueError(f"num_people * num_queries must be at most 2,000,000 for the widget; got {n} * {m} = {n * m}")
    return n, m, k, p


def _epsilons(num_queries: int, noise_scale: float, delta: float) -> tuple[float, float]:
    """(basic, advanced) composition epsilon of ``num_queries`` answers with Laplace scale ``noise_scale``.

    Each answer is (1 / b)-DP; :func:`labkit.dp.accounting.basic_composition` and
    :func:`~labkit.dp.accounting.advanced_composition` (at ``delta``) add them up.
    """
    from labkit.dp.accounting import advanced_composition, basic_composition

    if noise_scale == 0:
        return math.inf, math.inf
    per_query = 1.0 / noise_scale
    basic = basic_composition(per_query, 0.0, num_queries)[0]
    if per_query > 700:  # e^epsilon overflows: advanced composition does not apply
        return basic, math.inf
    return basic, advanced_composition(per_query, 0.0, num_queries, delta)[0]


@dataclass(frozen=True)
class ReconstructionPoint:
    """The reconstruction attack at one noise scale, over seeds (built by :func:`reconstruction_point`).

    Attributes:
        noise_scale: Laplace scale b of every answer (0: exact answers).
        num_people, num_queries, prevalence: the setting (n, m, share of 1s drawn).
        recovered: share of bits recovered by least squares, one per seed.
        majority: the majority-guess share, one per seed (the baseline).
        epsilon: the answers' epsilon under basic composition, m / b (inf for exact answers); an upper
            bound, as each person is in only about half the subsets (see :func:`answer_queries`).
        epsilon_advanced: the advanced-composition epsilon at ``delta`` (inf when it does not apply).
        delta: the delta of ``epsilon_advanced``.
    """

    noise_scale: float
    num_people: int
    num_queries: int
    prevalence: float
    recovered: np.ndarray
    majority: np.ndarray
    epsilon: float
    epsilon_advanced: float
    delta: float

    @property
    def mean(self) -> float:
        return float(self.recovered.mean())

    @property
    def sd(self) -> float:
        return float(self.recovered.std(ddof=1))

    def describe(self) -> str:
        """One sentence for the widget's status line."""
        k = self.recovered.size
        noise = (tr("exact answers") if self.noise_scale == 0 else
                 tr("Laplace noise of scale b = {scale:.3g} per answer").format(scale=self.noise_scale))
        if math.isinf(self.epsilon):
            spent = tr("epsilon = infinity (no noise: no guarantee)")
        else:
            spent = tr("epsilon = m / b = {epsilon:,.1f} (basic composition)").format(epsilon=self.epsilon)
            if self.epsilon_advanced < self.epsilon:
                spent += tr("; {epsilon:,.1f} by advanced composition at delta = {delta:g}").format(
                    epsilon=self.epsilon_advanced, delta=self.delta)
            else:
                spent += tr("; advanced composition gives no less here")
        return tr("n = {n} people, m = {m} subset sums, {noise}: least squares recovers <b>{mean:.1%}</b> of the bits "
                  "(sd {sd:.1%} over {k} seeds); guessing the majority gets {majority:.1%} (sd {majority_sd:.1%}). "
                  "Privacy spent: {spent}.").format(
            n=self.num_people, m=self.num_queries, noise=noise, mean=self.mean, sd=self.sd, k=k,
            majority=self.majority.mean(), majority_sd=self.majority.std(ddof=1), spent=spent)


def reconstruction_point(noise_scale: float, num_people: int = 100, num_queries: int = 400, num_seeds: int = 5,
                         prevalence: float = 0.3, delta: float = 1e-5) -> ReconstructionPoint:
    """Share of bits the least-squares attack recovers at Laplace scale ``noise_scale``, over seeds 0 to k - 1.

    Seed s draws the bits (:func:`hidden_bits`), the queries (:func:`subset_queries`) and the noise
    from ``np.random.default_rng(s)``, in that order; the noise at every scale is the same standard
    Laplace draw, scaled. Tables and solves are cached: a new scale costs a rounding per seed.
    The compute function of the reconstruction widget in ``02-dp-from-scratch.ipynb``.
    """
    b = v.real("noise_scale", noise_scale, low=0.0, high=MAX_NOISE_SCALE)
    n, m, k, p = _check_setting(num_people, num_queries, num_seeds, prevalence)
    d = v.probability("delta", delta)
    recovered, majority = np.empty(k), np.empty(k)
    for seed in range(k):
        bits, exact, direction, major = _instance(n, m, p, seed)
        recovered[seed] = np.mean(((exact + b * direction) > 0.5) == (bits == 1))
        majority[seed] = major
    basic, advanced = _epsilons(m, b, d)
    return ReconstructionPoint(b, n, m, p, recovered, majority, basic, advanced, d)


@dataclass(frozen=True)
class ReconstructionCurve:
    """Shares of bits recovered over a grid of noise scales (built by :func:`reconstruction_curve`).

    Attributes:
        noise_scales: the grid of Laplace scales b.
        recovered: shape (seeds, scales): share of bits recovered by least squares.
        majority: one majority-guess share per seed.
        num_people, num_queries: the setting (n, m).
    """

    noise_scales: np.ndarray
    recovered: np.ndarray
    majority: np.ndarray
    num_people: int
    num_queries: int


@functools.lru_cache(maxsize=64)
def _curve(scales: tuple[float, ...], n: int, m: int, k: int, p: float) -> ReconstructionCurve:
    grid = np.array(scales)
    recovered, majority = np.empty((k, grid.size)), np.empty(k)
    for seed in range(k):
        bits, exact, direction, major = _instance(n, m, p, seed)
        guesses = (exact[None, :] + grid[:, None] * direction[None, :]) > 0.5
        recovered[seed] = np.mean(guesses == (bits == 1)[None, :], axis=1)
        majority[seed] = major
    return ReconstructionCurve(grid, recovered, majority, n, m)


def reconstruction_curve(noise_scales, num_people: int = 100, num_queries: int = 400, num_seeds: int = 5,
                         prevalence: float = 0.3) -> ReconstructionCurve:
    """:func:`reconstruction_point` over a grid of noise scales (the widget's figure; cached).

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    grid = v.finite_array("noise_scales", noise_scales, ndim=1)
    if np.any(grid < 0) or np.any(grid > MAX_NOISE_SCALE):
        raise ValueError(f"noise_scales must lie in [0, {MAX_NOISE_SCALE:g}]; got min {grid.min():g}, max {grid.max():g}")
    if grid.size > 1000:
        raise ValueError(f"noise_scales must hold at most 1000 scales; got {grid.size}")
    n, m, k, p = _check_setting(num_people, num_queries, num_seeds, prevalence)
    return _curve(tuple(float(x) for x in grid), n, m, k, p)
