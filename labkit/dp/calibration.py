"""Gaussian calibration (Balle & Wang 2018): the exact delta of the Gaussian mechanism, and sigma or epsilon from it.

Introduced in ``03-gaussian-accounting.ipynb``: :func:`gaussian_delta` (Theorem 8),
:func:`gaussian_sigma` (the classic formula of Dwork & Roth 2014 and the analytic one, Algorithm 1)
and :func:`gaussian_epsilon` (per-release epsilon for composition). :func:`labkit.dp.mechanisms.gaussian_mechanism`
calibrates its noise here.

Every epsilon may be any finite number > 0 (a large one gives a tiny sigma); NaN, infinities and
bools are refused.
"""

from __future__ import annotations

import functools
import math

from labkit import _validate as v

GAUSSIAN_METHODS: tuple[str, ...] = ("analytic", "classic")


def gaussian_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """The exact delta of the Gaussian mechanism with noise ``sigma`` at ``epsilon``.

    Balle & Wang (ICML 2018), Theorem 8: the mechanism is (epsilon, delta)-DP exactly when
    ``delta >= Phi(D/(2s) - eps*s/D) - e^eps * Phi(-D/(2s) - eps*s/D)`` with D the L2
    sensitivity. Computed in log space so that large epsilon does not overflow.

    Introduced in ``03-gaussian-accounting.ipynb`` (the real delta of the classic formula).
    """
    from scipy.special import log_ndtr, ndtr

    s = v.positive("sigma", sigma)
    eps = v.nonnegative("epsilon", epsilon)
    d = v.positive("sensitivity", sensitivity)
    a = d / (2 * s)
    b = eps * s / d
    first = float(ndtr(a - b))
    second = math.exp(eps + float(log_ndtr(-a - b)))
    return max(first - second, 0.0)


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0, method: str = "analytic") -> float:
    """Noise standard deviation for an (epsilon, delta)-DP Gaussian mechanism.

    ``"classic"``: ``sensitivity * sqrt(2 ln(1.25/delta)) / epsilon`` (Dwork & Roth 2014,
    Theorem A.1), whose proof needs epsilon < 1; larger epsilon raises ValueError.
    ``"analytic"``: Balle & Wang (ICML 2018), Algorithm 1: the smallest sigma for which
    :func:`gaussian_delta` is at most ``delta``, found by bisection to 1e-6 relative (the result
    errs on the safe side: never below the exact answer). Valid for every epsilon > 0.

    Introduced in ``03-gaussian-accounting.ipynb``; used by :func:`gaussian_mechanism`.
    """
    eps = v.positive("epsilon", epsilon)
    d = v.probability("delta", delta)
    sens = v.positive("sensitivity", sensitivity)
    v.choice("method", method, GAUSSIAN_METHODS)
    if method == "classic":
        if eps >= 1:
            raise ValueError(f"epsilon must be in (0, 1) for the classic Gaussian mechanism (its proof needs "
                             f"epsilon < 1); got {epsilon!r}. Use method='analytic'")
        return sens * math.sqrt(2 * math.log(1.25 / d)) / eps
    return sens * _analytic_sigma_unit(eps, d)


@functools.lru_cache(maxsize=4096)
def _analytic_sigma_unit(eps: float, delta: float) -> float:
    # Bracket sigma (sensitivity 1), then bisect in log space down to 1e-7 relative.
    lo, hi = 1e-3, 1.0
    while gaussian_delta(hi, eps) > delta:
        lo, hi = hi, hi * 2
        if hi > 1e12:
            raise ValueError(f"no sigma below 1e12 reaches delta={delta} at epsilon={eps}")
    while gaussian_delta(lo, eps) <= delta:
        hi, lo = lo, lo / 2
        if lo < 1e-12:
            return hi
    while hi / lo - 1 > 1e-7:
        mid = math.sqrt(lo * hi)
        if gaussian_delta(mid, eps) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


def gaussian_epsilon(sigma: float, delta: float, sensitivity: float = 1.0) -> float:
    """Smallest epsilon at which the Gaussian mechanism with noise ``sigma`` is (epsilon, delta)-DP.

    Inverts :func:`gaussian_delta` (exact, Balle & Wang 2018) by bisection to 1e-9 relative.
    Introduced in ``03-gaussian-accounting.ipynb`` (per-release epsilon for composition).
    """
    s = v.positive("sigma", sigma)
    d = v.probability("delta", delta)
    sens = v.positive("sensitivity", sensitivity)
    if gaussian_delta(s, 0.0, sens) <= d:
        return 0.0
    lo, hi = 0.0, 1.0
    while gaussian_delta(s, hi, sens) > d:
        lo, hi = hi, 2 * hi
        if hi > 1e6:
            raise ValueError(f"sensitivity / sigma must be small enough for a finite epsilon at delta={d:g}; got "
                             f"sigma={s:g}, sensitivity={sens:g} (epsilon above 1e6)")
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        if gaussian_delta(s, mid, sens) <= d:
            hi = mid
        else:
            lo = mid
    return hi
