"""Privacy accounting: the subsampled Gaussian composed, calibrated and compared.

Introduced in ``03-gaussian-accounting.ipynb``; DP-SGD (``04-dp-sgd.ipynb``, ``05-auditing.ipynb``),
private federated learning (``07-private-federated-learning.ipynb``) and the capstone
(``10-capstone-hospitals.ipynb``) use it.

* Accountants: :func:`poisson_gaussian_epsilon` and :func:`dpsgd_epsilon` (with
  :func:`dpsgd_steps`), through Google's ``dp-accounting`` library (``RdpAccountant`` and
  ``PLDAccountant`` composing ``PoissonSampledDpEvent``/``GaussianDpEvent``); nothing here
  re-implements an accountant. Neighbouring datasets differ by adding or removing one record.
* The noise-multiplier search: :func:`noise_multiplier_for_epsilon` and
  :func:`dpsgd_noise_multiplier` (a few accountant calls, cached: fast enough for a slider).
* Composition: :func:`basic_composition`, :func:`advanced_composition` (also shown in ``02``),
  :func:`rdp_epsilon_curve`, :func:`rdp_epsilon_old_conversion` and :func:`epsilon_report`
  (every epsilon a DP-SGD configuration gets quoted with).
* The accountant dashboard's compute function, :func:`accountant_dashboard` (pure: no ipywidgets;
  bounded at every slider position: dp-accounting's RDP formulas and connect-the-dots PLD evaluated
  vectorised on a grid with a point budget, and the exact Gaussian epsilon at q = 1; tests keep
  them equal to dp-accounting's accountants).
* Group privacy and users with several records: :func:`group_privacy` and
  :func:`user_level_epsilon_by_group_privacy` (tensorflow-privacy's ``max_examples_per_user``) (04).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr
from labkit._compat import rdp_curve

Accountant = Literal["rdp", "pld"]
ACCOUNTANTS: tuple[str, ...] = ("rdp", "pld")

# Search range for noise multipliers (dpsgd_noise_multiplier / noise_multiplier_for_epsilon).
_SIGMA_MIN = 1e-2
_SIGMA_MAX = 1e4
_SIGMA_RTOL = 1e-3  # the returned sigma is within 0.1% of the smallest one meeting the target

# Upper bound on the number of composed steps (and on num_examples / batch_size products). Real
# DP-SGD runs take at most a few million steps; dp-accounting's PLD accountant needs minutes for
# 10^9, so larger counts are refused with a clear message instead of keeping a notebook busy.
MAX_STEPS = 10**7


# --------------------------------------------------------------------------------------------
# DP-SGD schedules
# --------------------------------------------------------------------------------------------

def _dpsgd_shape(num_examples: object, batch_size: object, epochs: object) -> tuple[float, int]:
    """Validate a DP-SGD configuration; return (sampling probability, steps)."""
    n = v.count("num_examples", num_examples)
    b = v.count("batch_size", batch_size, maximum=n)
    e = v.positive("epochs", epochs)
    return b / n, dpsgd_steps(n, b, e)


def dpsgd_steps(num_examples: int, batch_size: int, epochs: float) -> int:
    """Number of DP-SGD steps: ``ceil(epochs * num_examples / batch_size)``.

    ``num_examples`` and ``batch_size`` are counts (``1 <= batch_size <= num_examples``),
    ``epochs`` a finite number > 0 (fractions of an epoch are allowed). The result is at most
    ``MAX_STEPS`` (10^7): an accountant composing more steps than that would keep a notebook
    busy for minutes.

    Introduced in ``03-gaussian-accounting.ipynb``.

    Raises:
        ValueError / TypeError: naming the argument, its value and the valid range.
    """
    n = v.count("num_examples", num_examples)
    b = v.count("batch_size", batch_size, maximum=n)
    e = v.positive("epochs", epochs)
    steps = int(math.ceil(e * n / b - 1e-9))
    if steps > MAX_STEPS:
        raise ValueError(f"epochs must give at most {MAX_STEPS:,} steps (epochs * num_examples / batch_size); "
                         f"got epochs={e:g}, num_examples={n}, batch_size={b}: {steps:,} steps")
    return steps


def _noise_multiplier(value: object) -> float:
    """A noise multiplier in (0, 10^4]: beyond 10^4 epsilon is 0 to print precision and dp-accounting's RDP
    computation breaks down numerically (it also bounds the noise-multiplier search)."""
    return v.real("noise_multiplier", value, low=0.0, low_open=True, high=_SIGMA_MAX)


def _steps(name: str, value: object) -> int:
    """A number of composed steps: an integer from 1 to MAX_STEPS."""
    return v.count(name, value, maximum=MAX_STEPS)


# --------------------------------------------------------------------------------------------
# Accounting (dp-accounting)
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Accountants (dp-accounting)
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
    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = _noise_multiplier(noise_multiplier)
    k = _steps("steps", steps)
    d = v.probability("delta", delta)
    interval = v.real("pld_discretization", pld_discretization, low=0.0, low_open=True, high=0.1)
    return _epsilon_cached(q, sigma, k, d, v.choice("accountant", accountant, ACCOUNTANTS), interval)


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

# --------------------------------------------------------------------------------------------
# The noise-multiplier search
# --------------------------------------------------------------------------------------------

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
    target = v.positive("target_epsilon", target_epsilon)
    q = v.probability("sampling_probability", sampling_probability, one=True)
    k = _steps("steps", steps)
    d = v.probability("delta", delta)
    acc = v.choice("accountant", accountant, ACCOUNTANTS)
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
    target = v.positive("target_epsilon", target_epsilon)
    q, steps = _dpsgd_shape(num_examples, batch_size, epochs)
    d = v.probability("delta", delta)
    return _calibrate(target, q, steps, d, v.choice("accountant", accountant, ACCOUNTANTS))

# --------------------------------------------------------------------------------------------
# Composition (03-gaussian-accounting)
# --------------------------------------------------------------------------------------------

def basic_composition(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """k mechanisms, each (epsilon, delta)-DP, are (k epsilon, k delta)-DP (Dwork & Roth 2014, Thm 3.16).

    ``delta`` may be 0 here (pure DP). Introduced in ``02-dp-from-scratch.ipynb``.
    """
    eps = v.positive("epsilon", epsilon)
    d = v.probability("delta", delta, zero=True)
    n = v.count("k", k, maximum=MAX_STEPS)
    return n * eps, min(n * d, 1.0)


def advanced_composition(epsilon: float, delta: float, k: int, delta_slack: float) -> tuple[float, float]:
    """Advanced composition (Dwork, Rothblum & Vadhan 2010; Dwork & Roth 2014, Thm 3.20).

    k mechanisms, each (epsilon, delta)-DP, are (eps', k delta + delta_slack)-DP with
    eps' = epsilon sqrt(2k ln(1/delta_slack)) + k epsilon (e^epsilon - 1).
    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    eps = v.positive("epsilon", epsilon)
    d = v.probability("delta", delta, zero=True)
    n = v.count("k", k, maximum=MAX_STEPS)
    slack = v.probability("delta_slack", delta_slack)
    if eps > 700:  # e^epsilon overflows a float
        raise ValueError(f"epsilon must be in (0, 700] for advanced composition; got {epsilon!r}")
    total = eps * math.sqrt(2 * n * math.log(1 / slack)) + n * eps * math.expm1(eps)
    return total, min(n * d + slack, 1.0)


# --------------------------------------------------------------------------------------------
# Group privacy and user-level epsilon (04-dp-sgd)
# --------------------------------------------------------------------------------------------

# The largest group (records per user) accepted. Group privacy's epsilon grows faster than k: for
# notebook 04's run it is 254 at k = 20 and has no finite bound from k = 30; sample and clip whole
# users instead.
MAX_GROUP_SIZE = 10**4


def _logexpm1(x: float) -> float:
    """log(e^x - 1) for x > 0, without overflow."""
    return x + math.log(-math.expm1(-x))


def _group_log_delta(epsilon: float, log_delta: float, group_size: int) -> float:
    """log of delta * (1 + e^eps + ... + e^((k-1) eps)), the group's delta (Vadhan 2017, Lemma 2.2)."""
    if group_size == 1:
        return log_delta
    if epsilon == 0:
        return log_delta + math.log(group_size)
    return log_delta + _logexpm1(group_size * epsilon) - _logexpm1(epsilon)


def group_privacy(epsilon: float, delta: float, group_size: int) -> tuple[float, float]:
    """Group privacy: an (epsilon, delta)-DP mechanism is (k epsilon, delta_k)-DP for groups of k.

    Datasets that differ in ``k`` records (one user adding or removing all of their k records)
    are k steps of add-or-remove-one apart; chaining the guarantee along the path gives
    ``k * epsilon`` and ``delta_k = delta * (1 + e^eps + ... + e^((k-1) eps))``, the sum in the
    proof of Vadhan 2017 ("The complexity of differential privacy", Lemma 2.2; the lemma's statement
    rounds the sum up further). ``delta_k`` is capped at 1 (a delta of 1 promises nothing).
    ``delta`` may be 0 (pure DP: k epsilon, delta_k = 0).

    Introduced in ``04-dp-sgd.ipynb``.

    Returns:
        ``(k * epsilon, delta_k)``.
    """
    eps = v.nonnegative("epsilon", epsilon)
    d = v.probability("delta", delta, zero=True)
    k = v.count("group_size", group_size, maximum=MAX_GROUP_SIZE)
    if d == 0 or k == 1:
        return k * eps, d
    log_dk = _group_log_delta(eps, math.log(d), k)
    return k * eps, 1.0 if log_dk >= 0 else math.exp(log_dk)


def user_level_epsilon_by_group_privacy(sampling_probability: float, noise_multiplier: float, steps: int,
                                        delta: float, records_per_user: int) -> float:
    """User-level epsilon of record-level DP-SGD through group privacy, as tensorflow-privacy states it.

    Adjacency: add or remove one user with all of their (at most ``records_per_user``) records.
    The run samples and clips records (``steps`` Poisson-subsampled Gaussian mechanisms at
    ``sampling_probability`` and ``noise_multiplier``, RDP accountant). :func:`group_privacy`
    turns its record-level (eps', delta') into (k eps', delta_k); this function searches the
    record-level delta' whose delta_k equals the user-level ``delta`` and returns k eps'
    (``inf`` when no positive float delta' gets there: RDP's bound on eps' grows with log(1/delta'),
    so delta_k may never come down to ``delta``). This is what tensorflow-privacy 0.9.0's
    ``compute_dp_sgd_privacy_statement(..., max_examples_per_user=k)`` prints as its user-level
    "Poisson sampling" epsilon (``_compute_dp_sgd_user_privacy``: the same lemma, a Brent search
    in log delta'); ``records_per_user=1`` is the record-level epsilon.

    A user-level run that samples users and clips each user's whole contribution needs no group
    privacy: its epsilon is :func:`poisson_gaussian_epsilon` at the user sampling rate
    (:func:`labkit.fl.user_level_epsilon`, notebook 07).

    Introduced in ``04-dp-sgd.ipynb``.

    Args:
        sampling_probability: q in (0, 1], the record sampling probability.
        noise_multiplier: sigma / clip norm, in (0, 10^4].
        steps: number of DP-SGD steps, 1 to 10^7.
        delta: the user-level delta in (0, 1).
        records_per_user: k, the most records one user contributes, 1 to 10^4.
    """
    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = _noise_multiplier(noise_multiplier)
    n = _steps("steps", steps)
    d = v.probability("delta", delta)
    k = v.count("records_per_user", records_per_user, maximum=MAX_GROUP_SIZE)
    if k == 1:
        return _epsilon_cached(q, sigma, n, d, "rdp")
    from scipy import optimize

    target = math.log(d)

    def gap(log_delta: float) -> float:  # log delta_k - log delta at record-level delta' = e^log_delta
        record_delta = math.exp(log_delta)
        if record_delta == 0.0:  # below the smallest positive float: no bound, as tensorflow-privacy finds
            return math.inf
        eps = _epsilon_cached(q, sigma, n, record_delta, "rdp")
        return math.inf if not math.isfinite(eps) else _group_log_delta(eps, log_delta, k) - target

    # gap > 0 at delta' = delta (k >= 2); walk delta' down until gap < 0. A point with gap g > 0 stays
    # above the root by at least g in log delta' (epsilon grows as delta' shrinks), so jump by g too.
    # Each jump lowers log delta' by more than log 10, so the walk reaches exp() underflow (gap = inf).
    hi, lo = target, target - math.log(10)
    g = gap(lo)
    while g > 0:
        if math.isinf(g):
            return math.inf
        hi, lo = lo - g, lo - g - math.log(10)
        g = gap(lo)
    root = optimize.brentq(gap, lo, hi, xtol=1e-12)
    return k * _epsilon_cached(q, sigma, n, math.exp(root), "rdp")


def rdp_epsilon_curve(sampling_probability: float, noise_multiplier: float, steps, delta: float) -> np.ndarray:
    """RDP epsilon after each number of steps in ``steps`` (one accountant call for the whole curve).

    RDP composes additively, so dp-accounting's per-step RDP is computed once and scaled; each
    point is converted with dp-accounting's ``compute_epsilon``. Equal to
    :func:`poisson_gaussian_epsilon` at every point. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = _noise_multiplier(noise_multiplier)
    d = v.probability("delta", delta)
    ks = np.asarray(steps)
    if ks.ndim != 1 or ks.size == 0 or not np.issubdtype(ks.dtype, np.integer) or np.any(ks < 1) \
            or np.any(ks > MAX_STEPS):
        raise ValueError(f"steps must be a non-empty 1-D sequence of integers from 1 to {MAX_STEPS:,}; "
                         f"got {v._got(steps)}")
    if ks.size > 100_000:
        raise ValueError(f"steps must hold at most 100,000 points; got {ks.size:,}")
    orders, per_step = _rdp_vector_cached(q, sigma)
    return np.array([compute_epsilon(orders, per_step * int(k), d)[0] for k in ks])


@functools.lru_cache(maxsize=1024)
def _rdp_vector_cached(q: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """dp-accounting's per-step RDP of the Poisson-subsampled Gaussian at its default orders."""
    from dp_accounting import rdp

    acc = rdp.RdpAccountant()
    acc.compose(_event(q, sigma, 1))
    return rdp_curve(acc)


def rdp_epsilon_old_conversion(sampling_probability: float, noise_multiplier: float, steps: int, delta: float) -> float:
    """RDP epsilon with the original conversion eps = min_a [RDP(a) + ln(1/delta) / (a - 1)].

    Mironov (2017), Proposition 3. tensorflow-privacy used it until the tighter conversion of
    Canonne, Kamath & Steinke (2020) / Asoodeh et al. (2020) replaced it; the 3.01 quoted for
    the MNIST example in its README (n=60000, batch 256, sigma 1.1, 60 epochs, delta 1e-5) comes
    from this formula. Introduced in ``03-gaussian-accounting.ipynb``.
    """
    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = _noise_multiplier(noise_multiplier)
    k = _steps("steps", steps)
    d = v.probability("delta", delta)
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
    sigma = _noise_multiplier(noise_multiplier)
    d = v.probability("delta", delta)
    return {
        "rdp": poisson_gaussian_epsilon(q, sigma, steps, d, "rdp"),
        "pld": poisson_gaussian_epsilon(q, sigma, steps, d, "pld"),
        "rdp_old_conversion": rdp_epsilon_old_conversion(q, sigma, steps, d),
        "microbatching": poisson_gaussian_epsilon(q, sigma / 2, steps, d, "rdp"),
        "shuffled_no_amplification": poisson_gaussian_epsilon(1.0, sigma, int(math.ceil(epochs)), d, "rdp"),
    }

# --------------------------------------------------------------------------------------------
# The accountant dashboard's compute function (03; pure, bounded, fast enough for a slider)
# --------------------------------------------------------------------------------------------

def _gaussian_log_delta(epsilon: float, mu: float) -> float:
    """log delta(epsilon) of a Gaussian mechanism with mu = sensitivity / sigma (Balle & Wang 2018, Thm 8).

    delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2), computed in log space (no overflow
    for epsilon in the thousands). k Gaussian mechanisms composed are one with mu * sqrt(k).
    """
    from scipy import special

    a = float(special.log_ndtr(-epsilon / mu + mu / 2))
    b = epsilon + float(special.log_ndtr(-epsilon / mu - mu / 2))
    return a + math.log1p(-math.exp(b - a)) if b < a else -math.inf


@functools.lru_cache(maxsize=4096)
def _gaussian_epsilon_exact(mu: float, delta: float) -> float:
    """Smallest epsilon with delta(epsilon) <= delta for the Gaussian mechanism with parameter mu (brentq)."""
    from scipy import optimize

    target = math.log(delta)
    if _gaussian_log_delta(0.0, mu) <= target:
        return 0.0
    # delta(eps) <= Phi(mu/2 - eps/mu) <= exp(-(eps/mu - mu/2)^2 / 2) once eps > mu^2/2: a bracket.
    high = mu * mu / 2 + mu * math.sqrt(2 * math.log(1 / delta)) + 1.0
    return float(optimize.brentq(lambda e: _gaussian_log_delta(e, mu) - target, 0.0, high, xtol=1e-12, rtol=1e-12))


# dp-accounting's RDP of the Poisson-subsampled Gaussian (rdp_privacy_accountant._compute_log_a_int /
# _compute_log_a_frac) evaluated with numpy over all orders at once: the same series, summed to the same
# term, 10-30x faster than the scalar loops (which need up to ~16,000 terms per order at q = 0.5). A test
# keeps it equal to dp-accounting's RdpAccountant.

def _log_a_int(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    from scipy import special

    lens = alphas.astype(np.int64) + 1
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    a = np.repeat(alphas.astype(float), lens)
    i = (np.arange(lens.sum()) - np.repeat(starts, lens)).astype(float)
    t = (special.gammaln(a + 1) - special.gammaln(i + 1) - special.gammaln(a - i + 1) + i * math.log(q)
         + (a - i) * math.log1p(-q) + (i * i - i) / (2 * sigma ** 2))
    top = np.maximum.reduceat(t, starts)
    return np.log(np.add.reduceat(np.exp(t - np.repeat(top, lens)), starts)) + top


def _log_a_frac(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    from scipy import special

    lq, l1q = math.log(q), math.log1p(-q)
    z0 = sigma ** 2 * math.log(1 / q - 1) + .5
    c = 1 / (2 * sigma ** 2)
    pos = np.full((2, len(alphas)), -np.inf)  # log of the sums of the positive terms (the two integrals)
    neg = np.full((2, len(alphas)), -np.inf)  # ... and of the negative ones
    active, start, chunk = np.arange(len(alphas)), 0, 64
    while active.size:
        al = alphas[active][:, None]
        i = np.arange(start, start + chunk, dtype=float)[None, :]
        coef = special.binom(al, i)
        log_coef = np.log(np.abs(coef))
        j = al - i
        s0 = log_coef + i * lq + j * l1q + (i * i - i) * c + special.log_ndtr((z0 - i) / sigma)
        s1 = log_coef + j * lq + i * l1q + (j * j - j) * c + special.log_ndtr((j - z0) / sigma)
        stop = np.maximum(s0, s1) < -30  # dp-accounting stops after the first such term
        done = stop.any(axis=1)
        last = np.where(done, np.argmax(stop, axis=1), chunk - 1)
        keep = np.arange(chunk)[None, :] <= last[:, None]
        for part, s in enumerate((s0, s1)):
            s = np.where(keep, s, -np.inf)
            pos[part, active] = np.logaddexp(pos[part, active],
                                             special.logsumexp(np.where(coef > 0, s, -np.inf), axis=1))
            neg[part, active] = np.logaddexp(neg[part, active],
                                             special.logsumexp(np.where(coef < 0, s, -np.inf), axis=1))
        active, start, chunk = active[~done], start + chunk, min(2 * chunk, 4096)
    parts = pos + np.log(-np.expm1(neg - pos))
    return np.logaddexp(parts[0], parts[1])


@functools.lru_cache(maxsize=256)
def _fast_rdp_vector(q: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-step RDP of the Poisson-subsampled Gaussian at dp-accounting's default orders (vectorised)."""
    orders = np.array(_default_rdp_orders())
    if q == 1.0:
        return orders, orders / (2 * sigma ** 2)
    out = np.empty_like(orders)
    whole = orders == np.floor(orders)
    out[whole] = _log_a_int(q, sigma, orders[whole]) / (orders[whole] - 1)
    out[~whole] = _log_a_frac(q, sigma, orders[~whole]) / (orders[~whole] - 1)
    return orders, out


def _rdp_epsilons(q: float, sigma: float, ks, delta: float) -> np.ndarray:
    """RDP epsilon after each step count in ``ks``: dp-accounting's ``compute_epsilon`` (the conversion of
    Canonne, Kamath & Steinke 2020, Prop. 12, orders above 1.01; 0 when the KL bound already gives
    delta), evaluated for all step counts and orders at once."""
    orders, per_step = _fast_rdp_vector(q, sigma)
    rdp = np.asarray(ks, dtype=float)[:, None] * per_step[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        converted = np.where(orders > 1.01, rdp + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1), np.inf)
        eps = np.where(delta ** 2 + np.expm1(-rdp) > 0, 0.0, converted)
    return np.maximum(0.0, eps.min(axis=1))


# The PLD's grid: at most this many points per step and in the composed distribution (a few ms of FFT).
_PLD_STEP_POINTS = 50_000
_PLD_COMPOSED_POINTS = 50_000
_PLD_FINEST = 1e-5
_PLD_MIN_STEP_POINTS = 2_000


@functools.lru_cache(maxsize=64)
def _privacy_loss(q: float, sigma: float, remove: bool):
    """dp-accounting's privacy loss of one subsampled Gaussian and its connect-the-dots bounds (cached)."""
    from dp_accounting.pld import privacy_loss_mechanism as plm

    adjacency = plm.AdjacencyType.REMOVE if remove else plm.AdjacencyType.ADD
    mech = plm.GaussianPrivacyLoss(sigma, sampling_prob=q, adjacency_type=adjacency)
    return mech, mech.connect_dots_bounds()


def _subsampled_gaussian_pmf(q: float, sigma: float, interval: float, adjacency):
    """dp-accounting's connect-the-dots PMF of one subsampled Gaussian (what ``from_gaussian_mechanism``
    builds), with the hockey-stick deltas evaluated on the whole grid at once instead of point by point."""
    from dp_accounting.pld import pld_pmf
    from dp_accounting.pld import privacy_loss_mechanism as plm

    mech, bounds = _privacy_loss(q, sigma, adjacency == plm.AdjacencyType.REMOVE)
    lo = math.floor(bounds.epsilon_lower / interval)
    hi = math.ceil(bounds.epsilon_upper / interval)
    eps = np.arange(lo, hi + 1) * interval
    deltas = np.zeros_like(eps)
    # The loss without subsampling, as dp-accounting's common.log_a_times_exp_b_plus_c(1/q, +-e, 1 - 1/q)
    # computes it (same operations, so the same floats), then its inverse_privacy_loss_without_subsampling.
    log_a, log_minus_c = np.log(1 / q), np.log(-(1 - 1 / q))

    def loss_without_subsampling(b):
        d = b + log_a
        out = d + np.log1p(-np.exp(log_minus_c - d))
        out[b == 0] = np.log(1 / q + (1 - 1 / q))
        return out

    if adjacency == plm.AdjacencyType.REMOVE:
        cut = math.log1p(-q)
        inverse = eps > cut
        deltas[~inverse] = -np.expm1(eps[~inverse])
        e = eps[inverse]
        x = -0.5 * 1 - loss_without_subsampling(e) * (sigma ** 2) / 1
        x[np.isclose(e, math.log(1 - q), rtol=1e-9, atol=0.0)] = math.inf  # dp-accounting's math.isclose
    else:
        cut = -math.log1p(-q)
        inverse = eps < cut
        e = eps[inverse]
        x = 0.5 * 1 - (-loss_without_subsampling(-e)) * (sigma ** 2) / 1
        x[np.isclose(e, -math.log(1 - q), rtol=1e-9, atol=0.0)] = -math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        deltas[inverse] = mech.mu_upper_cdf(x) - np.exp(e + mech.mu_lower_log_cdf(x))
    return pld_pmf.create_pmf_pessimistic_connect_dots_fixed_gap(interval, lo, hi, np.clip(deltas, 0, 1))


def _dashboard_grids(q: float, sigma: float, steps: int) -> tuple[float, float]:
    """The dashboard's two PLD grids: (finest affordable, standard).

    Standard: 1e-3 (what the dashboard always used), finer if needed for 2,000 points across one step's
    losses. Finest affordable: as fine as the point budgets allow (at least 1e-5). Neither is finer than
    the budgets: one step's losses span ``width`` (dp-accounting's connect-the-dots bounds); the composed
    distribution, its tails cut at 1e-15, spans at most steps * width, and about 3 epsilon (epsilon
    small) or +-8.5 standard deviations ~ 17 sqrt(2 epsilon) (epsilon large: a Gaussian-like privacy
    loss has variance twice its mean), with epsilon RDP's bound at delta = 1e-10."""
    width = max(bounds.epsilon_upper - bounds.epsilon_lower
                for bounds in (_privacy_loss(q, sigma, True)[1], _privacy_loss(q, sigma, False)[1]))
    eps = float(_rdp_epsilons(q, sigma, [steps], 1e-10)[0])
    composed = min(steps * width, width + min(5 * eps, 17 * math.sqrt(2 * eps)))
    finest = max(_PLD_FINEST, width / _PLD_STEP_POINTS, composed / _PLD_COMPOSED_POINTS)
    return finest, max(finest, min(1e-3, width / _PLD_MIN_STEP_POINTS))


@functools.lru_cache(maxsize=8)  # each holds up to ~10^5 floats per adjacency
def _dashboard_pld(q: float, sigma: float, steps: int, interval: float):
    """The composed PLD of ``steps`` subsampled Gaussians on a grid (cached: a delta move reuses it)."""
    from dp_accounting.pld import privacy_loss_distribution as pldm
    from dp_accounting.pld import privacy_loss_mechanism as plm

    one = pldm.PrivacyLossDistribution(_subsampled_gaussian_pmf(q, sigma, interval, plm.AdjacencyType.REMOVE),
                                       _subsampled_gaussian_pmf(q, sigma, interval, plm.AdjacencyType.ADD))
    return one.self_compose(steps)


@functools.lru_cache(maxsize=1024)
def _dashboard_pld_epsilon(q: float, sigma: float, steps: int, delta: float, epsilon_rdp: float) -> float:
    """PLD epsilon on the standard grid; on the finest affordable one when epsilon is below 1 (small
    epsilons over thousands of steps add up the grid's rounding)."""
    if q == 1.0:
        return _gaussian_epsilon_exact(math.sqrt(steps) / sigma, delta)
    finest, standard = _dashboard_grids(q, sigma, steps)
    if epsilon_rdp >= 1 and standard > finest:
        eps = float(_dashboard_pld(q, sigma, steps, standard).get_epsilon_for_delta(delta))
        if eps >= 1:
            return eps
    return float(_dashboard_pld(q, sigma, steps, finest).get_epsilon_for_delta(delta))


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
        return tr("q = {q:.3g}, sigma = {sigma:.3g}, {steps:,} steps, delta = {delta:.0e}: epsilon {rdp:.3g} (RDP), "
                  "{pld:.3g} (PLD); without subsampling {no_sampling:.3g} (RDP)").format(
            q=self.sampling_probability, sigma=self.noise_multiplier, steps=self.steps, delta=self.delta,
            rdp=self.epsilon_rdp, pld=self.epsilon_pld, no_sampling=self.epsilon_no_sampling)


def accountant_dashboard(sampling_probability: float, noise_multiplier: float, steps: int, delta: float,
                         num_points: int = 30) -> AccountantDashboard:
    """Epsilon under RDP and PLD, without subsampling, and the RDP epsilon over training steps.

    Bounded and fast at every slider position (q 1e-4..1, sigma 0.5..5, steps 1..50,000, delta
    1e-10..1e-3: a few to a few tens of ms, none of the minutes a PLD at a fixed fine grid takes
    when epsilon is in the thousands):

    * RDP: dp-accounting's per-step RDP of the subsampled Gaussian, evaluated vectorised over its
      default orders (equal to ``RdpAccountant``'s; tested), converted as dp-accounting's
      ``compute_epsilon`` does, for all ``num_points`` step counts at once. Equal to
      :func:`poisson_gaussian_epsilon` (``"rdp"``) and :func:`rdp_epsilon_curve`.
    * PLD at q < 1: dp-accounting's connect-the-dots PLD (pessimistic: an upper bound) composed with
      its FFT, on a 1e-3 grid (finer for narrow losses) when epsilon >= 1, else on the finest grid
      the budget allows (at least 1e-5); either coarsened only as far as needed to keep at most
      50,000 points per step and in the composed distribution (epsilons in the hundreds and more). The composed
      PLD is cached per (q, sigma, steps, grid), so a delta move usually reuses it.
    * PLD at q = 1: no subsampling, so the composition is one Gaussian mechanism with
      mu = sqrt(steps) / sigma and epsilon is exact (Balle & Wang 2018's formula, solved by brentq).
    * An RDP epsilon of 0 certifies epsilon 0 (delta already covers the mechanism): the PLD is then
      not built and its epsilon is 0.

    Introduced in ``03-gaussian-accounting.ipynb``.
    """
    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = _noise_multiplier(noise_multiplier)
    k = _steps("steps", steps)
    d = v.probability("delta", delta)
    m = v.count("num_points", num_points, minimum=2, maximum=10_000)
    grid = np.unique(np.round(np.geomspace(1, k, m)).astype(np.int64))
    curve = _rdp_epsilons(q, sigma, grid, d)
    eps_rdp = float(curve[-1])
    return AccountantDashboard(
        sampling_probability=q, noise_multiplier=sigma, steps=k, delta=d,
        epsilon_rdp=eps_rdp,
        epsilon_pld=0.0 if eps_rdp == 0.0 else _dashboard_pld_epsilon(q, sigma, k, d, eps_rdp),
        epsilon_no_sampling=float(_rdp_epsilons(1.0, sigma, [k], d)[0]),
        curve_steps=grid, curve_rdp=curve,
    )
