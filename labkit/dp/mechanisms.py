"""Mechanisms on one dataset, and empirical checks on two neighbouring ones.

Introduced in ``02-dp-from-scratch.ipynb``:

* Mechanisms: :func:`randomized_response` (with :func:`truthful_probability`,
  :func:`estimate_proportion` and :func:`randomized_response_std`), :func:`laplace_mechanism`,
  :func:`laplace_histogram`,
  :func:`release_each_record` (a (0, delta)-DP mechanism that leaks whole records) and
  :func:`gaussian_mechanism` (calibrated by :mod:`labkit.dp.calibration`; used from
  ``03-gaussian-accounting.ipynb``).
* Empirical checks on neighbouring datasets: :func:`histogram_log_ratio`, :func:`empirical_epsilon`,
  :func:`empirical_epsilon_interval` (with its confidence interval, :class:`EmpiricalEpsilon`) and
  :func:`empirical_delta` (used by the tests).
* The noise-calibration widget's compute function, :func:`noise_calibration` (pure: no ipywidgets).

Every epsilon may be any finite number > 0: a large one is valid and adds almost no noise (a
guarantee that protects almost nothing); NaN, infinities and bools are refused.

Randomness comes from an ``rng`` argument: a ``numpy.random.Generator``, a seed for a reproducible
demonstration (which gives no privacy to anyone who knows it), or ``None`` for fresh OS entropy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labkit import _validate as v
from labkit.dp.calibration import gaussian_sigma
from labkit.i18n import tr


# --------------------------------------------------------------------------------------------
# Mechanisms (02-dp-from-scratch)
# --------------------------------------------------------------------------------------------

def _like(arr: np.ndarray, out: np.ndarray):
    return float(out) if arr.ndim == 0 else out


def _value(value) -> np.ndarray:
    """A value to release: finite numbers (a scalar or an array), never booleans (True is not the count 1)."""
    if v.is_bool(value) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise TypeError(f"value must be a number or an array of numbers, not a boolean; got {v._got(value)}")
    return v.finite_array("value", value, allow_empty=True)


def laplace_mechanism(value, sensitivity: float, epsilon: float, rng=None):
    """Release ``value`` plus Laplace noise of scale ``sensitivity / epsilon`` (epsilon-DP).

    ``value`` is a scalar or an array; each entry gets independent noise, and ``sensitivity``
    is the L1 sensitivity of the whole array (Dwork, McSherry, Nissim & Smith 2006). ``rng`` is a
    ``numpy.random.Generator`` or a seed for a reproducible demonstration; ``None`` draws fresh
    OS entropy. A teaching implementation: floating-point Laplace samples leak through their low
    bits (Mironov 2012); production libraries (Google's differential-privacy library, OpenDP) use
    discrete or snapping mechanisms instead.

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    arr = _value(value)
    scale = v.positive("sensitivity", sensitivity) / v.positive("epsilon", epsilon)
    return _like(arr, arr + v.generator(rng).laplace(0.0, scale, size=arr.shape))


def laplace_histogram(values, bin_edges, epsilon: float, rng=None) -> np.ndarray:
    """Release a histogram of ``values`` with independent Laplace noise of scale 1 / epsilon in every bin.

    Under add-or-remove-one adjacency one person falls in one bin and changes that count by 1, so
    the vector of counts has L1 sensitivity 1 however many bins it has: every bin gets noise of
    scale 1 / epsilon and the whole histogram is epsilon-DP (parallel composition; Dwork & Roth
    2014, Section 3.3). Bins follow ``numpy.histogram`` (the last bin includes its right edge;
    values outside the edges are not counted). ``rng`` as in :func:`laplace_mechanism`, which
    draws the noise.

    Introduced in ``02-dp-from-scratch.ipynb`` (exercise 02.1 asks the learner to write it).

    Args:
        values: the records, a 1-D array of finite numbers (may be empty).
        bin_edges: increasing bin edges, a 1-D array of at least two finite numbers.
        epsilon: the privacy parameter, > 0.
        rng: a ``numpy.random.Generator``, a seed, or ``None`` for fresh OS entropy.

    Returns:
        The noisy counts, a float array with one entry per bin.
    """
    data = v.finite_array("values", values, ndim=1, allow_empty=True)
    edges = v.finite_array("bin_edges", bin_edges, ndim=1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin_edges must be at least two strictly increasing numbers; got {v._got(bin_edges)}")
    counts = np.histogram(data, bins=edges)[0].astype(float)
    return laplace_mechanism(counts, sensitivity=1.0, epsilon=epsilon, rng=rng)


def gaussian_mechanism(value, sensitivity: float, epsilon: float, delta: float, rng=None,
                       method: str = "analytic"):
    """Release ``value`` plus Gaussian noise calibrated by :func:`gaussian_sigma` ((epsilon, delta)-DP).

    ``sensitivity`` is the L2 sensitivity of the whole array. ``method`` is ``"analytic"``
    (Balle & Wang 2018, any epsilon) or ``"classic"`` (epsilon < 1 only). ``rng`` as in
    :func:`laplace_mechanism`.

    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    arr = _value(value)
    sigma = gaussian_sigma(epsilon, delta, sensitivity, method)
    return _like(arr, arr + v.generator(rng).normal(0.0, sigma, size=arr.shape))


def randomized_response(bits, epsilon: float, rng=None) -> np.ndarray:
    """Warner's randomized response: report each bit truthfully with probability e^eps / (1 + e^eps).

    Otherwise the bit is flipped. Each respondent's report is epsilon-DP (local model).
    ``rng`` as in :func:`laplace_mechanism`. Returns an ``int8`` array of 0s and 1s.

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    arr = np.asarray(bits)
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("bits must contain only 0 and 1 (or False and True)")
    p_truth = truthful_probability(epsilon)
    keep = v.generator(rng).random(arr.shape) < p_truth
    return np.where(keep, arr, 1 - arr).astype(np.int8)


def release_each_record(records, delta: float, rng=None) -> np.ndarray:
    """Publish each record in full, independently, with probability ``delta``: (0, delta)-DP, yet a leak.

    Adding a record x to a dataset changes the output only when x itself is published, which
    happens with probability ``delta``; every event S therefore satisfies
    Pr[M(D + x) in S] <= Pr[M(D) in S] + delta, so the mechanism is (0, delta)-DP. On n records it
    publishes delta * n of them on average. This is why delta must be far below 1/n: it is an
    additive slack that may be spent on revealing whole records, not a small chance that "the
    guarantee fails" a little. ``rng`` as in :func:`laplace_mechanism`.

    Introduced in ``02-dp-from-scratch.ipynb``.

    Returns:
        The published records (a subset of ``records``, in their original order).
    """
    arr = np.asarray(records)
    if arr.ndim == 0:
        raise ValueError("records must be a sequence (one entry per record), not a scalar")
    d = v.probability("delta", delta, zero=True, one=True)
    return arr[v.generator(rng).random(len(arr)) < d]


def truthful_probability(epsilon: float) -> float:
    """Probability that randomized response reports the true bit: e^eps / (1 + e^eps).

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    eps = v.positive("epsilon", epsilon)
    return 1.0 / (1.0 + math.exp(-eps))


def estimate_proportion(responses, epsilon: float) -> float:
    """Unbiased estimate of the true share of 1s from randomized-response reports.

    With p = e^eps / (1 + e^eps), E[report] = (1 - p) + (2p - 1) * pi, so
    pi_hat = (mean - (1 - p)) / (2p - 1). The estimate can fall outside [0, 1]; clip it only if
    you accept a (small) bias. Introduced in ``02-dp-from-scratch.ipynb``.
    """
    arr = np.asarray(responses)
    if arr.size == 0:
        raise ValueError("responses must not be empty")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("responses must contain only 0 and 1")
    p = truthful_probability(epsilon)
    return float((arr.mean() - (1 - p)) / (2 * p - 1))


def randomized_response_std(num_respondents: int, epsilon: float) -> float:
    """Standard deviation of :func:`estimate_proportion` over the coins, for fixed true answers.

    Each report is a coin that agrees with the truth with probability p, so its variance is
    p (1 - p) whatever the true bit: std = sqrt(p (1 - p) / n) / (2p - 1).
    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    n = v.count("num_respondents", num_respondents)
    p = truthful_probability(epsilon)
    return math.sqrt(p * (1 - p) / n) / (2 * p - 1)


# --------------------------------------------------------------------------------------------
# Empirical checks on neighbouring datasets (02, and the tests)
# --------------------------------------------------------------------------------------------

def _samples(name: str, value) -> np.ndarray:
    """Mechanism outputs: a non-empty array of finite numbers (not a single number), flattened."""
    arr = v.finite_array(name, value)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of mechanism outputs, not a single number; got {v._got(value)}")
    return arr.ravel()


def _bins(bins) -> int | np.ndarray:
    """Histogram bins: a count from 1 to 100,000, or increasing finite edges (at least two)."""
    if v.is_integer(bins) or v.is_bool(bins):
        return v.count("bins", bins, maximum=100_000)
    edges = v.finite_array("bins", bins, ndim=1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be a bin count or at least two increasing edges; got {v._got(bins)}")
    return edges


def histogram_log_ratio(samples, neighbour_samples, bins, min_count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Log of the ratio of two output histograms, bin by bin.

    For an epsilon-DP mechanism run on neighbouring datasets, every ratio lies within
    [e^-eps, e^eps] up to sampling error. Bins where either histogram has fewer than
    ``min_count`` samples get NaN (their ratio is mostly noise).

    Returns:
        (bin centres, log ratios).

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    a = _samples("samples", samples)
    b = _samples("neighbour_samples", neighbour_samples)
    bins = _bins(bins)
    v.count("min_count", min_count)
    ha, hb, edges = _paired_histograms(a, b, bins)
    return 0.5 * (edges[:-1] + edges[1:]), _log_ratios(ha, hb, a.size, b.size, min_count)


def _paired_histograms(a: np.ndarray, b: np.ndarray, bins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of ``a`` and of ``b`` in the same bins, and the bin edges."""
    ha, edges = np.histogram(a, bins=bins)
    hb, _ = np.histogram(b, bins=edges)
    return ha, hb, edges


def _log_ratios(ha: np.ndarray, hb: np.ndarray, na: int, nb: int, min_count: int) -> np.ndarray:
    """log of the ratio of the two empirical bin probabilities; NaN where either count is below ``min_count``."""
    ok = (ha >= min_count) & (hb >= min_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log((ha / na) / (hb / nb))
    return np.where(ok, ratio, np.nan)


def empirical_epsilon(samples, neighbour_samples, bins, min_count: int = 1000) -> float:
    """Largest absolute log ratio over the well-populated bins (see :func:`histogram_log_ratio`).

    A lower estimate of the mechanism's epsilon from samples; introduced in
    ``02-dp-from-scratch.ipynb``.
    """
    _, ratios = histogram_log_ratio(samples, neighbour_samples, bins, min_count)
    if np.all(np.isnan(ratios)):
        raise ValueError(f"no bin holds min_count={min_count} samples of both; use more samples or fewer bins")
    return float(np.nanmax(np.abs(ratios)))


@dataclass(frozen=True)
class EmpiricalEpsilon:
    """The largest |log ratio| over well-populated bins, with a simultaneous confidence interval.

    ``estimate`` is :func:`empirical_epsilon`. ``low`` and ``high`` bound the largest *true*
    |log ratio| over the same bins with probability at least ``confidence`` (a normal interval
    for every bin, Bonferroni-corrected over the ``num_bins`` bins). That true value is itself a
    lower bound on the mechanism's epsilon (each bin is one event S), so ``low`` is a statistical
    lower bound on epsilon; no sample can give an upper bound.

    Introduced in ``02-dp-from-scratch.ipynb``.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    num_bins: int

    def __str__(self) -> str:
        return tr("{estimate:.2f} ({confidence:.0%} CI {low:.2f} to {high:.2f}, simultaneous over {num_bins} bins)").format(
            estimate=self.estimate, confidence=self.confidence, low=self.low, high=self.high, num_bins=self.num_bins)


def empirical_epsilon_interval(samples, neighbour_samples, bins, min_count: int = 1000,
                               confidence: float = 0.95) -> EmpiricalEpsilon:
    """:func:`empirical_epsilon` with its sampling uncertainty (see :class:`EmpiricalEpsilon`).

    A bin holding h of N samples on one side has log-frequency standard error
    sqrt(1/h - 1/N), so bin i's log ratio r_i has standard error
    s_i = sqrt(1/h_i - 1/N + 1/h'_i - 1/N'). With z the normal quantile at
    1 - (1 - confidence) / (2 m) for m bins, every true |log ratio| lies in |r_i| -/+ z s_i at
    once with probability at least ``confidence``; the interval for the largest one is
    [max_i (|r_i| - z s_i), max_i (|r_i| + z s_i)] (the low end clipped at 0).

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    from scipy.stats import norm

    conf = v.probability("confidence", confidence)
    a = _samples("samples", samples)
    b = _samples("neighbour_samples", neighbour_samples)
    bins = _bins(bins)
    v.count("min_count", min_count)
    ha, hb, _ = _paired_histograms(a, b, bins)
    ratios = _log_ratios(ha, hb, a.size, b.size, min_count)
    ok = ~np.isnan(ratios)
    if not np.any(ok):
        raise ValueError(f"no bin holds min_count={min_count} samples of both; use more samples or fewer bins")
    se = np.sqrt(np.maximum(1 / ha[ok] - 1 / a.size + 1 / hb[ok] - 1 / b.size, 0.0))
    size = np.abs(ratios[ok])
    z = float(norm.ppf(1 - (1 - conf) / (2 * int(ok.sum()))))
    return EmpiricalEpsilon(estimate=float(size.max()), low=float(max(np.max(size - z * se), 0.0)),
                            high=float(np.max(size + z * se)), confidence=conf, num_bins=int(ok.sum()))


def empirical_delta(samples, neighbour_samples, epsilon: float, num_thresholds: int = 200) -> float:
    """Largest P[X in S] - e^eps P[X' in S] over half-lines S, estimated from samples.

    For one-dimensional Laplace and Gaussian mechanisms the worst event S is a half-line, so
    this estimates the smallest delta for which the samples look (epsilon, delta)-DP (both
    directions are tried). A point estimate without an interval: the tests use it to catch a
    Gaussian mechanism with too little noise; no notebook prints it.
    """
    a = np.sort(_samples("samples", samples))
    b = np.sort(_samples("neighbour_samples", neighbour_samples))
    eps = v.nonnegative("epsilon", epsilon)
    if eps > 700:  # e^eps overflows a float
        raise ValueError(f"epsilon must be in [0, 700]; got {epsilon!r}")
    v.count("num_thresholds", num_thresholds, minimum=2, maximum=1_000_000)
    both = np.concatenate([a, b])
    t = np.quantile(both, np.linspace(0.0, 1.0, num_thresholds))
    fa_le = np.searchsorted(a, t, side="right") / a.size  # P[X <= t]
    fb_le = np.searchsorted(b, t, side="right") / b.size
    ea = math.exp(eps)
    worst = max(
        np.max(fa_le - ea * fb_le), np.max((1 - fa_le) - ea * (1 - fb_le)),
        np.max(fb_le - ea * fa_le), np.max((1 - fb_le) - ea * (1 - fa_le)),
    )
    return float(max(worst, 0.0))


# --------------------------------------------------------------------------------------------
# The noise-calibration widget's compute function (02; pure, fast enough for a slider)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoiseCalibration:
    """What the noise-calibration widget of ``02-dp-from-scratch.ipynb`` shows."""

    epsilon: float
    sensitivity: float
    true_count: int
    scale: float  # Laplace scale b = sensitivity / epsilon
    x: np.ndarray  # released values
    density: np.ndarray  # Laplace density of the release on the dataset
    neighbour_density: np.ndarray  # ... on a neighbouring dataset (count + sensitivity)
    mean_abs_error: float  # E|noise| = b
    error_95: float  # |noise| <= b ln 20 with probability 0.95

    def describe(self) -> str:
        return tr("epsilon = {epsilon:g}, sensitivity = {sensitivity:g}: Laplace scale b = {scale:.3g}; "
                  "mean |error| = {error:.3g}, 95% of releases within +/- {error_95:.3g} "
                  "({share:.1%} of a count of {count})").format(
            epsilon=self.epsilon, sensitivity=self.sensitivity, scale=self.scale, error=self.mean_abs_error,
            error_95=self.error_95, share=self.error_95 / self.true_count, count=self.true_count)


def noise_calibration(epsilon: float, sensitivity: float, true_count: int = 100, num_points: int = 401) -> NoiseCalibration:
    """The Laplace release of a count: its distribution on two neighbouring datasets and its error.

    Introduced in ``02-dp-from-scratch.ipynb`` (its widget calls this on every slider move).
    """
    eps = v.positive("epsilon", epsilon)
    sens = v.positive("sensitivity", sensitivity)
    count = v.count("true_count", true_count)
    n = v.count("num_points", num_points, minimum=2, maximum=1_000_000)
    b = sens / eps
    half = max(8 * b, 3 * sens)
    x = np.linspace(count - half, count + sens + half, n)
    density = np.exp(-np.abs(x - count) / b) / (2 * b)
    neighbour = np.exp(-np.abs(x - count - sens) / b) / (2 * b)
    return NoiseCalibration(eps, sens, count, b, x, density, neighbour, b, b * math.log(20))
