"""Differential privacy: mechanisms, Gaussian calibration and privacy accounting.

Mechanisms (randomized response, Laplace, Gaussian) are introduced in
``02-dp-from-scratch.ipynb``; Gaussian calibration and the accountants in
``03-gaussian-accounting.ipynb``; DP-SGD (``04-dp-sgd.ipynb``) and private federated learning
(``07-private-federated-learning.ipynb``) use the accounting functions.

All accounting goes through Google's ``dp-accounting`` library (``RdpAccountant`` and
``PLDAccountant`` composing ``PoissonSampledDpEvent``/``GaussianDpEvent``); nothing here
re-implements an accountant. Neighbouring datasets differ by adding or removing one record.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, Sequence

import numpy as np

Accountant = Literal["rdp", "pld"]
ACCOUNTANTS: tuple[str, ...] = ("rdp", "pld")
GAUSSIAN_METHODS: tuple[str, ...] = ("analytic", "classic")

# Search range for noise multipliers (dpsgd_noise_multiplier / noise_multiplier_for_epsilon).
_SIGMA_MIN = 1e-2
_SIGMA_MAX = 1e4
_SIGMA_RTOL = 1e-3  # the returned sigma is within 0.1% of the smallest one meeting the target


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------

def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, not NaN")
    return value


def _positive(name: str, value: object, *, finite: bool = True) -> float:
    v = _real(name, value)
    if not v > 0 or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be a positive finite number (> 0); got {value!r}")
    return v


def _delta(value: object, name: str = "delta") -> float:
    v = _real(name, value)
    if not 0 < v < 1:
        raise ValueError(f"{name} must be in the open interval (0, 1); got {value!r}")
    return v


def _probability(name: str, value: object) -> float:
    v = _real(name, value)
    if not 0 < v <= 1:
        raise ValueError(f"{name} must be in (0, 1]; got {value!r}")
    return v


def _count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _accountant(value: object) -> str:
    if value not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {ACCOUNTANTS}; got {value!r}")
    return str(value)


def _dpsgd_shape(num_examples: object, batch_size: object, epochs: object) -> tuple[float, int]:
    """Validate a DP-SGD configuration; return (sampling probability, steps)."""
    n = _count("num_examples", num_examples)
    b = _count("batch_size", batch_size)
    if b > n:
        raise ValueError(f"batch_size must be between 1 and num_examples={n}; got {b}")
    e = _positive("epochs", epochs)
    return b / n, dpsgd_steps(n, b, e)


def dpsgd_steps(num_examples: int, batch_size: int, epochs: float) -> int:
    """Number of DP-SGD steps: ``ceil(epochs * num_examples / batch_size)``.

    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    return int(math.ceil(epochs * num_examples / batch_size - 1e-9))


# --------------------------------------------------------------------------------------------
# Accounting (dp-accounting)
# --------------------------------------------------------------------------------------------

def _event(sampling_probability: float, noise_multiplier: float, steps: int):
    import dp_accounting

    event = dp_accounting.GaussianDpEvent(noise_multiplier)
    if sampling_probability < 1:
        event = dp_accounting.PoissonSampledDpEvent(sampling_probability, event)
    return dp_accounting.SelfComposedDpEvent(event, steps)


@functools.lru_cache(maxsize=1)
def _default_rdp_orders() -> tuple[float, ...]:
    from dp_accounting import rdp

    return tuple(float(a) for a in rdp.RdpAccountant()._orders)


# A sparse subset of dp-accounting's default RDP orders, for the first stage of the
# noise-multiplier search. Epsilon over any subset of orders is an upper bound on the default
# epsilon, so the subset's answer always meets the target; the second stage refines it with
# every default order between the neighbours of the subset's optimal order.
_COARSE_ORDERS: tuple[float, ...] = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0, 16.0,
                                     20.0, 24.0, 28.0, 32.0, 40.0, 48.0, 56.0, 63.0, 128.0, 256.0, 512.0, 1024.0)


@functools.lru_cache(maxsize=8192)
def _rdp_epsilon_and_order(q: float, sigma: float, steps: int, delta: float,
                           orders: tuple[float, ...] | None) -> tuple[float, float]:
    from dp_accounting import rdp

    acc = rdp.RdpAccountant(list(orders) if orders is not None else None)
    acc.compose(_event(q, sigma, steps))
    eps, order = acc.get_epsilon_and_optimal_order(delta)
    return float(eps), float(order)


@functools.lru_cache(maxsize=8192)
def _epsilon_cached(q: float, sigma: float, steps: int, delta: float, accountant: str) -> float:
    if accountant == "rdp":
        return _rdp_epsilon_and_order(q, sigma, steps, delta, None)[0]
    from dp_accounting import pld

    acc = pld.PLDAccountant()
    acc.compose(_event(q, sigma, steps))
    return float(acc.get_epsilon(delta))


def poisson_gaussian_epsilon(sampling_probability: float, noise_multiplier: float, steps: int,
                             delta: float, accountant: Accountant = "rdp") -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian mechanisms, composed.

    Each step includes every record independently with probability ``sampling_probability``
    and adds Gaussian noise with standard deviation ``noise_multiplier`` times the sensitivity
    (add-or-remove-one adjacency). With ``sampling_probability == 1`` there is no subsampling.
    Computed by dp-accounting's ``RdpAccountant`` (default orders) or ``PLDAccountant``
    (value discretisation 1e-4, a pessimistic estimate). Results are cached.

    Introduced in ``03-gaussian-accounting.ipynb``; used for client sampling in
    ``07-private-federated-learning.ipynb``.

    Args:
        sampling_probability: q in (0, 1].
        noise_multiplier: sigma / sensitivity, > 0.
        steps: number of compositions, >= 1.
        delta: target delta in (0, 1).
        accountant: ``"rdp"`` or ``"pld"``.

    Returns:
        The epsilon (a float; ``inf`` when the accountant finds no finite bound).
    """
    q = _probability("sampling_probability", sampling_probability)
    sigma = _positive("noise_multiplier", noise_multiplier)
    k = _count("steps", steps)
    d = _delta(delta)
    return _epsilon_cached(q, sigma, k, d, _accountant(accountant))


def dpsgd_epsilon(num_examples: int, batch_size: int, noise_multiplier: float, epochs: float,
                  delta: float, accountant: Accountant = "rdp") -> float:
    """Epsilon of DP-SGD with Poisson sampling (example-level, add-or-remove-one).

    The sampling probability is ``batch_size / num_examples`` and the number of steps
    ``ceil(epochs * num_examples / batch_size)``; see :func:`poisson_gaussian_epsilon`.
    For n=60000, batch 256, noise multiplier 1.1, 60 epochs, delta=1e-5 this gives 2.60 (RDP),
    as tensorflow-privacy 0.9.0 computes; its README's 3.01 came from an older RDP-to-DP
    conversion.

    Introduced in ``03-gaussian-accounting.ipynb``; used in ``04-dp-sgd.ipynb``.
    """
    q, steps = _dpsgd_shape(num_examples, batch_size, epochs)
    return poisson_gaussian_epsilon(q, noise_multiplier, steps, delta, accountant)


def noise_multiplier_for_epsilon(target_epsilon: float, sampling_probability: float, steps: int,
                                 delta: float, accountant: Accountant = "rdp") -> float:
    """Smallest noise multiplier whose composed epsilon does not exceed ``target_epsilon``.

    Brackets the answer and then narrows it with a safeguarded false-position (Illinois)
    search on log(sigma) vs log(epsilon), which is nearly linear, so a handful of accountant
    calls suffice. The returned sigma meets the target and is within 0.1% of the smallest
    sigma that does.

    Introduced in ``03-gaussian-accounting.ipynb``.

    Raises:
        ValueError: for invalid input, or when even a noise multiplier of 0.01 meets the target
            (no meaningful calibration), or when 10^4 does not.
    """
    target = _positive("target_epsilon", target_epsilon)
    q = _probability("sampling_probability", sampling_probability)
    k = _count("steps", steps)
    d = _delta(delta)
    acc = _accountant(accountant)
    return _calibrate(target, q, k, d, acc)


def _sigma_guess(target: float, q: float, steps: int, delta: float) -> float:
    """A rough starting point: eps ~ 1.7 q sqrt(T ln(1/delta)) / sigma (moments-accountant shape)."""
    guess = 1.7 * q * math.sqrt(steps * math.log(1 / delta)) / target
    return min(max(guess, 4 * _SIGMA_MIN), _SIGMA_MAX / 4)


def _bracket(f, x0: float, f0: float, step: float, target: float) -> tuple[float, float, float, float]:
    """Walk from x0 = log(sigma) with growing steps until f(lo) > 0 >= f(hi)."""
    log_min, log_max = math.log(_SIGMA_MIN), math.log(_SIGMA_MAX)
    if f0 > 0:
        lo, f_lo = x0, f0
        while True:
            hi = min(lo + step, log_max)
            f_hi = f(hi)
            if f_hi <= 0:
                return lo, f_lo, hi, f_hi
            if hi >= log_max:
                raise ValueError(f"target_epsilon={target} needs a noise multiplier above {_SIGMA_MAX:g} "
                                 f"for this configuration; choose a larger target_epsilon")
            lo, f_lo, step = hi, f_hi, 2 * step
    hi, f_hi = x0, f0
    while True:
        lo = max(hi - step, log_min)
        f_lo = f(lo)
        if f_lo > 0:
            return lo, f_lo, hi, f_hi
        if lo <= log_min:
            raise ValueError(f"target_epsilon={target} is met even with noise multiplier {_SIGMA_MIN:g}; "
                             f"choose a smaller target_epsilon")
        hi, f_hi, step = lo, f_lo, 2 * step


def _illinois(f, lo: float, f_lo: float, hi: float, f_hi: float, tol: float) -> tuple[float, float, float, float]:
    """Illinois false position keeping f(lo) > 0 >= f(hi), until hi - lo <= tol."""
    side = 0
    raw_lo, raw_hi = f_lo, f_hi
    for _ in range(200):
        if hi - lo <= tol:
            break
        if math.isinf(f_lo) or math.isinf(f_hi):
            x = 0.5 * (lo + hi)
        else:
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
            # Aim slightly to the safe side, so that one step can close the interval.
            x = min(max(x + 0.4 * tol, lo + 0.25 * tol), hi - 0.25 * tol)
        fx = f(x)
        if fx > 0:
            lo, f_lo, raw_lo = x, fx, fx
            if side == -1:
                f_hi /= 2
            side = -1
        else:
            hi, f_hi, raw_hi = x, fx, fx
            if side == 1:
                f_lo /= 2
            side = 1
    return lo, raw_lo, hi, raw_hi


def _order_window(centre: float) -> tuple[float, ...]:
    """Default RDP orders between the coarse neighbours of ``centre`` (inclusive)."""
    i = _COARSE_ORDERS.index(centre)
    low = _COARSE_ORDERS[i - 1] if i > 0 else 0.0
    high = _COARSE_ORDERS[i + 1] if i + 1 < len(_COARSE_ORDERS) else math.inf
    return tuple(a for a in _default_rdp_orders() if low <= a <= high)


def _interior(order: float, window: tuple[float, ...]) -> bool:
    """True when an optimal order found in ``window`` is also optimal over all default orders."""
    all_orders = _default_rdp_orders()
    return (order != window[0] or window[0] == all_orders[0]) and (order != window[-1] or window[-1] == all_orders[-1])


@functools.lru_cache(maxsize=4096)
def _calibrate(target: float, q: float, steps: int, delta: float, accountant: str) -> float:
    tol = math.log1p(_SIGMA_RTOL)
    x0 = math.log(_sigma_guess(target, q, steps, delta))

    def objective(orders):  # f > 0 when the target is missed, <= 0 when it is met
        if accountant == "pld":
            return lambda x: _log_ratio(_epsilon_cached(q, math.exp(x), steps, delta, "pld"), target)
        return lambda x: _log_ratio(_rdp_epsilon_and_order(q, math.exp(x), steps, delta, orders)[0], target)

    if accountant == "pld":
        f = objective(None)
        return float(math.exp(_illinois(f, *_bracket(f, x0, f(x0), math.log(1.5), target), tol)[2]))
    # Stage 1: sparse orders (each call is cheap; the answer meets the target).
    f1 = objective(_COARSE_ORDERS)
    lo, f_lo, hi, f_hi = _illinois(f1, *_bracket(f1, x0, f1(x0), math.log(1.5), target), tol)
    centre = _rdp_epsilon_and_order(q, math.exp(hi), steps, delta, _COARSE_ORDERS)[1]
    # Stage 2: every default order near the optimal one. Its root is at or below stage 1's.
    window = _order_window(centre)
    f2 = objective(window)
    slope = (f_hi - f_lo) / (hi - lo) if math.isfinite(f_lo) and math.isfinite(f_hi) and hi > lo else -1.0
    g_hi = f2(hi)
    x1 = hi - g_hi / slope + 0.4 * tol if slope < 0 else hi
    if x1 >= hi - 0.5 * tol:  # stage 1's answer is (nearly) the default-orders answer
        x1 = hi - 0.9 * tol
    g1 = f2(x1)
    lo, f_lo, hi, f_hi = _illinois(f2, *_bracket(f2, x1, g1, tol, target), tol)
    # The window's optimum is the global one when it is not at the window's edge (epsilon is
    # unimodal in the order); otherwise fall back to all default orders.
    if not (_interior(_rdp_epsilon_and_order(q, math.exp(lo), steps, delta, window)[1], window)
            and _interior(_rdp_epsilon_and_order(q, math.exp(hi), steps, delta, window)[1], window)):
        f3 = objective(None)
        lo, f_lo, hi, f_hi = _illinois(f3, *_bracket(f3, hi, f3(hi), tol, target), tol)
    return float(math.exp(hi))


def _log_ratio(eps: float, target: float) -> float:
    return math.log(eps / target) if eps > 0 else -math.inf


def dpsgd_noise_multiplier(target_epsilon: float, num_examples: int, batch_size: int, epochs: float,
                           delta: float, accountant: Accountant = "rdp") -> float:
    """Smallest DP-SGD noise multiplier whose epsilon does not exceed ``target_epsilon``.

    Same configuration as :func:`dpsgd_epsilon`; the result is within 0.1% of the smallest
    noise multiplier meeting the target (see :func:`noise_multiplier_for_epsilon`). Cached, and
    fast enough for a slider (a few accountant calls per new configuration).

    Introduced in ``03-gaussian-accounting.ipynb``; used in ``04-dp-sgd.ipynb``.
    """
    target = _positive("target_epsilon", target_epsilon)
    q, steps = _dpsgd_shape(num_examples, batch_size, epochs)
    d = _delta(delta)
    return _calibrate(target, q, steps, d, _accountant(accountant))


# --------------------------------------------------------------------------------------------
# Gaussian calibration (Balle & Wang 2018)
# --------------------------------------------------------------------------------------------

def gaussian_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """The exact delta of the Gaussian mechanism with noise ``sigma`` at ``epsilon``.

    Balle & Wang (ICML 2018), Theorem 8: the mechanism is (epsilon, delta)-DP exactly when
    ``delta >= Phi(D/(2s) - eps*s/D) - e^eps * Phi(-D/(2s) - eps*s/D)`` with D the L2
    sensitivity. Computed in log space so that large epsilon does not overflow.

    Introduced in ``03-gaussian-accounting.ipynb`` (the real delta of the classic formula).
    """
    from scipy.special import log_ndtr, ndtr

    s = _positive("sigma", sigma)
    eps = _real("epsilon", epsilon)
    if eps < 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon!r}")
    d = _positive("sensitivity", sensitivity)
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
    eps = _positive("epsilon", epsilon)
    d = _delta(delta)
    sens = _positive("sensitivity", sensitivity)
    if method not in GAUSSIAN_METHODS:
        raise ValueError(f"method must be one of {GAUSSIAN_METHODS}; got {method!r}")
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
