"""Differential privacy (labkit.dp): vectorised mechanisms against a Python loop, the noise-multiplier
search against dp-accounting's generic calibration, accountant call times, and the update time of
the widgets' compute functions (median over slider positions never seen before: caches cleared)."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Comparison, Measurement, median_seconds, view_moves

N_VALUES = 100_000
MNIST = (60000, 256, 60, 1e-5)


def _clear_caches() -> None:
    from labkit.dp import accounting

    for fn in (accounting._calibrate, accounting._rdp_epsilon_and_order, accounting._epsilon_cached,
               accounting._rdp_vector_cached, accounting._fast_rdp_vector, accounting._privacy_loss,
               accounting._dashboard_pld, accounting._dashboard_pld_epsilon, accounting._gaussian_epsilon_exact):
        fn.cache_clear()


def _laplace_loop(values, rng):
    return [v + rng.laplace(0.0, 1.0) for v in values]


def _ours_noise_multiplier():
    from labkit import dp

    _clear_caches()
    return dp.dpsgd_noise_multiplier(2.0, *MNIST)


def _dp_accounting_noise_multiplier():
    import dp_accounting
    from dp_accounting import rdp

    n, b, epochs, delta = MNIST
    q, steps = b / n, -(-epochs * n // b)

    def event(sigma):
        return dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)

    return dp_accounting.calibrate_dp_mechanism(rdp.RdpAccountant, event, 2.0, delta,
                                                dp_accounting.ExplicitBracketInterval(0.3, 10.0), tol=1e-3)


def _median_ms(calls) -> float:
    """Median milliseconds of the calls, each with labkit's accountant caches cleared (a position never seen)."""
    return 1000 * median_seconds(calls, before=_clear_caches)


def _dashboard_moves() -> float:
    from labkit import dp

    sigmas = np.linspace(0.6, 3.0, 11)
    return _median_ms([lambda s=s: dp.accountant_dashboard(256 / 60000, float(s), 14063, 1e-5) for s in sigmas])


def _dashboard_corners() -> float:
    """Slowest of the slider's corners (q 1e-4..1, sigma 0.5..5, steps 1..50,000, delta 1e-10..1e-3), caches cleared."""
    import itertools
    import time

    from labkit import dp

    worst = 0.0
    for q, s, k, d in itertools.product([1e-4, 1e-2, 0.1, 0.5, 1.0], [0.5, 1.1, 5.0], [1, 100, 14063, 50000],
                                        [1e-10, 1e-5, 1e-3]):
        _clear_caches()
        start = time.perf_counter()
        dp.accountant_dashboard(q, s, k, d)
        worst = max(worst, time.perf_counter() - start)
    return 1000 * worst


def _calibration_moves() -> float:
    from labkit import dp

    return _median_ms([lambda e=e: dp.noise_calibration(float(e), 1.0) for e in np.geomspace(0.05, 10, 11)])


def _noise_multiplier_moves() -> float:
    from labkit import dp

    targets = np.linspace(0.5, 8.0, 11)
    return _median_ms([lambda t=t: dp.dpsgd_noise_multiplier(float(t), 1347, 64, 10, 1e-5) for t in targets])




def _calibration_view(part: int) -> float:
    from labkit.dp.widgets import noise_calibration_widget

    return view_moves(noise_calibration_widget, "epsilon", [round(float(e), 2) for e in np.geomspace(0.06, 9, 11)])[part]


def _dashboard_view(part: int) -> float:
    from labkit.dp.widgets import accountant_widget

    return view_moves(accountant_widget, "noise_multiplier", [round(float(s), 2) for s in np.linspace(0.6, 3.0, 11)],
                       before=_clear_caches)[part]


def _one_call(accountant: str) -> float:
    from labkit import dp

    return _median_ms([lambda: dp.dpsgd_epsilon(60000, 256, 1.1, 60, 1e-5, accountant=accountant)] * 3)


def rows():
    from labkit import dp

    values = np.zeros(N_VALUES)
    return [
        Comparison(f"Laplace mechanism, {N_VALUES:,} values", lambda: dp.laplace_mechanism(values, 1.0, 1.0, 0),
                   lambda: _laplace_loop(values, np.random.default_rng(0)), "Python loop over rng.laplace",
                   repeats=5),
        Comparison("noise multiplier for epsilon 2 (MNIST config, RDP, caches cleared)", _ours_noise_multiplier,
                   _dp_accounting_noise_multiplier, "dp_accounting.calibrate_dp_mechanism, tol 1e-3", repeats=3,
                   note="same answer within 0.1%"),
        Measurement("dpsgd_epsilon, RDP, MNIST config (one accountant call)", lambda: _one_call("rdp"), "ms"),
        Measurement("dpsgd_epsilon, PLD, MNIST config (one accountant call)", lambda: _one_call("pld"), "ms"),
        Measurement("widget 02: noise_calibration per slider move (median)", _calibration_moves, "ms",
                    "<= 100 ms, goal 50 ms"),
        Measurement("widget 03: accountant_dashboard per slider move (median)", _dashboard_moves, "ms",
                    "<= 100 ms, goal 50 ms"),
        Measurement("widget 03: accountant_dashboard, slowest of the 180 slider corners (caches cleared)",
                    _dashboard_corners, "ms", "bounded (was minutes: q = 1, sigma 0.5, 14,063 steps)",
                    note="PLD on a point-budgeted grid; exact Gaussian epsilon at q = 1"),
        Measurement("widget 04: dpsgd_noise_multiplier per slider move (median, RDP)", _noise_multiplier_moves, "ms",
                    "<= 100 ms, goal 50 ms"),
        Measurement("widget 02: noise-calibration view, epsilon move (compute + draw + PNG, median, new positions)",
                    lambda: _calibration_view(0), "ms", "<= 40 ms (Python side of 100 ms in the page)",
                    note="one figure kept, a full draw per new setting (the axes move), PNG swapped into one Image"),
        Measurement("widget 02: noise-calibration view, PNG per frame (median)", lambda: _calibration_view(1), "kB"),
        Measurement("widget 03: accountant view, sigma move (compute + draw + PNG, median, caches cleared)",
                    lambda: _dashboard_view(0), "ms", "<= 40 ms (Python side of 100 ms in the page)",
                    note="the accountant dominates; one figure kept, a full draw per new setting"),
        Measurement("widget 03: accountant view, PNG per frame (median)", lambda: _dashboard_view(1), "kB"),
    ]
