"""Compute functions behind the DP widgets (no browser), and the views' construction."""

from __future__ import annotations

import math

import ipywidgets  # noqa: F401  pinned: a broken install must fail here, not skip
import numpy as np
import pytest

from labkit import dp


def test_noise_calibration_numbers():
    c = dp.noise_calibration(0.5, 2.0, true_count=100)
    assert c.scale == 4.0 and c.mean_abs_error == 4.0
    assert c.error_95 == pytest.approx(4.0 * math.log(20))
    # densities integrate to about 1 and their ratio never exceeds e^epsilon
    dx = c.x[1] - c.x[0]
    assert np.sum(c.density) * dx == pytest.approx(1.0, abs=0.01)
    assert np.max(np.abs(np.log(c.density / c.neighbour_density))) <= 0.5 + 1e-9
    assert "95% of releases within" in c.describe()
    with pytest.raises(ValueError, match="epsilon"):
        dp.noise_calibration(0.0, 1.0)
    with pytest.raises(ValueError, match="true_count"):
        dp.noise_calibration(1.0, 1.0, true_count=0)


def test_accountant_dashboard_agrees_with_the_accountants():
    q, sigma, steps, delta = 0.01, 1.0, 2000, 1e-5
    board = dp.accountant_dashboard(q, sigma, steps, delta)
    assert board.curve_steps[-1] == steps and board.curve_steps[0] == 1
    assert board.epsilon_rdp == pytest.approx(dp.poisson_gaussian_epsilon(q, sigma, steps, delta), rel=1e-9)
    assert board.epsilon_pld == pytest.approx(dp.poisson_gaussian_epsilon(q, sigma, steps, delta, "pld"), rel=0.015)
    assert board.epsilon_pld < board.epsilon_rdp < board.epsilon_no_sampling
    assert np.all(np.diff(board.curve_rdp) >= 0)
    assert "RDP" in board.describe()
    with pytest.raises(ValueError, match="steps"):
        dp.accountant_dashboard(q, sigma, 0, delta)


def test_views_build_with_a_stable_repr_and_react_to_sliders():
    from labkit.dp.widgets import accountant_widget, noise_calibration_widget

    view = noise_calibration_widget()
    assert repr(view).startswith("Noise-calibration widget")
    assert set(view.controls) == {"epsilon", "sensitivity"}
    slider, text = view.controls["epsilon"], view.status
    before = text.value
    slider.value = 2.0
    assert text.value != before and "epsilon = 2" in text.value
    assert len(view.output.outputs) == 1

    board = accountant_widget()
    assert repr(board).startswith("Accountant dashboard")
    assert set(board.controls) == {"sampling_probability", "noise_multiplier", "steps", "delta"}
    assert "2.6 (RDP)" in board.status.value
    assert "2.39 (PLD)" in board.status.value  # PLD at discretisation 1e-3 (the report's 1e-4 gives 2.38)
    board.controls["steps"].value = 1000
    assert "1,000 steps" in board.status.value and len(board.output.outputs) == 1
