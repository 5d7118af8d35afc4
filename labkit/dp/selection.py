"""The privacy cost of hyperparameter tuning: releasing the best of several DP training runs.

Training k configurations with DP and releasing the best one is not free. Three accountings:

* **k runs composed**: fixed k runs, everything released, RDP composition (``k * rdp``). Releasing
  only the best of a fixed k runs is post-processing of that, so this bound holds for it too.
* **Random number of runs, Poisson** (Papernot and Steinke 2022, Theorem 6; theorem numbers as in
  arXiv:2110.03620v2, which dp-accounting cites):
  draw K ~ Poisson(mu), run K independent trainings with configurations drawn at random, release
  only the best (nothing if K = 0). If one run is (lambda, eps)-RDP and (eps_hat, delta_hat)-DP with
  ``exp(eps_hat) <= 1 + 1 / (lambda - 1)``, the release is (lambda, eps')-RDP with
  ``eps' = eps + mu * delta_hat + log(mu) / (lambda - 1)``.
* **Random number of runs, truncated negative binomial** (Theorem 2): K ~ D(eta, gamma) on
  {1, 2, ...} with ``P(K = k) = (1 - gamma)^k / (gamma^-eta - 1) * prod_{l<k} (l + eta) / (l + 1)``
  (eta > -1, gamma in (0, 1)). If one run is (lambda, eps)-RDP and (lambda_hat, eps_hat)-RDP, the
  release is (lambda, eps')-RDP with ``eps' = eps + (1 + eta) (1 - 1/lambda_hat) eps_hat
  + (1 + eta) log(1/gamma) / lambda_hat + log(E[K]) / (lambda - 1)``. eta = 1 is the geometric
  distribution of Liu and Talwar (2019) (gamma = 1 / E[K]); eta = 0 is the logarithmic
  distribution; as eta -> infinity at a fixed mean it approaches a Poisson law conditioned on K >= 1
  (dp-accounting calls shape = infinity "Poisson" and uses Theorem 6 for it).

The formulas are implemented here from the paper and cross-checked in ``tests/dp/test_selection.py``
against dp-accounting's ``RepeatAndSelectDpEvent`` (which cites the same two theorems), and against the
exact Renyi divergence of best-of-K for a base mechanism with a few outputs, whose output law has a
closed form through the probability generating function of K: ``P(best <= y) = G_K(F(y))``.

Introduced in ``04-dp-sgd.ipynb`` ("The privacy cost of tuning"). Importing this module loads NumPy
only; dp-accounting and SciPy are imported by the functions that need them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import N_, tr

__all__ = [
    "truncated_negative_binomial_mean", "truncated_negative_binomial_gamma", "repetitions_pmf",
    "repetitions_pgf", "best_of_runs_rdp", "best_of_runs_distribution", "renyi_divergence",
    "discrete_rdp", "discrete_delta", "discrete_epsilon", "TuningCost", "tuning_cost", "plot_tuning_cost",
]

# Orders used by the DP-SGD accounting: dp-accounting's default RDP orders (1.1 to 1024).
_MAX_MEAN = 1e6


# --------------------------------------------------------------------------------------------
# The distribution of the number of runs
# --------------------------------------------------------------------------------------------


def _eta(eta) -> float | None:
    if eta is None:
        return None
    return v.real("eta", eta, low=-1.0, low_open=True, high=1e6)


def _log_inv_gamma_mean(eta: float, log_inv_gamma: float) -> float:
    """E[K] of the truncated negative binomial as a function of t = log(1/gamma) > 0."""
    gamma = math.exp(-log_inv_gamma)
    if eta == 0.0:
        return (1.0 - gamma) / (gamma * log_inv_gamma)
    # eta (1 - gamma) / (gamma (1 - gamma^eta)) = eta (1 - gamma) / (gamma * -expm1(-eta t))
    return eta * (1.0 - gamma) / (gamma * -math.expm1(-eta * log_inv_gamma))


def truncated_negative_binomial_mean(eta: float, gamma: float) -> float:
    """E[K] for K ~ D(eta, gamma), the truncated negative binomial of Papernot and Steinke (2022).

    ``eta * (1 - gamma) / (gamma * (1 - gamma^eta))``, and ``(1/gamma - 1) / log(1/gamma)`` at eta = 0
    (the logarithmic distribution); ``1 / gamma`` at eta = 1 (geometric).

    Args:
        eta: the shape, > -1.
        gamma: in (0, 1).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    e = _eta(eta)
    if e is None:
        raise TypeError("eta must be a real number > -1; got None")
    g = v.probability("gamma", gamma)
    return _log_inv_gamma_mean(e, -math.log(g))


def truncated_negative_binomial_gamma(eta: float, mean: float) -> float:
    """The gamma in (0, 1] for which D(eta, gamma) has expectation ``mean`` (1 when ``mean`` is 1).

    The mean falls as gamma rises, so a root search on log(1/gamma) finds it (to 1e-13 relative).

    Args:
        eta: the shape, > -1.
        mean: the expected number of runs, from 1 to 1e6.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    e = _eta(eta)
    if e is None:
        raise TypeError("eta must be a real number > -1; got None")
    m = v.real("mean", mean, low=1.0, high=_MAX_MEAN)
    if m == 1.0:
        return 1.0
    if e == 1.0:
        return 1.0 / m
    from scipy.optimize import brentq

    lo, hi = 1e-12, 1.0
    while _log_inv_gamma_mean(e, hi) < m:
        hi *= 2.0
    while _log_inv_gamma_mean(e, lo) > m:  # mean -> 1 as t -> 0
        lo /= 2.0
    t = brentq(lambda t: _log_inv_gamma_mean(e, t) - m, lo, hi, xtol=1e-300, rtol=1e-13, maxiter=500)
    return math.exp(-t)


def _poisson_mean(mean) -> float:
    return v.real("mean", mean, low=0.0, low_open=True, high=_MAX_MEAN)


def repetitions_pmf(counts, mean: float, eta: float | None = None) -> np.ndarray:
    """P(K = k) for each k in ``counts``: K ~ Poisson(mean) (eta None) or truncated negative binomial.

    Args:
        counts: integers >= 0 (a scalar or a 1-D sequence).
        mean: E[K]: > 0 for Poisson, >= 1 for the truncated negative binomial.
        eta: None for Poisson, else the shape eta > -1 (1 = geometric, 0 = logarithmic).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from scipy.special import gammaln

    e = _eta(eta)
    ks = v.finite_array("counts", counts, dtype=np.float64)
    if ks.ndim > 1 or np.any(ks < 0) or np.any(ks != np.round(ks)) or np.any(ks > 1e9):
        raise ValueError(f"counts must be integers from 0 to 1e9 (a scalar or 1-D); got {v._got(counts)}")
    if e is None:
        mu = _poisson_mean(mean)
        return np.exp(ks * math.log(mu) - mu - gammaln(ks + 1))
    m = v.real("mean", mean, low=1.0, high=_MAX_MEAN)
    g = truncated_negative_binomial_gamma(e, m)
    out = np.zeros_like(ks)
    if g == 1.0:
        return (ks == 1).astype(float)
    pos = ks >= 1
    k = ks[pos]
    log1mg = math.log1p(-g)
    if e == 0.0:
        logp = k * log1mg - np.log(k) - math.log(-math.log(g))
    else:
        # prod_{l<k} (l + eta) / (l + 1) = Gamma(k + eta) / (Gamma(eta) Gamma(k + 1)), sign-aware for eta < 0
        norm = math.expm1(-e * math.log(g))  # gamma^-eta - 1, same sign as eta
        if e > 0:
            logp = k * log1mg + gammaln(k + e) - gammaln(e) - gammaln(k + 1) - math.log(norm)
        else:
            # eta in (-1, 0): the first factor eta < 0 and norm < 0; the rest are positive
            logp = (k * log1mg + math.log(-e) + gammaln(k + e) - gammaln(1 + e) - gammaln(k + 1)
                    - math.log(-norm))
    out[pos] = np.exp(logp)
    return out


def repetitions_pgf(x, mean: float, eta: float | None = None, *, fixed: bool = False) -> np.ndarray:
    """The probability generating function E[x^K] of the number of runs, at each x in [0, 1].

    Poisson: ``exp(mean (x - 1))``; truncated negative binomial: ``((1 - (1 - gamma) x)^-eta - 1) /
    (gamma^-eta - 1)`` (``log(1 - (1 - gamma) x) / log(gamma)`` at eta = 0); ``fixed=True``: K = mean
    exactly (an integer), ``x^mean``.

    Args:
        x: values in [0, 1].
        mean: E[K] (see :func:`repetitions_pmf`); an integer >= 1 when ``fixed``.
        eta: None for Poisson, else the shape eta > -1. Ignored when ``fixed``.
        fixed: K is not random: exactly ``mean`` runs.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    xs = v.finite_array("x", x, dtype=np.float64, allow_empty=False)
    if xs.ndim > 1 or np.any(xs < 0) or np.any(xs > 1):
        raise ValueError(f"x must be a scalar or 1-D array of values in [0, 1]; got {v._got(x)}")
    if v.flag("fixed", fixed):
        k = v.integer("mean", mean, minimum=1, maximum=int(_MAX_MEAN))
        return xs ** k
    e = _eta(eta)
    if e is None:
        return np.exp(_poisson_mean(mean) * (xs - 1.0))
    m = v.real("mean", mean, low=1.0, high=_MAX_MEAN)
    g = truncated_negative_binomial_gamma(e, m)
    if g == 1.0:
        return xs.copy()
    inner = np.log1p(-(1.0 - g) * xs)  # log(1 - (1 - gamma) x) <= 0
    if e == 0.0:
        return inner / math.log(g)
    return np.expm1(-e * inner) / math.expm1(-e * math.log(g))


# --------------------------------------------------------------------------------------------
# RDP of releasing the best run (Papernot and Steinke 2022, Theorems 2 and 6)
# --------------------------------------------------------------------------------------------


def _orders_rdp(orders, rdp) -> tuple[np.ndarray, np.ndarray]:
    o = v.finite_array("orders", orders, ndim=1)
    r = v.finite_array("rdp", rdp, ndim=1)
    if len(o) != len(r):
        raise ValueError(f"orders and rdp must have the same length; got {len(o)} and {len(r)}")
    if np.any(o < 1):
        raise ValueError(f"orders must hold Renyi orders >= 1; got {v._got(orders)}")
    if np.any(r < 0):
        raise ValueError(f"rdp must hold Renyi divergences >= 0; got {v._got(rdp)}")
    return o, r


def best_of_runs_rdp(orders, rdp, mean: float, eta: float | None = None) -> np.ndarray:
    """RDP of running a DP algorithm a random number of times and releasing only the best run.

    Papernot and Steinke (2022), arXiv:2110.03620v2. ``eta=None``: K ~ Poisson(mean), Theorem 6,
    with ``eps_hat = log(1 + 1/(lambda - 1))`` and ``delta_hat`` from the per-run RDP curve by
    dp-accounting's ``compute_delta``. Otherwise K ~ D(eta, gamma), Theorem 2, minimised over
    ``lambda_hat`` in ``orders``. Then, as dp-accounting does, RDP's monotonicity in the order is
    used (eps'(lambda) <= eps'(lambda') for lambda <= lambda'), and the bound is floored at 0.

    Args:
        orders: Renyi orders >= 1 (1 is the KL divergence; it can serve as lambda_hat only).
        rdp: the RDP of ONE run at each order (for DP-SGD: steps times the per-step RDP).
        mean: E[K], from 1 to 1e6 (for Poisson too: below 1 the formula is not a bound).
        eta: None for Poisson, else the shape eta > -1 (1 = geometric, Liu and Talwar's case).

    Returns:
        The bound at each order. At order 1 (the theorems need lambda > 1) it is the smallest bound
        at a larger order, by monotonicity; inf when no order is larger than 1.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    o, r = _orders_rdp(orders, rdp)
    e = _eta(eta)
    out = np.full_like(o, np.inf)
    gt1 = o > 1
    if e is None:
        from dp_accounting.rdp.rdp_privacy_accountant import compute_delta

        # mean >= 1, as dp-accounting requires: below 1 the formula's log(mu) / (lambda - 1) goes
        # negative, and the exact check in tests/dp/test_selection.py finds it below the true
        # divergence (mu = 0.1, lambda = 2).
        mu = v.real("mean", mean, low=1.0, high=_MAX_MEAN)
        for i in np.flatnonzero(gt1):
            eps_hat = math.log1p(1.0 / (o[i] - 1.0))
            delta_hat, _ = compute_delta(o[gt1], r[gt1], eps_hat)
            out[i] = r[i] + mu * delta_hat + math.log(mu) / (o[i] - 1.0)
    else:
        m = v.real("mean", mean, low=1.0, high=_MAX_MEAN)
        g = truncated_negative_binomial_gamma(e, m)
        # (1 + eta) * min over lambda_hat of [(1 - 1/lambda_hat) eps_hat + log(1/gamma) / lambda_hat]
        c = (1.0 + e) * float(np.min((1.0 - 1.0 / o) * r - math.log(g) / o))
        out[gt1] = r[gt1] + c + math.log(m) / (o[gt1] - 1.0)
    # Monotonicity: the bound at lambda also holds at every smaller order.
    by_order = np.argsort(o, kind="stable")
    out[by_order] = np.minimum.accumulate(out[by_order][::-1])[::-1]
    return np.maximum(out, 0.0)


# --------------------------------------------------------------------------------------------
# Exact best-of-K for a base mechanism with a few outputs (the check that the bound is a bound)
# --------------------------------------------------------------------------------------------


def _pmf(name: str, value) -> np.ndarray:
    p = v.finite_array(name, value, ndim=1)
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must hold probabilities >= 0 that sum to 1; got sum {p.sum():.6g}")
    return p


def best_of_runs_distribution(pmf, mean: float, eta: float | None = None, *, fixed: bool = False) -> np.ndarray:
    """The exact law of the released output when the best of K runs of a discrete mechanism is released.

    One run outputs y in {0, ..., m-1} with probabilities ``pmf``, and its score is y (a higher index
    is better). The best of K independent runs satisfies ``P(best <= y) = E[F(y)^K] = G_K(F(y))``
    with F the CDF of one run and G_K the generating function of K (:func:`repetitions_pgf`).

    Args:
        pmf: the law of one run's output, ordered by score (last = best), summing to 1.
        mean, eta, fixed: the law of K, as in :func:`repetitions_pgf`.

    Returns:
        m + 1 probabilities: index 0 is "nothing released" (K = 0, possible for Poisson only),
        index j + 1 is P(best = j).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    p = _pmf("pmf", pmf)
    cdf = np.concatenate([[0.0], np.minimum(np.cumsum(p), 1.0)])
    cdf[-1] = 1.0
    at = repetitions_pgf(cdf, mean, eta, fixed=fixed)
    return np.concatenate([[at[0]], np.maximum(np.diff(at), 0.0)])


def renyi_divergence(p, q, order: float) -> float:
    """D_order(p || q) of two discrete laws on the same outputs (order 1 = KL divergence).

    ``log(sum p^a q^(1 - a)) / (a - 1)``; inf when p puts mass where q has none.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    p, q = _pmf("p", p), _pmf("q", q)
    if len(p) != len(q):
        raise ValueError(f"p and q must have the same length; got {len(p)} and {len(q)}")
    a = v.real("order", order, low=1.0, high=1e6)
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    ps, qs = p[support], q[support]
    if a == 1.0:
        return float(np.sum(ps * (np.log(ps) - np.log(qs))))
    logs = a * np.log(ps) + (1.0 - a) * np.log(qs)
    top = logs.max()
    return max(0.0, float((top + math.log(np.sum(np.exp(logs - top)))) / (a - 1.0)))


def discrete_rdp(p, q, orders) -> np.ndarray:
    """The exact RDP curve of a mechanism with laws p and q on two neighbouring datasets.

    ``max(D_a(p || q), D_a(q || p))`` at each order a (RDP bounds both directions).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    o = v.finite_array("orders", orders, ndim=1)
    if np.any(o < 1) or np.any(o > 1e6):
        raise ValueError(f"orders must hold Renyi orders from 1 to 1e6; got {v._got(orders)}")
    return np.array([max(renyi_divergence(p, q, a), renyi_divergence(q, p, a)) for a in o])


def discrete_delta(p, q, epsilon: float) -> float:
    """The exact delta at ``epsilon`` of a mechanism with laws p and q on neighbouring datasets.

    The hockey-stick divergence ``sum max(0, p - e^eps q)``, the larger of the two directions.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    p, q = _pmf("p", p), _pmf("q", q)
    if len(p) != len(q):
        raise ValueError(f"p and q must have the same length; got {len(p)} and {len(q)}")
    eps = v.nonnegative("epsilon", epsilon)
    w = math.exp(min(eps, 700.0))  # e^700 ~ 1e304: beyond it only outputs the other law cannot produce count
    return float(max(np.maximum(p - w * q, 0).sum(), np.maximum(q - w * p, 0).sum()))


def discrete_epsilon(p, q, delta: float) -> float:
    """The exact smallest epsilon at which the mechanism with laws p and q is (epsilon, delta)-DP.

    The delta of :func:`discrete_delta` is continuous and non-increasing in epsilon; a root search
    finds where it meets ``delta`` (0 when it is already below; inf when it never is).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    p, q = _pmf("p", p), _pmf("q", q)
    d = v.probability("delta", delta)
    if len(p) != len(q):
        raise ValueError(f"p and q must have the same length; got {len(p)} and {len(q)}")
    if discrete_delta(p, q, 0.0) <= d:
        return 0.0
    ratios = np.concatenate([np.log(p[(p > 0) & (q > 0)] / q[(p > 0) & (q > 0)]),
                             np.log(q[(p > 0) & (q > 0)] / p[(p > 0) & (q > 0)])])
    hi = float(ratios.max()) if ratios.size else 0.0
    if discrete_delta(p, q, hi) > d:  # mass where the other law has none
        return math.inf
    from scipy.optimize import brentq

    return float(brentq(lambda e: discrete_delta(p, q, e) - d, 0.0, hi, xtol=1e-12))


# --------------------------------------------------------------------------------------------
# The tuning table for DP-SGD runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningCost:
    """Epsilon at ``delta`` of releasing tuned DP-SGD runs, one entry per expected number of runs.

    Attributes:
        expected_runs: the numbers of runs k (fixed) or E[K] (random).
        single: epsilon of one run (the number that is wrong to report for the winner).
        composed: k runs composed (RDP), fixed k, every run released (or only the best).
        poisson: best of K ~ Poisson(k) released (Theorem 6).
        negative_binomial: eta -> best of K ~ D(eta, gamma) with E[K] = k released (Theorem 2).
        delta, sampling_probability, noise_multiplier, steps: the setting.
    """

    expected_runs: np.ndarray
    single: float
    composed: np.ndarray
    poisson: np.ndarray
    negative_binomial: dict
    delta: float
    sampling_probability: float
    noise_multiplier: float
    steps: int

    def rows(self) -> list[dict]:
        """One dict per expected number of runs (for a table)."""
        out = []
        for i, k in enumerate(self.expected_runs):
            row = {"runs": int(k), "single": self.single, "composed": float(self.composed[i]),
                   "poisson": float(self.poisson[i])}
            row.update({f"eta={e:g}": float(eps[i]) for e, eps in self.negative_binomial.items()})
            out.append(row)
        return out


def _run_rdp(q: float, sigma: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """dp-accounting's RDP of one DP-SGD run (Poisson-subsampled Gaussian) at its default orders."""
    import dp_accounting
    from dp_accounting import rdp

    from labkit._compat import rdp_curve

    event = dp_accounting.GaussianDpEvent(sigma)
    if q < 1:
        event = dp_accounting.PoissonSampledDpEvent(q, event)
    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.SelfComposedDpEvent(event, steps))
    return rdp_curve(acc)


def tuning_cost(sampling_probability: float, noise_multiplier: float, steps: int, delta: float,
                expected_runs: Sequence[int] = (1, 2, 5, 10, 20, 50, 100),
                etas: Sequence[float] = (0.0, 1.0)) -> TuningCost:
    """Epsilon of releasing the best of several DP-SGD runs under each accounting.

    Every run has the same privacy parameters (sampling probability, noise multiplier, steps): the
    hyperparameters that vary (learning rate, clipping norm at a fixed noise multiplier...) do not
    change one run's RDP curve. RDP is converted to (epsilon, delta) by dp-accounting's
    ``compute_epsilon``.

    Args:
        sampling_probability: q in (0, 1].
        noise_multiplier: sigma, from 0.001 to 1e4.
        steps: steps of one run, 1 to 10^7.
        delta: in (0, 1).
        expected_runs: integers from 1 to 10^5: k for composition, E[K] for the random counts.
        etas: the truncated-negative-binomial shapes to report (> -1; 0 logarithmic, 1 geometric).

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    q = v.probability("sampling_probability", sampling_probability, one=True)
    sigma = v.real("noise_multiplier", noise_multiplier, low=1e-3, high=1e4)  # as labkit.dp.accounting
    n = v.integer("steps", steps, minimum=1, maximum=10**7)
    d = v.probability("delta", delta)
    ks = v.finite_array("expected_runs", expected_runs, ndim=1)
    if np.any(ks != np.round(ks)) or np.any(ks < 1) or np.any(ks > 1e5):
        raise ValueError(f"expected_runs must hold integers from 1 to 100,000; got {v._got(expected_runs)}")
    eta_list = v.finite_array("etas", etas, ndim=1, allow_empty=True)
    for e in eta_list:
        _eta(float(e))
    orders, rdp = _run_rdp(q, sigma, n)
    single = float(compute_epsilon(orders, rdp, d)[0])
    composed = np.array([compute_epsilon(orders, k * rdp, d)[0] for k in ks])
    poisson = np.array([compute_epsilon(orders, best_of_runs_rdp(orders, rdp, k), d)[0] for k in ks])
    nb = {float(e): np.array([compute_epsilon(orders, best_of_runs_rdp(orders, rdp, k, float(e)), d)[0]
                              for k in ks]) for e in eta_list}
    return TuningCost(expected_runs=ks.astype(int), single=single, composed=composed, poisson=poisson,
                      negative_binomial=nb, delta=d, sampling_probability=q, noise_multiplier=sigma, steps=n)


_ETA_NAMES = {0.0: N_("logarithmic (eta = 0)"), 1.0: N_("geometric (eta = 1, Liu-Talwar)")}


def plot_tuning_cost(ax, cost: TuningCost):
    """Epsilon against the (expected) number of runs: k runs composed, best of random K, one run.

    Args:
        ax: a Matplotlib axes.
        cost: a :class:`TuningCost` from :func:`tuning_cost`.

    Returns:
        ``ax``.

    Introduced in ``04-dp-sgd.ipynb``.
    """
    from labkit.style import PALETTE

    if not isinstance(cost, TuningCost):
        raise TypeError(f"cost must be a TuningCost from tuning_cost(); got {v._got(cost)}")
    ks = cost.expected_runs
    ax.plot(ks, cost.composed, "-o", ms=3, lw=2, color=PALETTE[0], label=tr("k runs composed"))
    ax.plot(ks, cost.poisson, "-s", ms=3, lw=2, color=PALETTE[1], label=tr("best of K ~ Poisson"))
    for i, (e, eps) in enumerate(cost.negative_binomial.items()):
        law = tr(_ETA_NAMES[e]) if e in _ETA_NAMES else tr("neg. binomial (eta = {eta:g})").format(eta=e)
        ax.plot(ks, eps, "-^", ms=3, lw=2, color=PALETTE[(2 + i) % len(PALETTE)],
                label=tr("best of K ~ {law}").format(law=law))
    ax.axhline(cost.single, color="0.4", ls="--", lw=1.5, label=tr("one run (what is often reported)"))
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    values = np.concatenate([cost.composed, cost.poisson, [cost.single], *cost.negative_binomial.values()])
    lo, hi = float(values.min()), float(values.max())
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if lo / 1.2 <= t <= hi * 1.2]
    if len(ticks) >= 2:
        ax.set_yticks(ticks)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(tr("number of runs k (fixed) or E[K] (random)"))
    ax.set_ylabel(tr("epsilon at delta = {delta:g}").format(delta=cost.delta))
    ax.legend(fontsize=8)
    return ax
