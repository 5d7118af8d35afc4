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


def test_tuning_explorer_shows_the_grid_in_place_and_says_when_it_moves_a_value():
    from labkit.dp.tuning import load_tuning_grid, tuning_at, tuning_slice
    from labkit.dp.widgets import tuning_explorer

    grid = load_tuning_grid()
    view = tuning_explorer(target_epsilon=1.0, batch_size=256, l2_norm_clip=1.0, epochs=20, grid=grid)
    assert repr(view).startswith("Tuning explorer")
    assert set(view.controls) == {"epsilon", "batch_size", "l2_norm_clip", "epochs", "step_size", "train"}
    assert view.status.value == ""  # every argument was on the grid
    # the compute function returns the grid's values, and the readout prints them
    point, sl, live, _ = view.compute()
    assert point == tuning_at(grid, 1.0, 256, 1.0, 20)
    assert np.array_equal(sl.accuracy, tuning_slice(grid, 1.0, 1.0).accuracy, equal_nan=True)
    assert live == [] and f"{point.accuracy:.3f}" in view.readout.value
    assert f"{point.noise_multiplier:.3f}" in view.readout.value and f"{point.steps} steps" in view.readout.value
    # a move updates the same Image widget in place (no clear-and-append)
    image, before = view.image, view.image.value
    view.controls["batch_size"].value = 1024
    assert view.image is image and view.image.value != before
    assert view.point() == tuning_at(grid, 1.0, 1024, 1.0, 20)
    view.controls["step_size"].value = 0.25
    assert view.point() == tuning_at(grid, 1.0, 1024, 1.0, 20, 0.25) and "best mean" not in view.readout.value
    # values off the grid move to the nearest grid value, and the widget says so
    view.select(batch_size=300, epochs=10)
    assert view.controls["batch_size"].value == 256 and view.controls["epochs"].value == 10
    assert "batch_size = 300 is not in the grid" in view.status.value
    moved = tuning_explorer(target_epsilon=3.0, l2_norm_clip=0.3, grid=grid)
    assert moved.controls["epsilon"].value == 4.0 and moved.controls["l2_norm_clip"].value == 0.1
    assert "target_epsilon = 3 is not in the grid" in moved.status.value
    assert "l2_norm_clip = 0.3 is not in the grid" in moved.status.value
    with pytest.raises(TypeError, match="select"):
        view.select(learning_rate=1.0)


def test_tuning_explorer_trains_the_selected_point_live():
    from labkit.dp.widgets import tuning_explorer

    view = tuning_explorer(target_epsilon=4.0, batch_size=1024, l2_norm_clip=1.0, epochs=5, step_size=1.0)
    point, acc = view.train_point()
    assert (point.target_epsilon, point.batch_size, point.epochs, point.step_size) == (4.0, 1024, 5, 1.0)
    assert 0 <= acc <= 1 and "trained live" in view.status.value
    assert view.compute()[2] == [(1024, acc)]  # the star on this slice
    assert view.progress.value == view.progress.max == 5
    view.controls["epsilon"].value = 1.0
    assert view.compute()[2] == []  # live points belong to their epsilon's slice
