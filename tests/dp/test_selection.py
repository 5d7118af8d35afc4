"""labkit.dp.selection: the privacy cost of releasing the best of several DP runs.

Cross-checks: dp-accounting's RDP composition and its ``RepeatAndSelectDpEvent`` (an independent
implementation of Papernot and Steinke 2022, Theorems 2 and 6); the exact Renyi divergence and exact
(epsilon, delta) of best-of-K for a quantised Gaussian score, computed from the law of K, which the
bound must never undercut; the distribution of K against its own definition (pmf sums, means, the
generating function as a power series, Monte Carlo); the theorems' limits (Liu and Talwar's 3 eps, the
logarithmic 2 eps, one run when E[K] = 1).
"""

import math

import numpy as np
import pytest

from labkit.dp import selection as S

ORDERS = np.array([1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0])
CONVERSION_ORDERS = np.concatenate([np.arange(1.1, 11.0, 0.1), np.arange(11.0, 64.0), [128.0, 256.0]])
LAWS = [(None, 1.0), (None, 2.0), (None, 5.0), (None, 20.0), (0.0, 5.0), (1.0, 5.0), (1.0, 20.0),
        (2.0, 10.0), (-0.5, 3.0), (0.5, 1.5)]


def quantised_gaussian(centre, scale=1.0, m=12):
    j = np.arange(m)
    w = np.exp(-(j - centre) ** 2 / (2 * scale ** 2))
    return w / w.sum()


def randomized_response(epsilon, bit):
    p = math.exp(epsilon) / (1 + math.exp(epsilon))
    return np.array([1 - p, p]) if bit else np.array([p, 1 - p])


def _dpsgd_rdp(q=128 / 1347, sigma=3.164, steps=211):
    from labkit.dp.selection import _run_rdp

    return _run_rdp(q, sigma, steps)


# -- the distribution of K ----------------------------------------------------------------------


@pytest.mark.parametrize("eta,mean", [(0.0, 3.0), (1.0, 4.0), (2.5, 7.0), (-0.5, 3.0), (-0.7, 1.5), (0.3, 1.2)])
def test_truncated_negative_binomial_pmf_sums_to_one_and_has_the_mean(eta, mean):
    ks = np.arange(0, 20000)
    pmf = S.repetitions_pmf(ks, mean, eta)
    assert pmf[0] == 0.0
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (ks * pmf).sum() == pytest.approx(mean, rel=1e-7)
    g = S.truncated_negative_binomial_gamma(eta, mean)
    assert S.truncated_negative_binomial_mean(eta, g) == pytest.approx(mean, rel=1e-10)
    # the definition: P(K = k) proportional to (1 - gamma)^k prod_{l<k} (l + eta) / (l + 1)
    ratio = pmf[2:8] / pmf[1:7]
    k = np.arange(1, 7)
    np.testing.assert_allclose(ratio, (1 - g) * (k + eta) / (k + 1), rtol=1e-10)


def test_named_cases_geometric_logarithmic_poisson():
    # eta = 1: geometric, gamma = 1 / mean, P(K = k) = gamma (1 - gamma)^(k - 1)
    assert S.truncated_negative_binomial_gamma(1.0, 4.0) == 0.25
    np.testing.assert_allclose(S.repetitions_pmf([1, 2, 3], 4.0, 1.0), [0.25, 0.25 * 0.75, 0.25 * 0.75 ** 2])
    # eta = 0: logarithmic, P(K = k) = (1 - gamma)^k / (k log(1/gamma))
    g = S.truncated_negative_binomial_gamma(0.0, 3.0)
    np.testing.assert_allclose(S.repetitions_pmf([1, 2, 5], 3.0, 0.0),
                               [(1 - g) ** k / (k * math.log(1 / g)) for k in (1, 2, 5)], rtol=1e-12)
    # eta -> 0 is continuous
    assert S.truncated_negative_binomial_gamma(1e-7, 3.0) == pytest.approx(g, rel=1e-5)
    # Poisson
    from scipy.stats import poisson

    np.testing.assert_allclose(S.repetitions_pmf(np.arange(10), 2.5), poisson.pmf(np.arange(10), 2.5), rtol=1e-12)
    # large eta at a fixed mean tends to Poisson on {1, 2, ...} (Papernot and Steinke 2022, Section 2)
    assert S.truncated_negative_binomial_gamma(1e5, 5.0) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("eta,mean", [(None, 3.0), (0.0, 3.0), (1.0, 3.0), (2.0, 6.0), (-0.5, 2.0)])
def test_pgf_is_the_power_series_of_the_pmf(eta, mean):
    ks = np.arange(0, 4000)
    pmf = S.repetitions_pmf(ks, mean, eta)
    x = np.array([0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
    series = np.array([(pmf * xi ** ks).sum() for xi in x])
    np.testing.assert_allclose(S.repetitions_pgf(x, mean, eta), series, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(S.repetitions_pgf(x, 3, fixed=True), x ** 3)


def test_best_of_runs_distribution_matches_simulation():
    p = quantised_gaussian(5.0, 2.0)
    rng = np.random.default_rng(0)
    n = 200_000
    k = rng.geometric(1 / 3.0, size=n)  # eta = 1, mean 3
    runs = rng.choice(len(p), size=(n, k.max()), p=p)
    mask = np.arange(k.max())[None, :] < k[:, None]
    best = np.where(mask, runs, -1).max(axis=1)
    freq = np.bincount(best, minlength=len(p)) / n
    exact = S.best_of_runs_distribution(p, 3.0, 1.0)
    assert exact[0] == 0.0 and exact.sum() == pytest.approx(1.0)
    se = np.sqrt(exact[1:] * (1 - exact[1:]) / n)
    assert np.all(np.abs(freq - exact[1:]) <= 5 * se + 1e-12)


# -- (a) k runs composed: dp-accounting -------------------------------------------------------


def test_composition_equals_dp_accounting_self_composition():
    import dp_accounting
    from dp_accounting import rdp

    q, sigma, steps, delta = 128 / 1347, 3.164, 211, 1e-5
    cost = S.tuning_cost(q, sigma, steps, delta, expected_runs=(1, 3, 10))
    for k, eps in zip(cost.expected_runs, cost.composed):
        acc = rdp.RdpAccountant()
        event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
        acc.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.SelfComposedDpEvent(event, steps), int(k)))
        assert eps == pytest.approx(acc.get_epsilon(delta), rel=1e-9)
    from labkit.dp import poisson_gaussian_epsilon

    assert cost.single == pytest.approx(poisson_gaussian_epsilon(q, sigma, steps, delta), rel=1e-9)
    assert cost.composed[0] == pytest.approx(cost.single, rel=1e-12)
    assert np.all(np.diff(cost.composed) > 0)


# -- (b) random K: dp-accounting's RepeatAndSelectDpEvent ---------------------------------------


@pytest.mark.parametrize("shape", [0.0, 0.5, 1.0, 2.0, math.inf])
@pytest.mark.parametrize("mean", [1.0, 2.0, 10.0, 100.0])
def test_best_of_runs_rdp_matches_dp_accounting(shape, mean):
    import dp_accounting
    from dp_accounting import dp_event, rdp

    from labkit._compat import rdp_curve

    q, sigma, steps = 128 / 1347, 3.164, 211
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    acc = rdp.RdpAccountant()
    acc.compose(dp_event.RepeatAndSelectDpEvent(event, mean, shape))
    _, theirs = rdp_curve(acc)
    orders, one_run = _dpsgd_rdp(q, sigma, steps)
    ours = S.best_of_runs_rdp(orders, one_run, mean, None if shape == math.inf else shape)
    if shape == math.inf:
        # dp-accounting does not apply RDP's monotonicity in the order to the Poisson case; labkit
        # does, so it is never larger, and equal wherever dp-accounting's curve is already monotone.
        assert np.all(ours <= theirs * (1 + 1e-12))
        suffix_min = np.minimum.accumulate(theirs[::-1])[::-1]
        np.testing.assert_allclose(ours, suffix_min, rtol=1e-12)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-7)  # dp-accounting's gamma search: 1e-9 relative
    theirs_eps = acc.get_epsilon(1e-5)
    assert _eps(orders, ours) <= theirs_eps * (1 + 1e-9)
    assert _eps(orders, ours) == pytest.approx(theirs_eps, rel=1e-6)


def _eps(orders, rdp, delta=1e-5):
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    return compute_epsilon(orders, rdp, delta)[0]


def test_tuning_table_values_and_order():
    cost = S.tuning_cost(128 / 1347, 3.164, 211, 1e-5, expected_runs=(1, 5, 10, 100))
    rows = cost.rows()
    assert [r["runs"] for r in rows] == [1, 5, 10, 100]
    # random K pays a constant factor plus log E[K]; composition pays k
    for r in rows[1:]:
        assert r["single"] < r["eta=0"] < r["eta=1"] < r["composed"]
    assert rows[-1]["eta=1"] < rows[-1]["composed"] / 5 and rows[-1]["poisson"] < rows[-1]["composed"]
    # Poisson's mu * delta_hat term grows with the mean: past a few runs the truncated negative binomial wins
    assert rows[-1]["eta=1"] < rows[-1]["poisson"]
    # the winner's single-run epsilon undercuts every valid accounting once there is more than one run
    assert all(r[key] > r["single"] for r in rows[1:] for key in ("composed", "poisson", "eta=0", "eta=1"))


# -- the bound is a bound: exact best-of-K ------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("eta,mean", LAWS)
def test_bound_is_above_the_exact_renyi_divergence(scale, eta, mean):
    p, pp = quantised_gaussian(5.0, scale), quantised_gaussian(6.0, scale)
    one_run = S.discrete_rdp(p, pp, ORDERS)
    exact = S.discrete_rdp(S.best_of_runs_distribution(p, mean, eta), S.best_of_runs_distribution(pp, mean, eta),
                           ORDERS)
    bound = S.best_of_runs_rdp(ORDERS, one_run, mean, eta)
    assert np.all(bound >= exact * (1 - 1e-9))
    # reasonably tight at high orders (the log E[K] / (lambda - 1) term dominates at low orders)
    assert np.all(bound[ORDERS >= 12] <= 4.0 * exact[ORDERS >= 12])


@pytest.mark.parametrize("eta,mean", LAWS)
def test_bound_is_above_exact_for_randomized_response(eta, mean):
    p, pp = randomized_response(1.0, 0), randomized_response(1.0, 1)
    exact = S.discrete_rdp(S.best_of_runs_distribution(p, mean, eta), S.best_of_runs_distribution(pp, mean, eta),
                           ORDERS)
    bound = S.best_of_runs_rdp(ORDERS, S.discrete_rdp(p, pp, ORDERS), mean, eta)
    assert np.all(bound >= exact * (1 - 1e-9))


@pytest.mark.parametrize("eta", [None, 0.0, 1.0])
@pytest.mark.parametrize("mean", [2, 5, 10])
def test_epsilon_delta_bound_is_above_the_exact_epsilon(eta, mean):
    p, pp = quantised_gaussian(5.0, 2.0), quantised_gaussian(6.0, 2.0)
    one_run = S.discrete_rdp(p, pp, CONVERSION_ORDERS)
    a, b = S.best_of_runs_distribution(p, mean, eta), S.best_of_runs_distribution(pp, mean, eta)
    exact = S.discrete_epsilon(a, b, 1e-5)
    bound = _eps(CONVERSION_ORDERS, S.best_of_runs_rdp(CONVERSION_ORDERS, one_run, mean, eta))
    assert exact <= bound <= 3.0 * exact
    assert S.discrete_delta(a, b, bound) <= 1e-5


def test_fixed_best_of_k_is_not_dp_at_the_single_run_epsilon():
    """The common mistake: report one run's epsilon for the best of k fixed runs."""
    p, pp = quantised_gaussian(5.0, 2.0), quantised_gaussian(6.0, 2.0)
    single = S.discrete_epsilon(p, pp, 1e-5)
    one_run = S.discrete_rdp(p, pp, CONVERSION_ORDERS)
    for k in (2, 5, 10):
        a, b = S.best_of_runs_distribution(p, k, fixed=True), S.best_of_runs_distribution(pp, k, fixed=True)
        exact = S.discrete_epsilon(a, b, 1e-5)
        assert exact > 1.5 * single
        assert S.discrete_delta(a, b, single) > 100 * 1e-5  # far from (single, 1e-5)-DP
        assert exact <= _eps(CONVERSION_ORDERS, k * one_run)  # composition is a valid bound


def test_poisson_formula_fails_below_mean_one_so_it_is_rejected():
    p, pp = quantised_gaussian(5.0, 1.0), quantised_gaussian(6.0, 1.0)
    one_run = S.discrete_rdp(p, pp, ORDERS)
    exact = S.discrete_rdp(S.best_of_runs_distribution(p, 0.1), S.best_of_runs_distribution(pp, 0.1), ORDERS)
    i = list(ORDERS).index(2.0)
    mu = 0.1
    from dp_accounting.rdp.rdp_privacy_accountant import compute_delta

    d_hat = compute_delta(ORDERS[1:], one_run[1:], math.log1p(1.0))[0]
    formula = one_run[i] + mu * d_hat + math.log(mu)
    assert formula < exact[i]  # the counterexample
    with pytest.raises(ValueError, match="mean"):
        S.best_of_runs_rdp(ORDERS, one_run, 0.1)


# -- the theorems' limits -----------------------------------------------------------------------


def test_one_run_when_the_mean_is_one():
    p, pp = quantised_gaussian(5.0, 1.0), quantised_gaussian(6.0, 1.0)
    one_run = S.discrete_rdp(p, pp, ORDERS)
    for eta in (0.0, 1.0, 3.0):  # gamma = 1: K = 1 surely; lambda_hat = 1 makes the extra terms vanish
        np.testing.assert_allclose(S.best_of_runs_rdp(ORDERS, one_run, 1.0, eta)[1:], one_run[1:], rtol=1e-12)
        np.testing.assert_allclose(S.best_of_runs_distribution(p, 1.0, eta)[1:], p, atol=1e-15)


@pytest.mark.parametrize("eta,factor", [(1.0, 3.0), (0.0, 2.0), (2.0, 4.0)])
def test_pure_dp_limit_is_liu_talwar(eta, factor):
    """A pure eps-DP run is (lambda, eps)-RDP at every order; as lambda, lambda_hat -> inf, Theorem 2
    gives (2 + eta) eps: 3 eps for the geometric (Liu and Talwar 2019), 2 eps for the logarithmic."""
    eps = 0.5
    orders = np.array([1e5, 1e6])
    bound = S.best_of_runs_rdp(orders, np.full(2, eps), 10.0, eta)
    assert bound[-1] == pytest.approx(factor * eps, rel=1e-3)


def test_monotone_in_mean_and_in_eta():
    orders, one_run = _dpsgd_rdp()
    means = [1.5, 3.0, 10.0, 100.0]
    for eta in (None, 0.0, 1.0):
        curves = [S.best_of_runs_rdp(orders, one_run, m, eta) for m in means]
        assert all(np.all(a <= b + 1e-12) for a, b in zip(curves, curves[1:]))
    at = [_eps(orders, S.best_of_runs_rdp(orders, one_run, 10.0, e)) for e in (0.0, 0.5, 1.0, 2.0)]
    assert at == sorted(at)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("call,name", [
    (lambda: S.best_of_runs_rdp([2.0], [1.0], 0.5, 1.0), "mean"),
    (lambda: S.best_of_runs_rdp([2.0], [1.0], 5.0, -1.0), "eta"),
    (lambda: S.best_of_runs_rdp([0.5], [1.0], 5.0), "orders"),
    (lambda: S.best_of_runs_rdp([2.0, 3.0], [1.0], 5.0), "orders and rdp"),
    (lambda: S.best_of_runs_rdp([2.0], [-1.0], 5.0), "rdp"),
    (lambda: S.repetitions_pmf([1.5], 3.0), "counts"),
    (lambda: S.repetitions_pgf([1.5], 3.0), "x"),
    (lambda: S.repetitions_pgf([0.5], 2.5, fixed=True), "mean"),
    (lambda: S.best_of_runs_distribution([0.5, 0.6], 2.0), "pmf"),
    (lambda: S.truncated_negative_binomial_gamma(1.0, 0.5), "mean"),
    (lambda: S.truncated_negative_binomial_mean(1.0, 1.0), "gamma"),
    (lambda: S.tuning_cost(0.1, 1.0, 100, 1e-5, expected_runs=(0,)), "expected_runs"),
    (lambda: S.tuning_cost(0.1, 1.0, 100, 2.0), "delta"),
    (lambda: S.tuning_cost(0.1, 1.0, 100, 1e-5, etas=(-2.0,)), "eta"),
    (lambda: S.discrete_epsilon([1.0, 0.0], [0.5, 0.5], 0.0), "delta"),
    (lambda: S.renyi_divergence([1.0], [0.5, 0.5], 2.0), "p and q"),
    (lambda: S.plot_tuning_cost(None, {"a": 1}), "cost"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_plot_tuning_cost_draws_every_curve():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cost = S.tuning_cost(128 / 1347, 3.164, 211, 1e-5, expected_runs=(1, 2, 5))
    fig, ax = plt.subplots()
    assert S.plot_tuning_cost(ax, cost) is ax
    assert len(ax.lines) == 5  # composed, Poisson, two etas, one run
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cost.composed)
    plt.close(fig)


def test_exact_delta_and_epsilon_take_the_worse_direction():
    p, q = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    w = math.exp(0.5)
    by_hand = max(max(0.0, 0.9 - w * 0.5) + max(0.0, 0.1 - w * 0.5), max(0.0, 0.5 - w * 0.9) + max(0.0, 0.5 - w * 0.1))
    assert by_hand == pytest.approx(0.5 - w * 0.1)  # the q-over-p direction is the worse one here
    assert S.discrete_delta(p, q, 0.5) == pytest.approx(by_hand, rel=1e-12)
    assert S.discrete_delta(q, p, 0.5) == pytest.approx(by_hand, rel=1e-12)
    # randomized response with epsilon 1 is (1, 0)-DP and no better
    a, b = randomized_response(1.0, 0), randomized_response(1.0, 1)
    assert S.discrete_epsilon(a, b, 1e-9) == pytest.approx(1.0, abs=1e-6)
    assert S.discrete_rdp(p, q, [2.0])[0] == pytest.approx(
        max(math.log(0.9 ** 2 / 0.5 + 0.1 ** 2 / 0.5), math.log(0.5 ** 2 / 0.9 + 0.5 ** 2 / 0.1)), rel=1e-12)


# -- the notebook builds the same law (append to tests/dp/test_selection.py once cells_04.json is inserted) --


def test_notebook_best_of_k_law_equals_labkit():
    from notebook_source import notebook_function

    build = notebook_function("04", "best_of_k_law", {"np": np})
    rng = np.random.default_rng(0)
    for _ in range(25):
        pmf = rng.dirichlet(np.ones(int(rng.integers(2, 15))))
        mean = float(rng.uniform(1.0, 20.0))
        for eta in (None, 0.0, 1.0, 2.5):
            ours = build(pmf, lambda x: S.repetitions_pgf(x, mean, eta))
            np.testing.assert_allclose(ours, S.best_of_runs_distribution(pmf, mean, eta), atol=1e-12)
        k = int(rng.integers(1, 12))
        np.testing.assert_allclose(build(pmf, lambda x: x ** k), S.best_of_runs_distribution(pmf, k, fixed=True),
                                   atol=1e-12)
