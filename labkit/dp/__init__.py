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
from dataclasses import dataclass
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
    from dp_accounting.rdp.rdp_privacy_accountant import DEFAULT_RDP_ORDERS

    return tuple(float(a) for a in DEFAULT_RDP_ORDERS)


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
def _epsilon_cached(q: float, sigma: float, steps: int, delta: float, accountant: str,
                    pld_interval: float = 1e-4) -> float:
    if accountant == "rdp":
        return _rdp_epsilon_and_order(q, sigma, steps, delta, None)[0]
    from dp_accounting import pld

    acc = pld.PLDAccountant(value_discretization_interval=pld_interval)
    acc.compose(_event(q, sigma, steps))
    return float(acc.get_epsilon(delta))


def poisson_gaussian_epsilon(sampling_probability: float, noise_multiplier: float, steps: int,
                             delta: float, accountant: Accountant = "rdp", *,
                             pld_discretization: float = 1e-4) -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian mechanisms, composed.

    Each step includes every record independently with probability ``sampling_probability``
    and adds Gaussian noise with standard deviation ``noise_multiplier`` times the sensitivity
    (add-or-remove-one adjacency). With ``sampling_probability == 1`` there is no subsampling.
    Computed by dp-accounting's ``RdpAccountant`` (default orders) or ``PLDAccountant``
    (``pld_discretization`` is its value discretisation interval: 1e-4 by default; 1e-3 is
    about ten times faster and slightly more pessimistic). Both are upper bounds on the true
    epsilon; PLD is the tighter one. Results are cached.

    Introduced in ``03-gaussian-accounting.ipynb``; used for client sampling in
    ``07-private-federated-learning.ipynb``.

    Args:
        sampling_probability: q in (0, 1].
        noise_multiplier: sigma / sensitivity, > 0.
        steps: number of compositions, >= 1.
        delta: target delta in (0, 1).
        accountant: ``"rdp"`` or ``"pld"``.
        pld_discretization: PLD value discretisation interval in (0, 0.1].

    Returns:
        The epsilon (a float; ``inf`` when the accountant finds no finite bound).
    """
    q = _probability("sampling_probability", sampling_probability)
    sigma = _positive("noise_multiplier", noise_multiplier)
    k = _count("steps", steps)
    d = _delta(delta)
    interval = _positive("pld_discretization", pld_discretization)
    if interval > 0.1:
        raise ValueError(f"pld_discretization must be in (0, 0.1]; got {pld_discretization!r}")
    return _epsilon_cached(q, sigma, k, d, _accountant(accountant), interval)


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


def gaussian_epsilon(sigma: float, delta: float, sensitivity: float = 1.0) -> float:
    """Smallest epsilon at which the Gaussian mechanism with noise ``sigma`` is (epsilon, delta)-DP.

    Inverts :func:`gaussian_delta` (exact, Balle & Wang 2018) by bisection to 1e-9 relative.
    Introduced in ``03-gaussian-accounting.ipynb`` (per-release epsilon for composition).
    """
    s = _positive("sigma", sigma)
    d = _delta(delta)
    sens = _positive("sensitivity", sensitivity)
    if gaussian_delta(s, 0.0, sens) <= d:
        return 0.0
    lo, hi = 0.0, 1.0
    while gaussian_delta(s, hi, sens) > d:
        lo, hi = hi, 2 * hi
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        if gaussian_delta(s, mid, sens) <= d:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------------------------
# Mechanisms (02-dp-from-scratch)
# --------------------------------------------------------------------------------------------

def _generator(rng: object) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()  # fresh OS entropy
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an integer seed or None; got {type(rng).__name__}")


def _values(value: object) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError("value must be finite (no NaN or infinity)")
    return arr


def _like(arr: np.ndarray, out: np.ndarray):
    return float(out) if arr.ndim == 0 else out


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
    arr = _values(value)
    scale = _positive("sensitivity", sensitivity) / _positive("epsilon", epsilon)
    return _like(arr, arr + _generator(rng).laplace(0.0, scale, size=arr.shape))


def gaussian_mechanism(value, sensitivity: float, epsilon: float, delta: float, rng=None,
                       method: str = "analytic"):
    """Release ``value`` plus Gaussian noise calibrated by :func:`gaussian_sigma` ((epsilon, delta)-DP).

    ``sensitivity`` is the L2 sensitivity of the whole array. ``method`` is ``"analytic"``
    (Balle & Wang 2018, any epsilon) or ``"classic"`` (epsilon < 1 only). ``rng`` as in
    :func:`laplace_mechanism`.

    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    arr = _values(value)
    sigma = gaussian_sigma(epsilon, delta, sensitivity, method)
    return _like(arr, arr + _generator(rng).normal(0.0, sigma, size=arr.shape))


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
    keep = _generator(rng).random(arr.shape) < p_truth
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
    d = _real("delta", delta)
    if not 0 <= d <= 1:
        raise ValueError(f"delta must be in [0, 1]; got {delta!r}")
    return arr[_generator(rng).random(len(arr)) < d]


def truthful_probability(epsilon: float) -> float:
    """Probability that randomized response reports the true bit: e^eps / (1 + e^eps)."""
    eps = _positive("epsilon", epsilon)
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
    n = _count("num_respondents", num_respondents)
    p = truthful_probability(epsilon)
    return math.sqrt(p * (1 - p) / n) / (2 * p - 1)


# --------------------------------------------------------------------------------------------
# Empirical checks on neighbouring datasets (02, and the tests)
# --------------------------------------------------------------------------------------------

def histogram_log_ratio(samples, neighbour_samples, bins, min_count: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Log of the ratio of two output histograms, bin by bin.

    For an epsilon-DP mechanism run on neighbouring datasets, every ratio lies within
    [e^-eps, e^eps] up to sampling error. Bins where either histogram has fewer than
    ``min_count`` samples get NaN (their ratio is mostly noise).

    Returns:
        (bin centres, log ratios).

    Introduced in ``02-dp-from-scratch.ipynb``.
    """
    a = np.asarray(samples, dtype=float).ravel()
    b = np.asarray(neighbour_samples, dtype=float).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("samples and neighbour_samples must not be empty")
    _count("min_count", min_count)
    ha, edges = np.histogram(a, bins=bins)
    hb, _ = np.histogram(b, bins=edges)
    ok = (ha >= min_count) & (hb >= min_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log((ha / a.size) / (hb / b.size))
    return 0.5 * (edges[:-1] + edges[1:]), np.where(ok, ratio, np.nan)


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
    """

    estimate: float
    low: float
    high: float
    confidence: float
    num_bins: int

    def __str__(self) -> str:
        return (f"{self.estimate:.2f} ({self.confidence:.0%} CI {self.low:.2f} to {self.high:.2f}, "
                f"simultaneous over {self.num_bins} bins)")


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

    conf = _real("confidence", confidence)
    if not 0 < conf < 1:
        raise ValueError(f"confidence must be in the open interval (0, 1); got {confidence!r}")
    a = np.asarray(samples, dtype=float).ravel()
    b = np.asarray(neighbour_samples, dtype=float).ravel()
    _, ratios = histogram_log_ratio(a, b, bins, min_count)
    ok = ~np.isnan(ratios)
    if not np.any(ok):
        raise ValueError(f"no bin holds min_count={min_count} samples of both; use more samples or fewer bins")
    ha, edges = np.histogram(a, bins=bins)
    hb, _ = np.histogram(b, bins=edges)
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
    a = np.sort(np.asarray(samples, dtype=float).ravel())
    b = np.sort(np.asarray(neighbour_samples, dtype=float).ravel())
    if a.size == 0 or b.size == 0:
        raise ValueError("samples and neighbour_samples must not be empty")
    eps = _real("epsilon", epsilon)
    if eps < 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon!r}")
    _count("num_thresholds", num_thresholds, 2)
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
# Composition (03-gaussian-accounting)
# --------------------------------------------------------------------------------------------

def basic_composition(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """k mechanisms, each (epsilon, delta)-DP, are (k epsilon, k delta)-DP (Dwork & Roth 2014, Thm 3.16).

    ``delta`` may be 0 here (pure DP). Introduced in ``02-dp-from-scratch.ipynb``.
    """
    eps = _positive("epsilon", epsilon)
    d = _real("delta", delta)
    if not 0 <= d < 1:
        raise ValueError(f"delta must be in [0, 1); got {delta!r}")
    n = _count("k", k)
    return n * eps, min(n * d, 1.0)


def advanced_composition(epsilon: float, delta: float, k: int, delta_slack: float) -> tuple[float, float]:
    """Advanced composition (Dwork, Rothblum & Vadhan 2010; Dwork & Roth 2014, Thm 3.20).

    k mechanisms, each (epsilon, delta)-DP, are (eps', k delta + delta_slack)-DP with
    eps' = epsilon sqrt(2k ln(1/delta_slack)) + k epsilon (e^epsilon - 1).
    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    eps = _positive("epsilon", epsilon)
    d = _real("delta", delta)
    if not 0 <= d < 1:
        raise ValueError(f"delta must be in [0, 1); got {delta!r}")
    n = _count("k", k)
    slack = _delta(delta_slack, "delta_slack")
    total = eps * math.sqrt(2 * n * math.log(1 / slack)) + n * eps * math.expm1(eps)
    return total, min(n * d + slack, 1.0)


def _rdp_vector(q: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """dp-accounting's per-step RDP of the Poisson-subsampled Gaussian at its default orders."""
    from dp_accounting import rdp

    from labkit._compat import rdp_curve

    acc = rdp.RdpAccountant()
    acc.compose(_event(q, sigma, 1))
    return rdp_curve(acc)


def rdp_epsilon_curve(sampling_probability: float, noise_multiplier: float, steps, delta: float) -> np.ndarray:
    """RDP epsilon after each number of steps in ``steps`` (one accountant call for the whole curve).

    RDP composes additively, so dp-accounting's per-step RDP is computed once and scaled; each
    point is converted with dp-accounting's ``compute_epsilon``. Equal to
    :func:`poisson_gaussian_epsilon` at every point. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    q = _probability("sampling_probability", sampling_probability)
    sigma = _positive("noise_multiplier", noise_multiplier)
    d = _delta(delta)
    ks = np.asarray(steps)
    if ks.ndim != 1 or ks.size == 0 or not np.issubdtype(ks.dtype, np.integer) or np.any(ks < 1):
        raise ValueError(f"steps must be a non-empty 1-D sequence of integers >= 1; got {steps!r}")
    orders, per_step = _rdp_vector_cached(q, sigma)
    return np.array([compute_epsilon(orders, per_step * int(k), d)[0] for k in ks])


@functools.lru_cache(maxsize=1024)
def _rdp_vector_cached(q: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    return _rdp_vector(q, sigma)


def rdp_epsilon_old_conversion(sampling_probability: float, noise_multiplier: float, steps: int, delta: float) -> float:
    """RDP epsilon with the original conversion eps = min_a [RDP(a) + ln(1/delta) / (a - 1)].

    Mironov (2017), Proposition 3. tensorflow-privacy used it until the tighter conversion of
    Canonne, Kamath & Steinke (2020) / Asoodeh et al. (2020) replaced it; the 3.01 quoted for
    the MNIST example in its README (n=60000, batch 256, sigma 1.1, 60 epochs, delta 1e-5) comes
    from this formula. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    q = _probability("sampling_probability", sampling_probability)
    sigma = _positive("noise_multiplier", noise_multiplier)
    k = _count("steps", steps)
    d = _delta(delta)
    orders, per_step = _rdp_vector_cached(q, sigma)
    return float(np.min(per_step * k + math.log(1 / d) / (orders - 1)))


def epsilon_report(num_examples: int, batch_size: int, noise_multiplier: float, epochs: float,
                   delta: float) -> dict[str, float]:
    """The epsilons one DP-SGD configuration gets quoted with, each computed.

    Keys:
        ``"rdp"``: Poisson sampling, dp-accounting's RDP (what tensorflow-privacy 0.9.0 reports).
        ``"pld"``: Poisson sampling, privacy loss distributions (tighter).
        ``"rdp_old_conversion"``: Poisson sampling, RDP with Mironov's 2017 conversion (older
            tensorflow-privacy releases and their README).
        ``"microbatching"``: as ``"rdp"`` with the noise multiplier halved, as
            tensorflow-privacy's ``compute_dp_sgd_privacy_statement`` does when microbatches
            hold more than one example (adding or removing one example can move a clipped
            microbatch gradient by twice the clipping norm).
        ``"shuffled_no_amplification"``: each example in exactly one batch per epoch with an
            arbitrary order, so no amplification by sampling: ``epochs`` Gaussian mechanisms.

    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    q, steps = _dpsgd_shape(num_examples, batch_size, epochs)
    sigma = _positive("noise_multiplier", noise_multiplier)
    d = _delta(delta)
    return {
        "rdp": poisson_gaussian_epsilon(q, sigma, steps, d, "rdp"),
        "pld": poisson_gaussian_epsilon(q, sigma, steps, d, "pld"),
        "rdp_old_conversion": rdp_epsilon_old_conversion(q, sigma, steps, d),
        "microbatching": poisson_gaussian_epsilon(q, sigma / 2, steps, d, "rdp"),
        "shuffled_no_amplification": poisson_gaussian_epsilon(1.0, sigma, int(math.ceil(epochs)), d, "rdp"),
    }


# --------------------------------------------------------------------------------------------
# Widget compute functions (pure: no ipywidgets; fast enough for a slider)
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
        return (f"epsilon = {self.epsilon:g}, sensitivity = {self.sensitivity:g}: Laplace scale b = {self.scale:.3g}; "
                f"mean |error| = {self.mean_abs_error:.3g}, 95% of releases within +/- {self.error_95:.3g} "
                f"({self.error_95 / self.true_count:.1%} of a count of {self.true_count})")


def noise_calibration(epsilon: float, sensitivity: float, true_count: int = 100, num_points: int = 401) -> NoiseCalibration:
    """The Laplace release of a count: its distribution on two neighbouring datasets and its error.

    Introduced in ``02-dp-from-scratch.ipynb`` (its widget calls this on every slider move).
    """
    eps = _positive("epsilon", epsilon)
    sens = _positive("sensitivity", sensitivity)
    count = _count("true_count", true_count, 0) if true_count != 0 else 0
    if count < 1:
        raise ValueError(f"true_count must be an integer >= 1; got {true_count!r}")
    n = _count("num_points", num_points, 2)
    b = sens / eps
    half = max(8 * b, 3 * sens)
    x = np.linspace(count - half, count + sens + half, n)
    density = np.exp(-np.abs(x - count) / b) / (2 * b)
    neighbour = np.exp(-np.abs(x - count - sens) / b) / (2 * b)
    return NoiseCalibration(eps, sens, count, b, x, density, neighbour, b, b * math.log(20))


@dataclass(frozen=True)
class AccountantDashboard:
    """What the accountant dashboard of ``03-gaussian-accounting.ipynb`` shows."""

    sampling_probability: float
    noise_multiplier: float
    steps: int
    delta: float
    epsilon_rdp: float
    epsilon_pld: float
    epsilon_no_sampling: float  # the same steps without subsampling (q = 1), RDP
    curve_steps: np.ndarray
    curve_rdp: np.ndarray

    def describe(self) -> str:
        return (f"q = {self.sampling_probability:.3g}, sigma = {self.noise_multiplier:.3g}, {self.steps:,} steps, "
                f"delta = {self.delta:.0e}: epsilon {self.epsilon_rdp:.3g} (RDP), {self.epsilon_pld:.3g} (PLD); "
                f"without subsampling {self.epsilon_no_sampling:.3g} (RDP)")


def accountant_dashboard(sampling_probability: float, noise_multiplier: float, steps: int, delta: float,
                         num_points: int = 30) -> AccountantDashboard:
    """Epsilon under RDP and PLD, without subsampling, and the RDP epsilon over training steps.

    The curve costs one RDP evaluation (see :func:`rdp_epsilon_curve`); PLD runs once, at the
    last step, with discretisation interval min(1e-3, epsilon_RDP / 1000): several times faster
    than the default 1e-4 and within about 1% of it. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    q = _probability("sampling_probability", sampling_probability)
    sigma = _positive("noise_multiplier", noise_multiplier)
    k = _count("steps", steps)
    d = _delta(delta)
    m = _count("num_points", num_points, 2)
    grid = np.unique(np.round(np.geomspace(1, k, m)).astype(np.int64))
    curve = rdp_epsilon_curve(q, sigma, grid, d)
    interval = min(1e-3, max(1e-5, 1e-3 * float(curve[-1])))
    return AccountantDashboard(
        sampling_probability=q, noise_multiplier=sigma, steps=k, delta=d,
        epsilon_rdp=float(curve[-1]),
        epsilon_pld=poisson_gaussian_epsilon(q, sigma, k, d, "pld", pld_discretization=interval),
        epsilon_no_sampling=float(rdp_epsilon_curve(1.0, sigma, np.array([k]), d)[0]),
        curve_steps=grid, curve_rdp=curve,
    )
