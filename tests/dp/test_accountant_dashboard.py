"""The accountant dashboard of notebook 03 (``labkit.dp.accounting.accountant_dashboard``): bounded at every
slider position and still what dp-accounting's accountants say (issue 20, item 1).

Its three shortcuts are each checked against dp-accounting, and each check is shown to fail when the
shortcut is broken:

* the per-step RDP of the subsampled Gaussian, evaluated vectorised, against ``RdpAccountant``;
* the PLD at q < 1, built vectorised on a budgeted grid, against ``PLDAccountant`` at its default 1e-4
  grid (within 1%) and, where epsilon is in the hundreds and that accountant would take minutes,
  against dp-accounting's optimistic PLD (a lower bound on the true epsilon);
* the exact Gaussian epsilon at q = 1 (no PLD is built), against dp-accounting's exact Gaussian privacy
  profile and ``PLDAccountant``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from labkit import dp
from labkit._compat import rdp_curve
from labkit.dp import accounting as acc

# The slider's range (03's accountant_widget): q log 1e-4..1, sigma 0.5..5, steps 1..50,000, delta 1e-10..1e-3.
CORNERS = list(itertools.product([1e-4, 1e-2, 0.1, 0.5, 1.0], [0.5, 1.1, 5.0], [1, 100, 14063, 50000],
                                 [1e-10, 1e-5, 1e-3]))
MNIST_Q = 256 / 60000


@pytest.fixture(autouse=True)
def _fresh_caches():
    for fn in (acc._fast_rdp_vector, acc._dashboard_pld, acc._dashboard_pld_epsilon, acc._gaussian_epsilon_exact,
               acc._privacy_loss):
        fn.cache_clear()
    yield


# ------------------------------------------------------------------------------------------
# RDP: the vectorised per-step RDP is dp-accounting's
# ------------------------------------------------------------------------------------------

def _dp_accounting_rdp(q: float, sigma: float) -> np.ndarray:
    from dp_accounting import rdp

    accountant = rdp.RdpAccountant()
    accountant.compose(acc._event(q, sigma, 1))
    return rdp_curve(accountant)[1]


def _assert_rdp_matches(q: float, sigma: float) -> None:
    orders, ours = acc._fast_rdp_vector(q, sigma)
    theirs = _dp_accounting_rdp(q, sigma)
    assert np.array_equal(orders, np.array(acc._default_rdp_orders()))
    # At q = 1e-4 the series sum to A = 1 + ~1e-8: both carry float noise of a few tens of ulps of 1, up to
    # 7e-14 in RDP (times 50,000 steps, 4e-9 in epsilon); the epsilon checks below are tighter.
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("q", [1e-4, MNIST_Q, 0.01, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("sigma", [0.5, 1.1, 5.0])
def test_vectorised_rdp_is_dp_accountings(q, sigma):
    _assert_rdp_matches(q, sigma)


def test_a_broken_rdp_series_fails_the_rdp_check(monkeypatch):
    real = acc._log_a_frac
    monkeypatch.setattr(acc, "_log_a_frac", lambda q, s, a: real(q, s, a) * (1 + 1e-6))
    with pytest.raises(AssertionError):
        _assert_rdp_matches(0.01, 1.1)
    monkeypatch.setattr(acc, "_log_a_frac", real)
    real_int = acc._log_a_int
    monkeypatch.setattr(acc, "_log_a_int", lambda q, s, a: real_int(q, s, a - 1))  # the sum stops one term early
    acc._fast_rdp_vector.cache_clear()
    with pytest.raises(AssertionError):
        _assert_rdp_matches(0.01, 1.1)


@pytest.mark.parametrize("position", [(MNIST_Q, 1.1, 14063, 1e-5), (1e-4, 0.5, 1, 1e-10), (0.5, 5.0, 50000, 1e-3),
                                      (0.1, 0.5, 100, 1e-5), (1.0, 1.1, 14063, 1e-10), (0.01, 1.0, 2000, 1e-5)])
def test_rdp_epsilons_are_the_rdp_accountants(position):
    q, sigma, steps, delta = position
    board = dp.accountant_dashboard(q, sigma, steps, delta, num_points=5)
    assert board.epsilon_rdp == pytest.approx(dp.poisson_gaussian_epsilon(q, sigma, steps, delta, "rdp"), rel=1e-9)
    assert board.epsilon_no_sampling == pytest.approx(dp.poisson_gaussian_epsilon(1.0, sigma, steps, delta, "rdp"),
                                                      rel=1e-12)
    assert np.allclose(board.curve_rdp, dp.rdp_epsilon_curve(q, sigma, board.curve_steps, delta), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------
# PLD at q < 1
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("position", [(MNIST_Q, 1.1, 14063, 1e-5, 1e-3), (0.01, 0.5, 100, 1e-10, 1e-3),
                                      (0.5, 5.0, 100, 1e-3, 1e-3), (1e-4, 5.0, 14063, 1e-3, 1e-4),
                                      (0.3, 0.7, 10, 1e-5, 3e-3)])
def test_vectorised_pld_is_dp_accountings_on_the_same_grid(position):
    from dp_accounting.pld import privacy_loss_distribution as pldm

    q, sigma, steps, delta, interval = position
    theirs = pldm.from_gaussian_mechanism(sigma, value_discretization_interval=interval, sampling_prob=q)
    assert acc._dashboard_pld(q, sigma, steps, interval).get_epsilon_for_delta(delta) == \
        theirs.self_compose(steps).get_epsilon_for_delta(delta)


def test_the_mnist_dashboard_keeps_its_1e3_grid():
    """Notebook 03 prints 2.39 for the dashboard's PLD and explains it as the 1e-3 grid."""
    board = dp.accountant_dashboard(MNIST_Q, 1.1, 14063, 1e-5)
    assert board.epsilon_pld == dp.poisson_gaussian_epsilon(MNIST_Q, 1.1, 14063, 1e-5, "pld", pld_discretization=1e-3)


# dp-accounting's PLDAccountant at its default 1e-4 grid, where it answers in about a second.
REFERENCE_POSITIONS = [(MNIST_Q, 1.1, 14063, 1e-5), (0.01, 1.1, 100, 1e-5), (0.01, 1.1, 14063, 1e-10),
                       (0.1, 1.1, 1, 1e-5), (0.5, 5.0, 100, 1e-10), (0.01, 5.0, 14063, 1e-5),
                       (1e-4, 0.5, 1, 1e-10), (0.1, 5.0, 14063, 1e-3), (0.0398, 2.35, 3000, 1e-7),
                       (1e-4, 1.1, 14063, 1e-5)]


def _check_pld(position, reference) -> None:
    """The dashboard's PLD epsilon is within 1% of ``reference`` (or 0.002 when epsilon < 0.2)."""
    eps = dp.accountant_dashboard(*position, num_points=2).epsilon_pld
    assert eps == pytest.approx(reference, rel=0.01, abs=0.002 if reference < 0.2 else 0.0), (position, eps, reference)


@pytest.mark.parametrize("position", REFERENCE_POSITIONS)
def test_pld_is_within_one_percent_of_the_pld_accountant(position):
    _check_pld(position, dp.poisson_gaussian_epsilon(*position, "pld"))


@pytest.mark.parametrize("position", [(1e-4, 5.0, 50000, 1e-5), (1e-4, 5.0, 14063, 1e-10), (1e-4, 5.0, 14063, 1e-5)])
def test_small_epsilons_are_no_looser_than_the_pld_accountant(position):
    """Epsilon ~ 0.01-0.08 over thousands of steps: dp-accounting's 1e-4 grid is itself loose here (its
    answer can exceed RDP's); the dashboard's finer grid gives an upper bound at most as large."""
    ours = dp.accountant_dashboard(*position, num_points=2).epsilon_pld
    reference = dp.poisson_gaussian_epsilon(*position, "pld")
    assert 0 < ours <= reference * (1 + 1e-9)


# Epsilon in the hundreds to tens of thousands: PLDAccountant at 1e-4 would take minutes. dp-accounting's own
# PLD (from_gaussian_mechanism + self_compose) on the finest grid that answers in about a second is the
# reference; halving that grid moves these epsilons by under 0.01% (measured: 0.1, 0.5, 50,000 steps gives
# 3345.34 at 2e-3 and 3345.43 at 5e-3).
LARGE_POSITIONS = [((0.1, 0.5, 14063, 1e-5), 1e-3), ((0.5, 5.0, 14063, 1e-5), 1e-3), ((0.1, 1.1, 50000, 1e-3), 1e-3),
                   ((0.5, 1.1, 50000, 1e-5), 5e-3), ((0.5, 0.5, 50000, 1e-10), 1e-2)]


def _fine_pld_epsilon(q, sigma, steps, delta, interval):
    from dp_accounting.pld import privacy_loss_distribution as pldm

    pld = pldm.from_gaussian_mechanism(sigma, value_discretization_interval=interval, sampling_prob=q)
    return pld.self_compose(steps).get_epsilon_for_delta(delta)


@pytest.mark.parametrize("position,interval", LARGE_POSITIONS)
def test_large_epsilons_are_within_one_percent_of_dp_accountings_pld(position, interval):
    _check_pld(position, _fine_pld_epsilon(*position, interval))


def test_a_coarse_grid_fails_the_pld_checks(monkeypatch):
    """The checks above see a grid 30x coarser than the dashboard's."""
    real = acc._dashboard_grids
    monkeypatch.setattr(acc, "_dashboard_grids", lambda *a: tuple(30 * h for h in real(*a)))
    with pytest.raises(AssertionError):
        _check_pld((0.01, 5.0, 14063, 1e-5), dp.poisson_gaussian_epsilon(0.01, 5.0, 14063, 1e-5, "pld"))
    acc._dashboard_pld.cache_clear()
    acc._dashboard_pld_epsilon.cache_clear()
    with pytest.raises(AssertionError):
        _check_pld((0.1, 0.5, 14063, 1e-5), 1055.381)  # dp-accounting's PLD at 1e-3


def test_every_slider_corner_answers_and_pld_is_the_tighter_accountant():
    """The 180 corners of the slider grid, including those that took minutes (q = 1 with sigma 0.5 and
    14,063 steps; q = 0.5 with 50,000 steps): each answers, finitely, with PLD <= RDP <= no sampling."""
    for q, sigma, steps, delta in CORNERS:
        board = dp.accountant_dashboard(q, sigma, steps, delta)
        assert math.isfinite(board.epsilon_pld) and board.epsilon_pld >= 0, (q, sigma, steps, delta)
        assert board.epsilon_pld <= board.epsilon_rdp * (1 + 1e-9) + 1e-12, (q, sigma, steps, delta, board)
        assert board.epsilon_rdp <= board.epsilon_no_sampling * (1 + 1e-12), (q, sigma, steps, delta)


def test_rdp_zero_means_pld_zero_without_building_it(monkeypatch):
    monkeypatch.setattr(acc, "_dashboard_pld", _refuse)
    board = dp.accountant_dashboard(1e-4, 0.5, 1, 1e-3)
    assert board.epsilon_rdp == 0.0 and board.epsilon_pld == 0.0
    assert dp.poisson_gaussian_epsilon(1e-4, 0.5, 1, 1e-3, "pld") == 0.0  # the accountant agrees


# ------------------------------------------------------------------------------------------
# q = 1: one Gaussian mechanism, exact
# ------------------------------------------------------------------------------------------

def _refuse(*args, **kwargs):
    raise AssertionError("a PLD was built")


def _check_exact(sigma: float, steps: int, delta: float) -> float:
    """Epsilon is the smallest with delta(epsilon) <= delta under dp-accounting's exact Gaussian profile."""
    from dp_accounting.pld.privacy_loss_mechanism import GaussianPrivacyLoss

    eps = dp.accountant_dashboard(1.0, sigma, steps, delta, num_points=2).epsilon_pld
    profile = GaussianPrivacyLoss(sigma / math.sqrt(steps))  # k Gaussians composed = one with sigma / sqrt(k)
    assert profile.get_delta_for_epsilon(eps) == pytest.approx(delta, rel=1e-6)
    assert profile.get_delta_for_epsilon(eps * (1 - 1e-5)) > delta * (1 + 1e-7)
    return eps


@pytest.mark.parametrize("sigma", [0.5, 1.1, 5.0])
@pytest.mark.parametrize("steps", [1, 100, 14063, 50000])
@pytest.mark.parametrize("delta", [1e-10, 1e-5, 1e-3])
def test_q1_epsilon_is_the_exact_gaussian_one(sigma, steps, delta):
    _check_exact(sigma, steps, delta)


@pytest.mark.parametrize("position", [(0.5, 1, 1e-10), (1.1, 1, 1e-5), (5.0, 100, 1e-3), (1.1, 100, 1e-5),
                                      (5.0, 14063, 1e-5)])
def test_q1_epsilon_matches_the_pld_accountant(position):
    """dp-accounting's PLDAccountant on a GaussianDpEvent composed k times, default 1e-4 grid: within 1%
    (it is an upper bound, so it is the larger)."""
    sigma, steps, delta = position
    ours = dp.accountant_dashboard(1.0, sigma, steps, delta, num_points=2).epsilon_pld
    theirs = dp.poisson_gaussian_epsilon(1.0, sigma, steps, delta, "pld")
    assert ours == pytest.approx(theirs, rel=0.01) and ours <= theirs * (1 + 1e-9)


def test_q1_takes_the_analytic_path(monkeypatch):
    from dp_accounting.pld import privacy_loss_distribution as pldm

    monkeypatch.setattr(acc, "_dashboard_pld", _refuse)
    monkeypatch.setattr(pldm, "from_gaussian_mechanism", _refuse)
    monkeypatch.setattr(pldm.PrivacyLossDistribution, "self_compose", _refuse)
    board = dp.accountant_dashboard(1.0, 0.5, 14063, 1e-5)  # the position that took minutes
    assert board.epsilon_pld == pytest.approx(29136.53, rel=1e-6)
    with pytest.raises(AssertionError, match="a PLD was built"):  # the patch is live: q < 1 builds one
        dp.accountant_dashboard(0.5, 0.5, 100, 1e-5)


def test_a_broken_gaussian_formula_fails_the_exact_check(monkeypatch):
    from scipy import special

    def without_the_exp_factor(epsilon, mu):  # drops e^eps from the second term
        return math.log(special.ndtr(-epsilon / mu + mu / 2) - special.ndtr(-epsilon / mu - mu / 2))

    monkeypatch.setattr(acc, "_gaussian_log_delta", without_the_exp_factor)
    with pytest.raises(AssertionError):
        _check_exact(1.1, 100, 1e-5)
